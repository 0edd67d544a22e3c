/** The semgrep rules kept in this repository match their `ruleid:` cases and only those. */
import { expect, test } from "bun:test";
import { join } from "node:path";

import { pins, ROOT } from "./helpers.ts";

test("semgrep --test security/semgrep", async () => {
  const version = /semgrep=(\S+)/.exec(pins())?.[1] ?? "";
  const semgrep = join(ROOT, ".tools", "security", `semgrep-${version}`, "bin", "semgrep");
  const child = Bun.spawn([semgrep, "--test", "--metrics=off", "--disable-version-check", "security/semgrep"], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, exitCode] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  expect(`${stdout}${stderr}`).toContain("All tests passed");
  expect(exitCode).toBe(0);
}, 120_000);
