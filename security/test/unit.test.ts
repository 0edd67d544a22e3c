/** The scanner's logic, without the scanners: parsing their output, the rules, the policy, the outputs. */
import { describe, expect, test } from "bun:test";

import { groupSeverity, parseOsv } from "../lib/checks/dependencies.ts";
import { parseSemgrep, ruleId } from "../lib/checks/code.ts";
import { imageVariables, isPinnedImage, metadataImages, scanDockerfile, scanYaml } from "../lib/checks/pinning.ts";
import { historyFinding, treeFinding, withoutTreeDuplicates, type GitleaksEntry } from "../lib/checks/secrets.ts";
import { parseZizmor, type ZizmorFinding } from "../lib/checks/workflows.ts";
import type { CheckResult, Finding } from "../lib/finding.ts";
import { applyPolicy, expired, parsePolicy, PolicyError } from "../lib/policy.ts";
import { sarif, type CheckFindings } from "../lib/sarif.ts";
import { fromCvssScore, meets, parseThreshold } from "../lib/severity.ts";
import { markdownTable, rows, textTable, verdict } from "../lib/summary.ts";
import { manualInstall, parsePins, parseVersion, ToolError } from "../lib/tools.ts";

const DIGEST = "sha256:" + "a".repeat(64);

function finding(overrides: Partial<Finding> = {}): Finding {
  return {
    check: "code",
    rule: { id: "code-from-string", description: "eval" },
    severity: "high",
    message: "eval runs code",
    location: { path: "src/a.ts", line: 3, column: 5 },
    key: "",
    ...overrides,
  };
}

function ran(id: CheckResult["id"], findings: Finding[]): CheckResult {
  return {
    id,
    tool: { name: "tool", version: "1.0.0", informationUri: "https://example.com" },
    outcome: { kind: "ran", findings },
  };
}

describe("severity", () => {
  test("CVSS bands and thresholds", () => {
    expect([9.8, 7.5, 5.3, 2.1].map(fromCvssScore)).toEqual(["critical", "high", "medium", "low"]);
    expect(meets("high", "high")).toBe(true);
    expect(meets("critical", "high")).toBe(true);
    expect(meets("medium", "high")).toBe(false);
    expect(meets("critical", "none")).toBe(false);
    expect(parseThreshold("HIGH")).toBe("high");
    expect(parseThreshold("severe")).toBeUndefined();
  });
});

describe("the pinning rule", () => {
  test("knows a digest from a tag", () => {
    expect(isPinnedImage(`oven/bun:1.4.5@${DIGEST}`)).toBe(true);
    expect(isPinnedImage("oven/bun:1.4.5")).toBe(false);
    expect(isPinnedImage("oven/bun@sha256:abc")).toBe(false);
  });

  test("finds floating actions and images in a workflow, with their line and column", () => {
    const workflow = [
      "jobs:",
      "  build:",
      "    container:",
      "      image: node:22",
      "    services:",
      "      db:",
      `        image: "postgres:16@${DIGEST}"`,
      "    steps:",
      "      - uses: actions/checkout@v4 # tag",
      `      - uses: actions/setup-node@${"b".repeat(40)} # v4`,
      "      - uses: ./.github/actions/local",
      "      - uses: docker://alpine:3.20",
      "      - name: uses: in a name is not a step",
    ].join("\n");
    const findings = scanYaml(".github/workflows/ci.yml", workflow, true);
    expect(findings.map((f) => [f.rule.id, f.location.line, f.location.column, f.key])).toEqual([
      ["image-not-pinned", 4, 14, "node:22"],
      ["action-not-pinned", 9, 15, "actions/checkout@v4"],
      ["image-not-pinned", 12, 15, "alpine:3.20"],
    ]);
    expect(findings.every((f) => f.severity === "high" && f.check === "pinning")).toBe(true);
  });

  test("a compose file's images are checked but not its `uses`", () => {
    const findings = scanYaml("compose.yml", "services:\n  web:\n    image: nginx\n", false);
    expect(findings.map((f) => f.key)).toEqual(["nginx"]);
  });

  test("Dockerfile FROM lines: earlier stages and scratch are not images", () => {
    const dockerfile = [
      "FROM --platform=linux/amd64 node:22 AS build",
      `FROM oven/bun@${DIGEST} AS runtime`,
      "FROM build",
      "FROM scratch",
      "from debian:12",
    ].join("\n");
    expect(scanDockerfile("Dockerfile", dockerfile).map((f) => [f.location.line, f.key])).toEqual([
      [1, "node:22"],
      [5, "debian:12"],
    ]);
  });

  test("reads images from the justfile dump", () => {
    const dump = {
      recipes: {
        build: { attributes: [{ group: "ci" }, { metadata: ["image", "rust:1"] }, "private"] },
        test: { attributes: [{ metadata: ["inputs", "src"] }] },
      },
      assignments: { bun_image: { value: "x" }, targets: { value: "y" } },
    };
    expect(metadataImages(dump)).toEqual([{ image: "rust:1", recipe: "build" }]);
    expect(imageVariables(dump)).toEqual(["bun_image"]);
  });
});

