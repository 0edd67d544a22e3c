/**
 * Known vulnerabilities of the locked dependencies (`bun.lock`, `Cargo.lock`, ..) from OSV
 * data, with osv-scanner: online through the OSV API, or offline from a local database
 * directory (`--advisory-db`, laid out as osv-scanner expects: `<dir>/osv-scalibr/<ecosystem>/all.zip`).
 *
 * When the advisory data cannot be reached, the check did not run: it never passes blind.
 */
import { readFileSync } from "node:fs";
import { basename, join, relative, sep } from "node:path";

import { errorMessage, tool, type ScanContext } from "../context.ts";
import { lineOf } from "../files.ts";
import type { CheckResult, Finding } from "../finding.ts";
import { isExcluded } from "../policy.ts";
import { run, tail } from "../process.ts";
import { fromCvssScore, fromWord, type Severity } from "../severity.ts";

const LOCKFILES = new Set(["bun.lock", "Cargo.lock", "package-lock.json", "yarn.lock", "pnpm-lock.yaml"]);

/** What osv-scanner says when it could not get advisory data. */
const UNREACHABLE =
  /request failed|dial tcp|no such host|connection refused|i\/o timeout|unable to fetch OSV database|no offline version/i;

interface OsvPackage {
  readonly package: { readonly name: string; readonly version: string; readonly ecosystem: string };
  readonly groups?: readonly { readonly ids: readonly string[]; readonly max_severity?: string }[];
  readonly vulnerabilities?: readonly OsvVulnerability[];
}

interface OsvVulnerability {
  readonly id: string;
  readonly summary?: string;
  readonly details?: string;
  readonly database_specific?: { readonly severity?: unknown; readonly informational?: unknown };
  readonly affected?: readonly {
    readonly package?: { readonly name?: string };
    readonly ranges?: readonly { readonly events?: readonly { readonly fixed?: string }[] }[];
  }[];
}

export interface OsvOutput {
  readonly results?: readonly {
    readonly source: { readonly path: string };
    readonly packages?: readonly OsvPackage[];
  }[];
}

/** The severity of a group of aliases: its CVSS score, else the advisory's word, else high. */
export function groupSeverity(maxSeverity: string | undefined, vulnerabilities: readonly OsvVulnerability[]): Severity {
  const score = Number.parseFloat(maxSeverity ?? "");
  if (Number.isFinite(score) && score > 0) return fromCvssScore(score);
  for (const vulnerability of vulnerabilities) {
    const word = vulnerability.database_specific?.severity;
    const severity = typeof word === "string" ? fromWord(word) : undefined;
    if (severity !== undefined) return severity;
  }
  // RustSec notices (unmaintained, unsound) carry no score: advice, not a known exploit.
  if (vulnerabilities.some((vulnerability) => vulnerability.database_specific?.informational !== undefined))
    return "low";
  // A known vulnerability nobody rated: assume the worst plausible case short of critical.
  return "high";
}

function lockfileLine(text: string, name: string, version: string): number {
  for (const needle of [
    `"${name}@${version}"`,
    `name = "${name}"\nversion = "${version}"`,
    `${name}@${version}`,
    `"${name}"`,
  ]) {
    if (text.includes(needle)) return lineOf(text, needle);
  }
  return 1;
}

/** Findings from osv-scanner's JSON output; `root` makes its paths relative. */
export function parseOsv(output: OsvOutput, root: string, read: (path: string) => string): Finding[] {
  const findings: Finding[] = [];
  for (const result of output.results ?? []) {
    const path = relative(root, result.source.path).split(sep).join("/");
    const text = read(path);
    for (const entry of result.packages ?? []) {
      const { name, version, ecosystem } = entry.package;
      const vulnerabilities = entry.vulnerabilities ?? [];
      for (const group of entry.groups ?? []) {
        const members = vulnerabilities.filter((vulnerability) => group.ids.includes(vulnerability.id));
        const id = [...group.ids].sort()[0] ?? "unknown";
        const summary =
          members.map((member) => member.summary).find((text) => text !== undefined && text !== "") ??
          "known vulnerability";
        const fixed = [
          ...new Set(
            members.flatMap((member) =>
              (member.affected ?? [])
                .filter((affected) => affected.package?.name === name)
                .flatMap((affected) => affected.ranges ?? [])
                .flatMap((range) => range.events ?? [])
                .flatMap((event) => (event.fixed === undefined ? [] : [event.fixed])),
            ),
          ),
        ];
        const aliases = group.ids.filter((alias) => alias !== id);
        findings.push({
          check: "dependencies",
          rule: { id, description: summary, helpUri: `https://osv.dev/vulnerability/${id}` },
          severity: groupSeverity(group.max_severity, members),
          message:
            `${name} ${version} (${ecosystem}) is affected by ${id}${aliases.length > 0 ? ` (${aliases.join(", ")})` : ""}: ${summary}; ` +
            (fixed.length > 0 ? `upgrade to ${fixed.join(" or ")} or later` : "no fixed version is known"),
          location: { path, line: lockfileLine(text, name, version) },
          key: `${ecosystem}/${name}@${version}`,
        });
      }
    }
  }
  return findings;
}

export async function dependenciesCheck(context: ScanContext): Promise<CheckResult> {
  const osv = tool(context, "osv-scanner");
  const result = (outcome: CheckResult["outcome"]): CheckResult => ({
    id: "dependencies",
    tool: { name: osv.name, version: osv.version, informationUri: osv.informationUri },
    outcome,
  });
  const lockfiles = context.files.paths.filter(
    (path) => LOCKFILES.has(basename(path)) && !isExcluded(context.policy, path),
  );
  if (lockfiles.length === 0) return result({ kind: "not-run", reason: "no lockfile to scan" });
  const output = join(context.workDir, "osv-scanner.json");
  const offline = context.advisoryDb === undefined ? [] : ["--offline", "--offline-vulnerabilities"];
  const env: Record<string, string> =
    context.advisoryDb === undefined ? {} : { OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY: context.advisoryDb };
  try {
    const completed = await run(
      [
        osv.program,
        "scan",
        "source",
        "--format",
        "json",
        "--output-file",
        output,
        ...offline,
        ...lockfiles.flatMap((path) => ["--lockfile", path]),
      ],
      { cwd: context.root, env },
    );
    // 0: nothing found, 1: vulnerabilities found; anything else is an error.
    if (completed.exitCode !== 0 && completed.exitCode !== 1) {
      const problem = UNREACHABLE.exec(completed.stderr);
      if (problem !== null) {
        const where =
          context.advisoryDb === undefined
            ? "advisory data unreachable; SECURITY_ADVISORY_DB=DIR scans offline"
            : `advisory data missing from \`${context.advisoryDb}\``;
        const ecosystem = /could not load db for (\S+) ecosystem/.exec(completed.stderr)?.[1];
        return result({ kind: "not-run", reason: `${where}${ecosystem === undefined ? "" : ` (${ecosystem})`}` });
      }
      return result({
        kind: "error",
        message: `osv-scanner failed (exit code ${completed.exitCode}):\n${tail(completed.stderr)}`,
      });
    }
    const parsed = JSON.parse(readFileSync(output, "utf8")) as OsvOutput;
    const findings = parseOsv(parsed, context.root, (path) => readFileSync(join(context.root, path), "utf8"));
    const mode = context.advisoryDb === undefined ? "OSV API" : "local database";
    return result({ kind: "ran", findings, note: `${lockfiles.join(", ")} against the ${mode}` });
  } catch (error) {
    return result({ kind: "error", message: errorMessage(error) });
  }
}
