/**
 * The real scanners on the vulnerable fixture project and on this repository. Needs the pinned
 * tools: run with `just security-test`.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import {
  advisoryDatabase,
  FAKE_ACCESS_KEY_ID,
  FAKE_SECRET_ACCESS_KEY,
  pins,
  remove,
  ROOT,
  scanner,
  temporaryDirectory,
  vulnerableProject,
} from "./helpers.ts";
import type { Completed } from "../lib/process.ts";

interface Summary {
  verdict: string;
  text: string;
  checks: { check: string; status: string; detail: string; counts: Record<string, number> | null; accepted: number }[];
  findings: {
    check: string;
    rule: { id: string };
    severity: string;
    location: { path: string; line: number; column?: number };
    key: string;
    message: string;
  }[];
  accepted: { finding: { rule: { id: string } }; reason: string }[];
  expired: { index: number }[];
}

interface Sarif {
  version: string;
  runs: {
    tool: { driver: { name: string; version: string } };
    automationDetails: { id: string };
    results: {
      ruleId: string;
      locations: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }[];
    }[];
  }[];
}

const TOOLS = join(ROOT, ".tools", "security");
// The fixture project has no node_modules to describe: the SBOM is tested on this repository.
const FIXTURE_CHECKS = "dependencies,secrets-tree,secrets-history,code,workflows,pinning";

let project: string;
let database: string;
let out: string;

beforeAll(() => {
  project = vulnerableProject();
  database = advisoryDatabase(["crates.io"]);
  out = temporaryDirectory("reports");
});

afterAll(() => {
  for (const dir of [project, database, out]) remove(dir);
});

async function scan(
  root: string,
  reports: string,
  extra: readonly string[] = [],
): Promise<{ run: Completed; summary: Summary; sarif: Sarif }> {
  const run = await scanner([
    "scan",
    "--pins",
    pins(),
    "--root",
    root,
    "--tools-dir",
    TOOLS,
    "--out",
    reports,
    "--advisory-db",
    database,
    ...extra,
  ]);
  if (run.exitCode === 2) throw new Error(`the scanner could not run:\n${run.stderr}`);
  const summary = JSON.parse(readFileSync(join(reports, "summary.json"), "utf8")) as Summary;
  const sarif = JSON.parse(readFileSync(join(reports, "security.sarif"), "utf8")) as Sarif;
  return { run, summary, sarif };
}

describe("the vulnerable fixture project", () => {
  let result: Awaited<ReturnType<typeof scan>>;

  beforeAll(async () => {
    result = await scan(project, join(out, "fixture"), ["--checks", FIXTURE_CHECKS]);
  }, 180_000);

  const at = (check: string, rule: string): string[] =>
    result.summary.findings
      .filter((f) => f.check === check && f.rule.id === rule)
      .map((f) => `${f.location.path}:${f.location.line}`);

  test("fails at the default threshold, every check ran and found something", () => {
    expect(result.run.exitCode).toBe(1);
    expect(result.summary.verdict).toBe("failed");
    expect(result.summary.checks.map((row) => [row.check, row.status])).toEqual([
      ["dependencies", "findings"],
      ["secrets-tree", "findings"],
      ["secrets-history", "findings"],
      ["code", "findings"],
      ["workflows", "findings"],
      ["pinning", "findings"],
    ]);
    expect(result.run.stdout).toMatch(/^verdict: FAILED: \d+ findings at or above high$/m);
  });

  test("the dependency matching the fixture advisory, on its lockfile line", () => {
    expect(at("dependencies", "TEST-FIXTURE-0001")).toEqual(["bun.lock:12"]);
    const [dependency] = result.summary.findings.filter((f) => f.check === "dependencies");
    expect(dependency?.severity).toBe("high");
    expect(dependency?.key).toBe("npm/left-pad@1.1.3");
    expect(dependency?.message).toContain("upgrade to 1.3.0");
  });

  test("the planted secret: in the tree, and in the history after its file was deleted", () => {
    expect(at("secrets-tree", "aws-access-token")).toEqual(["deploy/settings.ts:3"]);
    const history = result.summary.findings.filter((f) => f.check === "secrets-history");
    expect(history.map((f) => `${f.location.path}:${f.location.line}`)).toContain("src/credentials.ts:3");
    // Reported once: the copy still in the tree is not repeated as history.
    expect(history.map((f) => f.location.path)).not.toContain("deploy/settings.ts");
    for (const file of ["summary.json", "security.sarif", "summary.md"]) {
      const text = readFileSync(join(out, "fixture", file), "utf8");
      expect(text).not.toContain(FAKE_ACCESS_KEY_ID);
      expect(text).not.toContain(FAKE_SECRET_ACCESS_KEY);
    }
    expect(result.run.stdout + result.run.stderr).not.toContain(FAKE_SECRET_ACCESS_KEY);
  });

  test("the semgrep pattern, with line and column", () => {
    const [code] = result.summary.findings.filter((f) => f.check === "code");
    expect(code?.rule.id).toBe("code-from-string");
    expect(code?.location).toMatchObject({ path: "src/render.ts", line: 3, column: 10 });
  });

  test("the dangerous workflow", () => {
    expect(at("workflows", "dangerous-triggers")).toEqual([".github/workflows/preview.yml:4"]);
    expect(at("workflows", "template-injection")).toEqual([".github/workflows/preview.yml:14"]);
  });

  test("every unpinned image and action, and not the pinned ones", () => {
    const pinning = result.summary.findings
      .filter((f) => f.check === "pinning")
      .map((f) => `${f.location.path}:${f.location.line} ${f.key}`);
    expect(pinning).toEqual([
      ".github/workflows/preview.yml:9 node:22",
      ".github/workflows/preview.yml:11 actions/checkout@v4",
      ".github/workflows/preview.yml:16 alpine:3.20",
      "Dockerfile:2 node:22",
      "justfile:2 alpine:3.20",
    ]);
  });

  test("one SARIF run per check, every result with a relative location", () => {
    const { sarif } = result;
    expect(sarif.version).toBe("2.1.0");
    expect(sarif.runs.map((run) => run.automationDetails.id)).toEqual(
      FIXTURE_CHECKS.split(",").map((check) => `security-scan/${check}/`),
    );
    expect(sarif.runs.map((run) => run.tool.driver.name)).toEqual([
      "osv-scanner",
      "gitleaks",
      "gitleaks",
      "semgrep",
      "zizmor",
      "security-scan pinning rule",
    ]);
    const uris = sarif.runs.flatMap((run) =>
      run.results.map((r) => r.locations[0]?.physicalLocation.artifactLocation.uri ?? ""),
    );
    expect(uris.length).toBe(result.summary.findings.length);
    for (const uri of uris) {
      expect(uri).not.toStartWith("/");
      expect(uri).not.toContain(project);
    }
  });

  test("the same project gives the same reports", async () => {
    const again = await scan(project, join(out, "again"), ["--checks", FIXTURE_CHECKS]);
    for (const file of ["summary.json", "security.sarif", "summary.md"]) {
      expect(readFileSync(join(out, "again", file), "utf8")).toBe(readFileSync(join(out, "fixture", file), "utf8"));
    }
    expect(again.run.exitCode).toBe(1);
  }, 180_000);
});

describe("the allowlist on the fixture project", () => {
  test("accepted findings stop failing until they expire; an expired entry fails the scan", async () => {
    const allowlist = join(out, "allowlist.toml");
    writeFileSync(
      allowlist,
      [
        "[[accept]]",
        'check = "code"',
        'rule = "code-from-string"',
        'path = "src/render.ts"',
        'reason = "the template comes from our own build"',
        'expires = "2026-06-30"',
        "",
      ].join("\n"),
    );
    const args = ["--checks", "code", "--allowlist", allowlist];
    const current = await scan(project, join(out, "accepted"), [...args, "--today", "2026-06-30"]);
    expect(current.run.exitCode).toBe(0);
    expect(current.summary.verdict).toBe("passed");
    expect(current.summary.checks[0]).toMatchObject({ check: "code", status: "passed", accepted: 1 });
    expect(current.summary.accepted[0]?.reason).toBe("the template comes from our own build");
    expect(current.run.stdout).toContain(
      "accepted code             src/render.ts:3  code-from-string: the template comes from our own build (until 2026-06-30)",
    );

    const lapsed = await scan(project, join(out, "expired"), [...args, "--today", "2026-07-01"]);
    expect(lapsed.run.exitCode).toBe(1);
    expect(lapsed.summary.expired.map((entry) => entry.index)).toEqual([1]);
    expect(lapsed.summary.text).toBe("FAILED: 1 finding at or above high; 1 expired allowlist entry");
  }, 120_000);

  test("--fail-on none reports the findings without failing", async () => {
    const relaxed = await scan(project, join(out, "relaxed"), ["--checks", "code,pinning", "--fail-on", "none"]);
    expect(relaxed.run.exitCode).toBe(0);
    expect(relaxed.summary.findings.length).toBeGreaterThan(0);
  }, 120_000);
});

describe("dependencies without advisory data", () => {
  test("are not run, never passed, and the verdict says so", async () => {
    const empty = temporaryDirectory("no-advisories");
    try {
      const run = await scanner([
        "scan",
        "--pins",
        pins(),
        "--root",
        project,
        "--tools-dir",
        TOOLS,
        "--out",
        join(out, "no-data"),
        "--advisory-db",
        empty,
        "--checks",
        "dependencies",
      ]);
      expect(run.exitCode).toBe(0);
      expect(run.stdout).toMatch(
        /^dependencies\s+osv-scanner 2\.5\.1\s+-\s+-\s+-\s+-\s+-\s+not run: advisory data missing from `.*` \(npm\)$/m,
      );
      expect(run.stdout).toContain(
        "verdict: INCOMPLETE: no findings at or above high in the checks that ran; not run: dependencies",
      );
      const sarif = JSON.parse(readFileSync(join(out, "no-data", "security.sarif"), "utf8")) as Sarif;
      expect(sarif.runs).toEqual([]);
      const strict = await scanner([
        "scan",
        "--pins",
        pins(),
        "--root",
        project,
        "--tools-dir",
        TOOLS,
        "--out",
        join(out, "strict"),
        "--advisory-db",
        empty,
        "--checks",
        "dependencies",
        "--require-all",
      ]);
      expect(strict.exitCode).toBe(1);
    } finally {
      remove(empty);
    }
  }, 120_000);
});

describe("dependencies when the OSV API cannot be reached", () => {
  test("are not run, whatever the network here: a proxy that refuses every connection", async () => {
    const refused = "http://127.0.0.1:9";
    const run = await scanner(
      [
        "scan",
        "--pins",
        pins(),
        "--root",
        project,
        "--tools-dir",
        TOOLS,
        "--out",
        join(out, "offline"),
        "--checks",
        "dependencies,pinning",
      ],
      {
        env: {
          HTTPS_PROXY: refused,
          HTTP_PROXY: refused,
          https_proxy: refused,
          http_proxy: refused,
          NO_PROXY: "",
          no_proxy: "",
        },
      },
    );
    expect(run.stdout).toMatch(
      /^dependencies\s.*\snot run: advisory data unreachable; SECURITY_ADVISORY_DB=DIR scans offline$/m,
    );
    // The other checks still decide the exit code: the fixture's unpinned images fail it.
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain("not run: dependencies (advisory data unreachable");
    const sarif = JSON.parse(readFileSync(join(out, "offline", "security.sarif"), "utf8")) as Sarif;
    expect(sarif.runs.map((r) => r.automationDetails.id)).toEqual(["security-scan/pinning/"]);
  }, 120_000);
});

describe("this repository", () => {
  test("passes every check, with an SBOM", async () => {
    const { run, summary } = await scan(ROOT, join(out, "repository"));
    const problems = summary.checks.filter(
      (row) =>
        row.status !== "passed" &&
        !(row.check === "workflows" && row.detail === "no workflows under .github/workflows"),
    );
    expect(problems).toEqual([]);
    expect(run.exitCode).toBe(0);
    const sbom = JSON.parse(readFileSync(join(out, "repository", "sbom.cdx.json"), "utf8")) as {
      bomFormat: string;
      serialNumber?: string;
      metadata: { timestamp?: string; component: { name: string } };
      components: { name: string }[];
    };
    expect(sbom.bomFormat).toBe("CycloneDX");
    expect(sbom.metadata.component.name).toBe("taskmd");
    expect(sbom.components.map((component) => component.name)).toContain("typescript");
    expect(sbom.serialNumber).toBeUndefined();
    expect(sbom.metadata.timestamp).toBeUndefined();
  }, 300_000);
});