describe("tool output", () => {
  test("osv-scanner: one finding per advisory group, on the package's lockfile line", () => {
    const lock = '{\n  "packages": {\n    "left-pad": ["left-pad@1.1.3", "", {}, "sha512-x"],\n  }\n}\n';
    const findings = parseOsv(
      {
        results: [
          {
            source: { path: "/project/bun.lock" },
            packages: [
              {
                package: { name: "left-pad", version: "1.1.3", ecosystem: "npm" },
                groups: [{ ids: ["GHSA-aaaa", "CVE-2026-1"], max_severity: "9.1" }],
                vulnerabilities: [
                  {
                    id: "GHSA-aaaa",
                    summary: "padding overflow",
                    affected: [{ package: { name: "left-pad" }, ranges: [{ events: [{ fixed: "1.3.0" }] }] }],
                  },
                ],
              },
            ],
          },
        ],
      },
      "/project",
      () => lock,
    );
    expect(findings).toHaveLength(1);
    expect(findings[0]?.rule.id).toBe("CVE-2026-1");
    expect(findings[0]?.severity).toBe("critical");
    expect(findings[0]?.location).toEqual({ path: "bun.lock", line: 3 });
    expect(findings[0]?.key).toBe("npm/left-pad@1.1.3");
    expect(findings[0]?.message).toContain("upgrade to 1.3.0");
  });

  test("osv severities without a score", () => {
    expect(groupSeverity(undefined, [{ id: "GHSA-1", database_specific: { severity: "MODERATE" } }])).toBe("medium");
    expect(groupSeverity("", [{ id: "RUSTSEC-1", database_specific: { informational: "unmaintained" } }])).toBe("low");
    expect(groupSeverity(undefined, [{ id: "OSV-1" }])).toBe("high");
  });

  test("semgrep: rule ids lose their config path prefix; severities map", () => {
    expect(ruleId("tmp.security.semgrep.code-from-string")).toBe("code-from-string");
    const [parsed] = parseSemgrep({
      results: [
        {
          check_id: "security.semgrep.secret-in-output",
          path: "src/a.ts",
          start: { line: 2, col: 3 },
          end: { line: 2, col: 30 },
          extra: { message: "secret\nmore", severity: "WARNING", metadata: { description: "secret logged" } },
        },
      ],
    });
    expect(parsed?.severity).toBe("medium");
    expect(parsed?.rule).toEqual({ id: "secret-in-output", description: "secret logged" });
    expect(parsed?.location).toEqual({ path: "src/a.ts", line: 2, column: 3, endLine: 2, endColumn: 30 });
  });

  test("zizmor: 0-based rows become lines; ignored findings are dropped", () => {
    const base: ZizmorFinding = {
      ident: "template-injection",
      desc: "code injection via template expansion",
      determinations: { severity: "High", confidence: "High" },
      locations: [
        {
          symbolic: {
            key: { Local: { verbatim_path: ".github/workflows/ci.yml" } },
            annotation: "may expand into attacker-controllable code",
            kind: "Primary",
          },
          concrete: { location: { start_point: { row: 11, column: 23 }, end_point: { row: 11, column: 60 } } },
        },
      ],
    };
    const findings = parseZizmor([base, { ...base, ignored: true }]);
    expect(findings).toHaveLength(1);
    expect(findings[0]?.location).toEqual({
      path: ".github/workflows/ci.yml",
      line: 12,
      column: 24,
      endLine: 12,
      endColumn: 61,
    });
    expect(findings[0]?.severity).toBe("high");
  });

  test("gitleaks: a secret still in the tree is reported by the tree check only", () => {
    const entry: GitleaksEntry = {
      RuleID: "aws-access-token",
      Description: "AWS",
      File: "/scratch/tree/a.ts",
      StartLine: 3,
      StartColumn: 4,
      EndColumn: 24,
      Match: "REDACTED",
    };
    const old: GitleaksEntry = { ...entry, File: "b.ts", Commit: "c".repeat(40), Date: "2026-01-01T00:00:00Z" };
    const history = [{ ...entry, File: "a.ts", Commit: "d".repeat(40) }, old];
    expect(withoutTreeDuplicates(history, [entry], "/scratch/tree")).toEqual([old]);
    expect(treeFinding(entry, "/scratch/tree").location).toEqual({ path: "a.ts", line: 3, column: 4, endColumn: 25 });
    const fromHistory = historyFinding(old);
    expect(fromHistory.key).toBe("c".repeat(40));
    expect(fromHistory.message).toContain("committed in cccccccccccc on 2026-01-01");
    expect(JSON.stringify(fromHistory)).not.toContain("Match");
  });
});

