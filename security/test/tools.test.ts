/** A scanner that is not installed is a clear error that says how to install it. */
import { describe, expect, test } from "bun:test";
import { dirname } from "node:path";

import { remove, scanner, temporaryDirectory } from "./helpers.ts";

const PINS = "osv-scanner=2.5.1 gitleaks=8.30.1 semgrep=1.185.0 zizmor=1.32.0 cyclonedx-npm=6.0.1";

describe("missing tools", () => {
  test("scan names every missing tool, `just security-tools` and the manual install, and writes nothing", async () => {
    const tools = temporaryDirectory("no-tools");
    const out = temporaryDirectory("out");
    try {
      // Only bun, git and the system directories: none of the scanners is on this PATH.
      const result = await scanner(["scan", "--pins", PINS, "--tools-dir", tools, "--out", `${out}/security`], {
        env: { PATH: [dirname(process.execPath), "/usr/bin", "/bin"].join(":") },
      });
      expect(result.exitCode).toBe(2);
      expect(result.stdout).toBe("");
      for (const line of [
        "osv-scanner 2.5.1 is not installed: run `just security-tools`",
        "`go install github.com/google/osv-scanner/v2/cmd/osv-scanner@v2.5.1`",
        "`go install github.com/zricethezav/gitleaks/v8@v8.30.1`",
        "`pip install semgrep==1.185.0`",
        "`pip install zizmor==1.32.0`",
        "`npm install --global @cyclonedx/cyclonedx-npm@6.0.1`",
      ]) {
        expect(result.stderr).toContain(line);
      }
      expect(await Bun.file(`${out}/security/summary.json`).exists()).toBe(false);
    } finally {
      remove(tools);
      remove(out);
    }
  });

  test("only the tools of the chosen checks are needed", async () => {
    const tools = temporaryDirectory("no-tools");
    try {
      const result = await scanner(["scan", "--pins", PINS, "--tools-dir", tools, "--checks", "code"], {
        env: { PATH: [dirname(process.execPath), "/usr/bin", "/bin"].join(":") },
      });
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toContain("semgrep 1.185.0 is not installed");
      expect(result.stderr).not.toContain("gitleaks");
    } finally {
      remove(tools);
    }
  });

  test("install says which program is missing to build a tool", async () => {
    const tools = temporaryDirectory("install");
    try {
      const result = await scanner(["install", "--pins", "gitleaks=8.30.1", "--tools-dir", tools], {
        env: { PATH: dirname(process.execPath) },
      });
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toContain("`go` is not on PATH; it is needed to build gitleaks from the Go module proxy");
      expect(result.stderr).toContain("go install github.com/zricethezav/gitleaks/v8@v8.30.1");
    } finally {
      remove(tools);
    }
  });

  test("bad arguments are usage errors", async () => {
    const failOn = await scanner(["scan", "--pins", PINS, "--fail-on", "severe"]);
    expect(failOn.exitCode).toBe(2);
    expect(failOn.stderr).toContain("--fail-on must be one of critical, high, medium, low, none, not `severe`");
    const check = await scanner(["scan", "--pins", PINS, "--checks", "lint"]);
    expect(check.stderr).toContain("unknown check `lint`");
    const pins = await scanner(["scan"]);
    expect(pins.stderr).toContain("--pins is required");
    const flag = await scanner(["scan", "--pins", PINS, "--bogus"]);
    expect(flag.exitCode).toBe(2);
  });
});
