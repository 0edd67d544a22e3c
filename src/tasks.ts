import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

import { CliError } from "./errors.ts";
import { parseTask, type ParsedTask } from "./parse.ts";

/** A parsed task file of a directory. */
export interface TaskFile {
  /** File name inside the directory. */
  readonly name: string;
  /** Path to show to the user: the directory as given joined with the name. */
  readonly path: string;
  readonly task: ParsedTask;
}

/** A parsed task file that defines a task id. */
export type IdentifiedTask = TaskFile & { readonly task: ParsedTask & { readonly id: number } };

/** Compares strings by UTF-16 code units: the same order on every platform and locale. */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

const ERROR_TEXT: Readonly<Record<string, string>> = {
  ENOENT: "no such file or directory",
  ENOTDIR: "not a directory",
  EACCES: "permission denied",
  EPERM: "permission denied",
  ELOOP: "too many levels of symbolic links",
};

/** A short, stable description of a file system error (no paths, no stack). */
export function describeError(error: unknown): string {
  const code = error instanceof Error && "code" in error ? String(error.code) : "";
  return ERROR_TEXT[code] ?? (code !== "" ? code : String(error));
}

/**
 * Reads and parses every `*.md` file directly inside `dir` (not recursive),
 * sorted by file name. `dir` is resolved against `cwd`; paths in the result
 * keep `dir` as the user wrote it, so no absolute path ends up in the output.
 */
export function loadTaskFiles(dir: string, cwd: string): TaskFile[] {
  const absolute = resolve(cwd, dir);
  let names: string[];
  try {
    if (!statSync(absolute).isDirectory()) {
      throw new CliError(`cannot read directory '${dir}': not a directory`);
    }
    names = readdirSync(absolute).filter((name) => name.endsWith(".md"));
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`cannot read directory '${dir}': ${describeError(error)}`);
  }
  names.sort(compareStrings);

  const files: TaskFile[] = [];
  for (const name of names) {
    const path = join(dir, name);
    let text: string;
    try {
      if (!statSync(join(absolute, name)).isFile()) continue;
      text = readFileSync(join(absolute, name), "utf8");
    } catch (error) {
      throw new CliError(`cannot read '${path}': ${describeError(error)}`);
    }
    files.push({ name, path, task: parseTask(text) });
  }
  return files;
}

function hasId(file: TaskFile): file is IdentifiedTask {
  return file.task.id !== null;
}

/** The files that define a task, sorted by id, then by file name. */
export function identifiedTasks(files: readonly TaskFile[]): IdentifiedTask[] {
  return files
    .filter(hasId)
    .sort((a, b) => a.task.id - b.task.id || compareStrings(a.name, b.name));
}