describe("the allowlist", () => {
  const policy = parsePolicy("allowlist.toml", {
    exclude: [{ paths: ["fixtures/**"], reason: "planted" }],
    accept: [
      { check: "code", rule: "code-from-string", path: "src/*.ts", reason: "sandboxed", expires: "2026-06-30" },
      { check: "dependencies", rule: "GHSA-1", key: "npm/a@1.0.0", reason: "dev only", expires: "2026-01-31" },
    ],
  });

  test("excludes paths, accepts until the expiry day, and lists what expired", () => {
    const findings = [
      finding(),
      finding({ location: { path: "fixtures/x.ts", line: 1 } }),
      finding({ location: { path: "lib/b.ts", line: 1 } }),
    ];
    const applied = applyPolicy(policy, findings, "2026-06-30");
    expect(applied.excluded).toBe(1);
    expect(applied.accepted.map((entry) => [entry.finding.location.path, entry.reason, entry.expires])).toEqual([
      ["src/a.ts", "sandboxed", "2026-06-30"],
    ]);
    expect(applied.open.map((f) => f.location.path)).toEqual(["lib/b.ts"]);
    expect(expired(policy, "2026-06-30").map((entry) => entry.index)).toEqual([2]);
    // The day after its expiry, an entry accepts nothing.
    expect(applyPolicy(policy, findings, "2026-07-01").open).toHaveLength(2);
  });

  test("rejects entries without a reason, a valid date or a known check", () => {
    const bad =
      (entry: Record<string, unknown>): (() => void) =>
      () =>
        parsePolicy("a.toml", {
          accept: [{ check: "code", rule: "r", reason: "why", expires: "2026-01-01", ...entry }],
        });
    expect(bad({ reason: "" })).toThrow("needs a non-empty `reason`");
    expect(bad({ expires: "2026-02-30" })).toThrow('write a date such as "2026-06-30"');
    expect(bad({ expires: undefined })).toThrow("needs a non-empty `expires`");
    expect(bad({ check: "lint" })).toThrow("unknown check `lint`");
    expect(bad({ because: "x" })).toThrow("unknown key `because`");
    expect(() => parsePolicy("a.toml", { ignore: [] })).toThrow(PolicyError);
  });
});

