#!/usr/bin/env bun
/**
 * taskmd: read, list and lint markdown task files.
 *
 * Entry point and argument parsing. `main` is exported so that tests can run
 * the CLI in-process with their own Io and read its exit code.
 */
// Named import: the bundler then embeds only the version string, not all of package.json,
// so a change to devDependencies or scripts does not change the compiled binaries.
import { version } from "../package.json";
import { lintCommand } from "./commands/lint.ts";
import { listCommand } from "./commands/list.ts";
import { showCommand } from "./commands/show.ts";
import type { Command, CommandArgs, Io } from "./commands/types.ts";
import { CliError, EXIT_FAILURE, EXIT_OK, UsageError } from "./errors.ts";

export type { Io } from "./commands/types.ts";

export const VERSION: string = version;

export const COMMANDS: readonly Command[] = [listCommand, showCommand, lintCommand];

function findCommand(name: string): Command | undefined {
  return COMMANDS.find((command) => command.name === name);
}

function usageLine(command: Command): string {
  const positionals = command.positionals.map(({ name, optional }) =>
    optional ? `[${name}]` : name,
  );
  const options = command.flags.length > 0 ? ["[options]"] : [];
  return ["taskmd", command.name, ...positionals, ...options].join(" ");
}

function optionLines(options: readonly (readonly [string, string])[]): string[] {
  const width = Math.max(...options.map(([name]) => name.length));
  return options.map(([name, description]) => `  ${name.padEnd(width)}  ${description}`);
}

/** The text of `taskmd --help`. */
export function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length));
  return [
    `taskmd ${VERSION}: read, list and lint markdown task files`,
    "",
    "Usage: taskmd COMMAND [ARGS] [options]",
    "",
    "Commands:",
    ...COMMANDS.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    `  ${"help".padEnd(width)}  show the help of a command`,
    "",
    "Options:",
    ...optionLines([
      ["-h, --help", "show this help (after a command: that command's help)"],
      ["-V, --version", "print the version"],
    ]),
    "",
    "DIR defaults to the current directory; every *.md file directly in it is read.",
    "A task file starts with '# Task #N: Title' followed by '## Status',",
    "'## Priority', '## Description' and any other '##' sections.",
    "",
    "Exit status: 0 success, 1 lint findings or a failed command, 2 bad usage.",
    "",
  ].join("\n");
}

/** The text of `taskmd COMMAND --help`. */
export function commandHelp(command: Command): string {
  const flags: [string, string][] = command.flags.map((flag) => [
    flag.value === undefined ? `--${flag.name}` : `--${flag.name} ${flag.value}`,
    flag.description,
  ]);
  flags.push(["-h, --help", "show this help"]);
  return [
    `Usage: ${usageLine(command)}`,
    "",
    command.description,
    "",
    "Options:",
    ...optionLines(flags),
    "",
  ].join("\n");
}

/** Parses the arguments after the command name against the command's spec. */
export function parseCommandArgs(command: Command, argv: readonly string[]): CommandArgs | "help" {
  const positionals: string[] = [];
  const flags = new Map<string, string | true>();
  let onlyPositionals = false;
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index] ?? "";
    if (onlyPositionals || arg === "-" || !arg.startsWith("-")) {
      positionals.push(arg);
      continue;
    }
    if (arg === "--") {
      onlyPositionals = true;
      continue;
    }
    if (arg === "-h" || arg === "--help") {
      return "help";
    }
    const equals = arg.indexOf("=");
    const name = arg.startsWith("--") ? arg.slice(2, equals === -1 ? undefined : equals) : "";
    const spec = command.flags.find((flag) => flag.name === name);
    if (spec === undefined) {
      const shown = equals === -1 ? arg : arg.slice(0, equals);
      throw new UsageError(`unknown option '${shown}' for '${command.name}'`);
    }
    if (spec.value === undefined) {
      if (equals !== -1) {
        throw new UsageError(`option '--${name}' takes no value`);
      }
      flags.set(name, true);
    } else if (equals !== -1) {
      flags.set(name, arg.slice(equals + 1));
    } else {
      const value = argv[index + 1];
      if (value === undefined) {
        throw new UsageError(`option '--${name}' needs a value ${spec.value}`);
      }
      flags.set(name, value);
      index++;
    }
  }

  const required = command.positionals.filter((positional) => !positional.optional);
  const missing = required[positionals.length];
  if (missing !== undefined) {
    throw new UsageError(`'${command.name}' needs an argument ${missing.name}`);
  }
  const extra = positionals[command.positionals.length];
  if (extra !== undefined) {
    throw new UsageError(`unexpected argument '${extra}' for '${command.name}'`);
  }
  return { positionals, flags };
}

/** Runs the CLI with `argv` (the arguments after the program name) and returns the exit code. */
export function main(argv: readonly string[], io: Io): number {
  let command: Command | undefined;
  try {
    const [first, ...rest] = argv;
    if (first === undefined) {
      throw new UsageError("missing command");
    }
    if (first === "-h" || first === "--help") {
      io.stdout(mainHelp());
      return EXIT_OK;
    }
    if (first === "-V" || first === "--version") {
      io.stdout(`${VERSION}\n`);
      return EXIT_OK;
    }
    if (first === "help") {
      const topic = rest[0];
      const helped = topic === undefined ? undefined : findCommand(topic);
      if (topic !== undefined && helped === undefined) {
        throw new UsageError(`unknown command '${topic}'`);
      }
      if (rest.length > 1) {
        throw new UsageError(`unexpected argument '${rest[1] ?? ""}' for 'help'`);
      }
      io.stdout(helped === undefined ? mainHelp() : commandHelp(helped));
      return EXIT_OK;
    }
    if (first.startsWith("-")) {
      throw new UsageError(`unknown option '${first}'`);
    }
    command = findCommand(first);
    if (command === undefined) {
      throw new UsageError(`unknown command '${first}'`);
    }
    const args = parseCommandArgs(command, rest);
    if (args === "help") {
      io.stdout(commandHelp(command));
      return EXIT_OK;
    }
    return command.run(args, io);
  } catch (error) {
    if (error instanceof UsageError) {
      const help = command === undefined ? "taskmd --help" : `taskmd ${command.name} --help`;
      io.stderr(`taskmd: ${error.message} (see '${help}')\n`);
      return error.exitCode;
    }
    if (error instanceof CliError) {
      io.stderr(`taskmd: ${error.message}\n`);
      return error.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    io.stderr(`taskmd: internal error: ${message}\n`);
    return EXIT_FAILURE;
  }
}

if (import.meta.main) {
  process.exitCode = main(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    cwd: process.cwd(),
  });
}
