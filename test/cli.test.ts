import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import pkg from "../package.json";
import { COMMANDS, commandHelp, main, mainHelp, VERSION } from "../src/cli.ts";
import { listCommand } from "../src/commands/list.ts";
import { describeError } from "../src/tasks.ts";
import { run, TASKS } from "./helpers.ts";

describe("--version and --help", () => {
  test("--version prints the version of package.json", () => {
    expect(VERSION).toBe(pkg.version);
    expect(run(["--version"])).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: "" });
    expect(run(["-V"]).stdout).toBe("0.1.0\n");
  });

  test("--help lists every command", () => {
    const result = run(["--help"]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    expect(result.stdout).toStartWith("taskmd 0.1.0: read, list and lint markdown task files\n");
    for (const command of COMMANDS) {
      expect(result.stdout).toContain(`  ${command.name}  ${command.summary}\n`);
    }
    expect(run(["-h"]).stdout).toBe(mainHelp());
    expect(run(["help"]).stdout).toBe(mainHelp());
  });

  test("COMMAND --help and help COMMAND print the command's help", () => {
    for (const command of COMMANDS) {
      const help = commandHelp(command);
      expect(help).toStartWith(`Usage: taskmd ${command.name}`);
      expect(run([command.name, "--help"])).toEqual({ code: 0, stdout: help, stderr: "" });
      expect(run(["help", command.name]).stdout).toBe(help);
    }
    expect(run(["list", TASKS, "-h", "--bogus"]).stdout).toBe(commandHelp(listCommand));
  });

  test("the list help shows its options and their values", () => {
    const help = run(["list", "--help"]).stdout;
    expect(help).toContain("Usage: taskmd list [DIR] [options]\n");
    expect(help).toContain("  --status S    only tasks with status S (BACKLOG, TODO, IN PROGRESS, BLOCKED, DONE)\n");
    expect(help).toContain("  --json        print a JSON array instead of a table\n");
    expect(run(["lint", "--help"]).stdout).toContain("Usage: taskmd lint [DIR]\n");
  });
});

describe("usage errors: one line on stderr, exit code 2", () => {
  test.each([
    [[], "taskmd: missing command (see 'taskmd --help')"],
    [["frobnicate"], "taskmd: unknown command 'frobnicate' (see 'taskmd --help')"],
    [["--frobnicate"], "taskmd: unknown option '--frobnicate' (see 'taskmd --help')"],
    [["help", "frobnicate"], "taskmd: unknown command 'frobnicate' (see 'taskmd --help')"],
    [["help", "list", "extra"], "taskmd: unexpected argument 'extra' for 'help' (see 'taskmd --help')"],
    [["list", "--frobnicate"], "taskmd: unknown option '--frobnicate' for 'list' (see 'taskmd list --help')"],
    [["list", "--frob=1"], "taskmd: unknown option '--frob' for 'list' (see 'taskmd list --help')"],
    [["list", "-x"], "taskmd: unknown option '-x' for 'list' (see 'taskmd list --help')"],
    [["list", "--json=yes"], "taskmd: option '--json' takes no value (see 'taskmd list --help')"],
    [["list", "--status"], "taskmd: option '--status' needs a value S (see 'taskmd list --help')"],
    [["list", "a", "b"], "taskmd: unexpected argument 'b' for 'list' (see 'taskmd list --help')"],
    [["lint", "--json"], "taskmd: unknown option '--json' for 'lint' (see 'taskmd lint --help')"],
    [["show", "1", "dir", "more"], "taskmd: unexpected argument 'more' for 'show' (see 'taskmd show --help')"],
  ])("%p", (argv, message) => {
    expect(run(argv)).toEqual({ code: 2, stdout: "", stderr: `${message}\n` });
  });

  test("'--' ends the options", () => {
    const result = run(["list", "--", "--json"]);
    expect(result).toEqual({
      code: 1,
      stdout: "",
      stderr: "taskmd: cannot read directory '--json': no such file or directory\n",
    });
  });
});

describe("directories", () => {
  let dir = "";

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "taskmd-test-"));
    mkdirSync(join(dir, "empty"));
    mkdirSync(join(dir, "one"));
    writeFileSync(join(dir, "one", "task.md"), "# Task #1: Only\n## Status\nTODO\n## Priority\nLOW\n");
    writeFileSync(join(dir, "one", "README"), "not markdown");
    writeFileSync(join(dir, "file.md"), "# Task #2: A file, not a directory\n");
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test("a missing directory fails with exit code 1", () => {
    expect(run(["list", "nowhere"], dir)).toEqual({
      code: 1,
      stdout: "",
      stderr: "taskmd: cannot read directory 'nowhere': no such file or directory\n",
    });
    expect(run(["lint", "nowhere"], dir).code).toBe(1);
    expect(run(["show", "1", "nowhere"], dir).code).toBe(1);
  });

  test("a file given as DIR fails with exit code 1", () => {
    expect(run(["list", "file.md"], dir)).toEqual({
      code: 1,
      stdout: "",
      stderr: "taskmd: cannot read directory 'file.md': not a directory\n",
    });
  });

  test("an empty directory lists nothing and lints clean", () => {
    expect(run(["list", "empty", "--json"], dir)).toEqual({ code: 0, stdout: "[]\n", stderr: "" });
    expect(run(["lint", "empty"], dir)).toEqual({ code: 0, stdout: "", stderr: "" });
  });

  test("a single finding is counted in the singular", () => {
    expect(run(["lint", "one"], dir)).toEqual({
      code: 1,
      stdout: `${join("one", "task.md")}:1: missing required section '## Description'\n`,
      stderr: "taskmd: 1 problem in 1 file\n",
    });
  });

  test.skipIf(process.platform === "win32")("an unreadable task file fails with exit code 1", () => {
    mkdirSync(join(dir, "links"));
    symlinkSync("missing-target.md", join(dir, "links", "dangling.md"));
    expect(run(["list", "links"], dir)).toEqual({
      code: 1,
      stdout: "",
      stderr: `taskmd: cannot read '${join("links", "dangling.md")}': no such file or directory\n`,
    });
    symlinkSync("loop.md", join(dir, "links", "loop.md"));
    rmSync(join(dir, "links", "dangling.md"));
    expect(run(["lint", "links"], dir).stderr).toBe(
      `taskmd: cannot read '${join("links", "loop.md")}': too many levels of symbolic links\n`,
    );
  });

  test("file system errors are described without paths", () => {
    const error = Object.assign(new Error("EACCES: permission denied, open '/x'"), { code: "EACCES" });
    expect(describeError(error)).toBe("permission denied");
    const other = Object.assign(new Error("EIO: i/o error"), { code: "EIO" });
    expect(describeError(other)).toBe("EIO");
    expect(describeError("plain")).toBe("plain");
  });

  test("an unexpected error is reported in one line, without a stack trace", () => {
    let stderr = "";
    const code = main(["list"], {
      stdout: () => {
        throw new Error("disk full");
      },
      stderr: (text) => {
        stderr += text;
      },
      cwd: join(dir, "one"),
    });
    expect(code).toBe(1);
    expect(stderr).toBe("taskmd: internal error: disk full\n");
  });
});