describe("outputs", () => {
  const notRun: CheckResult = {
    id: "dependencies",
    tool: null,
    outcome: { kind: "not-run", reason: "advisory data unreachable" },
  };
  const accepted = finding({ location: { path: "src/z.ts", line: 9 } });
  const skipped: CheckFindings = { check: notRun, open: [], accepted: [] };
  const code: CheckFindings = {
    check: ran("code", [finding(), accepted]),
    open: [finding()],
    accepted: [{ finding: accepted, reason: "sandboxed", expires: "2026-06-30" }],
  };
  const pinning: CheckFindings = { check: ran("pinning", []), open: [], accepted: [] };
  const checks = [skipped, code, pinning];

  test("SARIF: a run per check that ran, suppressions for accepted findings, no run for the rest", () => {
    const log = sarif(checks) as {
      version: string;
      runs: {
        automationDetails: { id: string };
        results: Record<string, unknown>[];
        tool: { driver: { rules: { id: string; properties: Record<string, unknown> }[] } };
      }[];
    };
    expect(log.version).toBe("2.1.0");
    expect(log.runs.map((run) => run.automationDetails.id)).toEqual(["security-scan/code/", "security-scan/pinning/"]);
    const [codeRun] = log.runs;
    expect(codeRun?.results).toHaveLength(2);
    expect(codeRun?.results[0]?.["suppressions"]).toBeUndefined();
    expect(codeRun?.results[1]?.["suppressions"]).toEqual([
      { kind: "external", status: "accepted", justification: "sandboxed (until 2026-06-30)" },
    ]);
    expect(codeRun?.tool.driver.rules[0]?.properties["security-severity"]).toBe("8.0");
    expect(JSON.stringify(sarif(checks))).toBe(JSON.stringify(log));
  });

  test("the verdict: incomplete is never passed, and expiry or findings fail", () => {
    const clean = [skipped, pinning];
    expect(verdict(clean, "high", [], false)).toMatchObject({ outcome: "incomplete", exitCode: 0 });
    expect(verdict(clean, "high", [], false).text).toContain("not run: dependencies (advisory data unreachable)");
    expect(verdict(clean, "high", [], true)).toMatchObject({ outcome: "failed", exitCode: 1 });
    expect(verdict([pinning], "high", [], false)).toMatchObject({ outcome: "passed", exitCode: 0 });
    expect(verdict(checks, "high", [], false).text).toStartWith("FAILED: 1 finding at or above high");
    expect(verdict(checks, "critical", [], false).outcome).toBe("incomplete");
    const lapsed = parsePolicy("a", {
      accept: [{ check: "code", rule: "r", reason: "why", expires: "2020-01-01" }],
    }).acceptances;
    expect(verdict([pinning], "none", lapsed, false).text).toBe("FAILED: 1 expired allowlist entry");
  });

  test("the table: counts by severity, accepted, status", () => {
    const table = rows(checks);
    expect(table.map((row) => row.status)).toEqual(["not run", "findings", "passed"]);
    const text = textTable(table);
    expect(text.split("\n")[0]).toMatch(/^check\s+tool\s+critical\s+high\s+medium\s+low\s+accepted\s+status$/);
    expect(text).toContain("not run: advisory data unreachable");
    expect(markdownTable(table).split("\n")).toHaveLength(5);
  });
});

describe("pins", () => {
  test("parse, and name what is wrong", () => {
    expect([...parsePins("semgrep=1.185.0  zizmor=1.32.0")]).toEqual([
      ["semgrep", "1.185.0"],
      ["zizmor", "1.32.0"],
    ]);
    expect(() => parsePins("trivy=1.0")).toThrow(ToolError);
    expect(() => parsePins("semgrep=latest")).toThrow("bad pin `semgrep=latest`");
    expect(parseVersion("osv-scanner version: 2.5.1\ncommit: n/a")).toBe("2.5.1");
    expect(manualInstall("gitleaks", "8.30.1")).toBe("go install github.com/zricethezav/gitleaks/v8@v8.30.1");
  });
});
