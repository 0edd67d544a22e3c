/**
 * One SARIF 2.1.0 file for GitHub code scanning: a run per check that ran, each with its own
 * tool and `automationDetails.id`. A check that did not run has no run at all, so an upload
 * never closes the alerts it found before as if they were fixed.
 */
import { compareFindings, compareText, type Accepted, type CheckResult, type Finding } from "./finding.ts";
import { rank, sarifLevel, securitySeverity, type Severity } from "./severity.ts";

/** The version of the checks written here (the pinning rule), shown as their tool's version. */
export const SCANNER_VERSION = "1.0.0";

export function fingerprint(finding: Finding): string {
  const { check, rule, location, key } = finding;
  return new Bun.CryptoHasher("sha256")
    .update([check, rule.id, location.path, key, String(location.line)].join("\0"))
    .digest("hex");
}

function sarifResult(finding: Finding, ruleIndex: number, accepted?: Accepted): Record<string, unknown> {
  const { location } = finding;
  return {
    ruleId: finding.rule.id,
    ruleIndex,
    level: sarifLevel(finding.severity),
    message: { text: finding.message },
    locations: [
      {
        physicalLocation: {
          artifactLocation: { uri: location.path, uriBaseId: "%SRCROOT%" },
          region: {
            startLine: location.line,
            ...(location.column === undefined ? {} : { startColumn: location.column }),
            ...(location.endLine === undefined ? {} : { endLine: location.endLine }),
            ...(location.endColumn === undefined ? {} : { endColumn: location.endColumn }),
          },
        },
      },
    ],
    partialFingerprints: { "securityScan/v1": fingerprint(finding) },
    properties: { severity: finding.severity, ...(finding.key === "" ? {} : { key: finding.key }) },
    ...(accepted === undefined
      ? {}
      : {
          suppressions: [
            { kind: "external", status: "accepted", justification: `${accepted.reason} (until ${accepted.expires})` },
          ],
        }),
  };
}

function run(check: CheckResult, open: readonly Finding[], accepted: readonly Accepted[]): Record<string, unknown> {
  const entries = [
    ...open.map((finding) => ({ finding, accepted: undefined })),
    ...accepted.map((entry) => ({ finding: entry.finding, accepted: entry })),
  ].sort((a, b) => compareFindings(a.finding, b.finding));
  const rules = new Map<string, { description: string; helpUri?: string; severity: Severity }>();
  for (const { finding } of entries) {
    const known = rules.get(finding.rule.id);
    if (known === undefined || rank(finding.severity) > rank(known.severity)) {
      rules.set(finding.rule.id, {
        description: finding.rule.description,
        ...(finding.rule.helpUri === undefined ? {} : { helpUri: finding.rule.helpUri }),
        severity: finding.severity,
      });
    }
  }
  const ruleIds = [...rules.keys()].sort(compareText);
  const tool = check.tool ?? {
    name: "security-scan pinning rule",
    version: SCANNER_VERSION,
    informationUri: "docs/security.md",
  };
  return {
    tool: {
      driver: {
        name: tool.name,
        version: tool.version,
        informationUri: tool.informationUri,
        rules: ruleIds.map((id) => {
          const rule = rules.get(id);
          return {
            id,
            shortDescription: { text: rule?.description ?? id },
            ...(rule?.helpUri === undefined ? {} : { helpUri: rule.helpUri }),
            defaultConfiguration: { level: sarifLevel(rule?.severity ?? "medium") },
            properties: {
              "security-severity": securitySeverity(rule?.severity ?? "medium"),
              tags: ["security", check.id],
            },
          };
        }),
      },
    },
    automationDetails: { id: `security-scan/${check.id}/` },
    originalUriBaseIds: { "%SRCROOT%": { description: { text: "the root of the scanned repository" } } },
    results: entries.map(({ finding, accepted: entry }) =>
      sarifResult(finding, ruleIds.indexOf(finding.rule.id), entry),
    ),
  };
}

export interface CheckFindings {
  readonly check: CheckResult;
  readonly open: readonly Finding[];
  readonly accepted: readonly Accepted[];
}

export function sarif(checks: readonly CheckFindings[]): Record<string, unknown> {
  return {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: checks
      .filter(({ check }) => check.outcome.kind === "ran" && check.id !== "sbom")
      .map(({ check, open, accepted }) => run(check, open, accepted)),
  };
}
