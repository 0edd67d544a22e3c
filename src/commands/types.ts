/** Where a command writes, and the directory relative paths are read from. */
export interface Io {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly cwd: string;
}

/** A `--flag` a command accepts. */
export interface FlagSpec {
  /** Long name without the dashes. */
  readonly name: string;
  /** Name of the value for flags that take one, e.g. "S" for `--status S`. */
  readonly value?: string;
  readonly description: string;
}

/** A positional argument a command accepts. */
export interface PositionalSpec {
  readonly name: string;
  readonly optional: boolean;
}

/** The command line after parsing, as seen by a command. */
export interface CommandArgs {
  /** Positionals in order; optional ones that were not given are absent. */
  readonly positionals: readonly string[];
  /** Flags that were given: `true` for switches, the value for flags taking one. */
  readonly flags: ReadonlyMap<string, string | true>;
}

export interface Command {
  readonly name: string;
  readonly summary: string;
  /** Longer description shown by `taskmd COMMAND --help`. */
  readonly description: string;
  readonly positionals: readonly PositionalSpec[];
  readonly flags: readonly FlagSpec[];
  /** Runs the command and returns its exit code; throws CliError for failures. */
  readonly run: (args: CommandArgs, io: Io) => number;
}

/** The value of a flag that takes one, if given. */
export function flagValue(args: CommandArgs, name: string): string | undefined {
  const value = args.flags.get(name);
  return typeof value === "string" ? value : undefined;
}
