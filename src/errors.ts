/** Exit codes of the taskmd CLI. */
export const EXIT_OK = 0;
/** Lint findings, unknown task id, unreadable directory. */
export const EXIT_FAILURE = 1;
/** Bad command line: unknown command or flag, missing or extra argument. */
export const EXIT_USAGE = 2;

/** An error reported as one line on stderr, without a stack trace. */
export class CliError extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode: number = EXIT_FAILURE) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}

/** A command-line mistake: exit code 2 and a hint to read the help. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT_USAGE);
    this.name = "UsageError";
  }
}
