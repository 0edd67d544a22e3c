import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { ROOT, TASKS } from "./helpers.ts";

/** Runs `bun src/cli.ts ARGS` from the project root, as a user would. */
function spawn(args: readonly string[]): { code: number; stdout: string; stderr: string } {
  const result = Bun.spawnSync([process.execPath, "src/cli.ts", ...args], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: "1" },
    stdout: "pipe",
    stderr: "pipe",
  });
  return {
    code: result.exitCode,
    stdout: result.stdout.toString(),
    stderr: result.stderr.toString(),
  };
}

describe("bun src/cli.ts as a subprocess", () => {
  test("list prints the expected table and exits 0", () => {
    const expected = readFileSync(join(ROOT, "test/fixtures/tasks.list.expected"), "utf8");
    expect(spawn(["list", TASKS])).toEqual({ code: 0, stdout: expected, stderr: "" });
  });

  test("--version prints the version", () => {
    expect(spawn(["--version"])).toEqual({ code: 0, stdout: "0.1.0\n", stderr: "" });
  });

  test("lint findings set exit code 1", () => {
    const result = spawn(["lint", "test/fixtures/broken"]);
    expect(result.code).toBe(1);
    expect(result.stdout.split("\n")).toHaveLength(11);
    expect(result.stderr).toBe("taskmd: 10 problems in 3 files\n");
  });

  test("a usage error prints one line, no stack trace, and exits 2", () => {
    expect(spawn(["list", "--bogus"])).toEqual({
      code: 2,
      stdout: "",
      stderr: "taskmd: unknown option '--bogus' for 'list' (see 'taskmd list --help')\n",
    });
  });
});
