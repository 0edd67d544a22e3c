import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";

import { main } from "../src/cli.ts";

/** The project root: tests run the CLI from here so that paths in its output stay relative. */
export const ROOT = resolve(import.meta.dir, "..");

export const FIXTURES = "test/fixtures";
export const TASKS = "test/fixtures/tasks";
export const BROKEN = "test/fixtures/broken";

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI in-process and captures what it writes. */
export function run(argv: readonly string[], cwd: string = ROOT): RunResult {
  let stdout = "";
  let stderr = "";
  const code = main(argv, {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    cwd,
  });
  return { code, stdout, stderr };
}

/** Reads a fixture file relative to test/fixtures. */
export function fixture(name: string): string {
  return readFileSync(join(ROOT, FIXTURES, name), "utf8");
}
