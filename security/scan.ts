#!/usr/bin/env bun
/**
 * security-scan: runs every security check on a project, merges what they found into one SARIF
 * file, prints a summary table and a verdict, and exits non-zero on findings at or above
 * `--fail-on`. The justfile's `security-scan` recipe runs it, natively and in containers alike;
 * `security-tools` runs its `install` command. See docs/security.md.
 */
import {
  appendFileSync,
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";

import { codeCheck } from "./lib/checks/code.ts";
import { dependenciesCheck } from "./lib/checks/dependencies.ts";
import { pinningCheck } from "./lib/checks/pinning.ts";
import { SBOM_FILE, sbomCheck } from "./lib/checks/sbom.ts";
import { secretsChecks } from "./lib/checks/secrets.ts";
import { workflowsCheck } from "./lib/checks/workflows.ts";
import { errorMessage, type ScanContext } from "./lib/context.ts";
import { listFiles } from "./lib/files.ts";
import { CHECK_IDS, compareFindings, type CheckId, type CheckResult } from "./lib/finding.ts";
import { applyPolicy, expired, isExcluded, loadPolicy, matches, PolicyError } from "./lib/policy.ts";
import { sarif, type CheckFindings } from "./lib/sarif.ts";
import { parseThreshold, THRESHOLDS, type Threshold } from "./lib/severity.ts";
import { markdownTable, rows, textTable, verdict } from "./lib/summary.ts";
import {
  installTools,
  parsePins,
  resolveTool,
  ToolError,
  type Pins,
  type ResolvedTool,
  type ToolName,
} from "./lib/tools.ts";

const EXIT_USAGE = 2;

const USAGE = `Usage:
  bun security/scan.ts scan --pins PINS [options]
  bun security/scan.ts install --pins PINS [--tools-dir DIR]

PINS is the justfile's \`security_pins\`: "osv-scanner=X gitleaks=X semgrep=X zizmor=X cyclonedx-npm=X".

Options of scan:
  --root DIR          the project to scan [default: the current directory]
  --tools-dir DIR     where the pinned tools are installed [default: ROOT/.tools/security]
  --out DIR           where the reports go, replaced whole [default: ROOT/reports/security]
  --fail-on LEVEL     exit 1 on findings at or above: ${THRESHOLDS.join(", ")} [default: high]
  --advisory-db DIR   scan dependencies offline against this OSV database [default: $SECURITY_ADVISORY_DB]
  --allowlist FILE    accepted findings and excluded paths [default: ROOT/security/allowlist.toml]
  --checks LIST       comma-separated subset of: ${CHECK_IDS.join(", ")} [default: all]
  --rules DIR         semgrep rules [default: the rules beside this script]
  --require-all       also exit 1 when a check did not run
  --today DATE        the day allowlist expiry dates are checked against [default: today, UTC]`;

class UsageError extends Error {}

/** Which tool each check runs; the pinning rule is written here and needs none. */
const CHECK_TOOLS: Readonly<Record<CheckId, ToolName | null>> = {
  dependencies: "osv-scanner",
  "secrets-tree": "gitleaks",
  "secrets-history": "gitleaks",
  code: "semgrep",
  workflows: "zizmor",
  pinning: null,
  sbom: "cyclonedx-npm",
};

function log(line: string): void {
  process.stderr.write(`security-scan: ${line}\n`);
}

function parseChecks(text: string | undefined): CheckId[] {
  if (text === undefined) return [...CHECK_IDS];
  const names = text
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "");
  for (const name of names) {
    if (!(CHECK_IDS as readonly string[]).includes(name)) {
      throw new UsageError(`unknown check \`${name}\`; checks: ${CHECK_IDS.join(", ")}`);
    }
  }
  return CHECK_IDS.filter((id) => names.includes(id));
}

function requirePins(text: string | undefined): Pins {
  if (text === undefined)
    throw new UsageError("--pins is required; the justfile's `security_pins` variable lists them");
  return parsePins(text);
}

function today(): string {
  return new Date().toISOString().slice(0, 10);
}

/** Resolves the tools the chosen checks need; every missing one is named in one error. */
async function resolveTools(
  checks: readonly CheckId[],
  pins: Pins,
  toolsDir: string,
): Promise<Map<ToolName, ResolvedTool>> {
  const needed = [...new Set(checks.map((check) => CHECK_TOOLS[check]).filter((name) => name !== null))];
  const resolved = new Map<ToolName, ResolvedTool>();
  const problems: string[] = [];
  for (const name of needed) {
    const version = pins.get(name);
    if (version === undefined) {
      problems.push(`no pin for ${name}: add \`${name}=VERSION\` to the justfile's \`security_pins\``);
      continue;
    }
    try {
      resolved.set(name, await resolveTool(toolsDir, name, version));
    } catch (error) {
      problems.push(errorMessage(error));
    }
  }
  if (problems.length > 0) throw new ToolError(problems.join("\n"));
  return resolved;
}

async function runChecks(context: ScanContext, checks: readonly CheckId[], rulesDir: string): Promise<CheckResult[]> {
  const wanted = (id: CheckId): boolean => checks.includes(id);
  const timed = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    const result = await work();
    log(`${name} done in ${((performance.now() - started) / 1000).toFixed(1)}s`);
    return result;
  };
  const [dependencies, secrets, code, workflows, pinning, sbom] = await Promise.all([
    wanted("dependencies") ? timed("dependencies", () => dependenciesCheck(context)) : undefined,
    wanted("secrets-tree") || wanted("secrets-history") ? timed("secrets", () => secretsChecks(context)) : undefined,
    wanted("code") ? timed("code", () => codeCheck(context, rulesDir)) : undefined,
    wanted("workflows") ? timed("workflows", () => workflowsCheck(context)) : undefined,
    wanted("pinning")
      ? timed("pinning", () =>
          pinningCheck(
            context.root,
            context.files.paths.filter((path) => !isExcluded(context.policy, path)),
          ),
        )
      : undefined,
    wanted("sbom") ? timed("sbom", () => sbomCheck(context)) : undefined,
  ]);
  const all = [dependencies, secrets?.tree, secrets?.history, code, workflows, pinning, sbom];
  return all.filter((result): result is CheckResult => result !== undefined && wanted(result.id));
}

/** Moves the finished reports into place: the old directory goes only once the new one is whole. */
function publish(staging: string, out: string): void {
  const old = existsSync(out) ? `${staging}.old` : undefined;
  if (old !== undefined) renameSync(out, old);
  renameSync(staging, out);
  if (old !== undefined) rmSync(old, { recursive: true, force: true });
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

async function scan(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      pins: { type: "string" },
      root: { type: "string" },
      "tools-dir": { type: "string" },
      out: { type: "string" },
      "fail-on": { type: "string", default: "high" },
      "advisory-db": { type: "string" },
      allowlist: { type: "string" },
      checks: { type: "string" },
      rules: { type: "string" },
      "require-all": { type: "boolean", default: false },
      today: { type: "string" },
    },
    strict: true,
    allowPositionals: false,
  });
  const threshold: Threshold | undefined = parseThreshold(values["fail-on"]);
  if (threshold === undefined)
    throw new UsageError(`--fail-on must be one of ${THRESHOLDS.join(", ")}, not \`${values["fail-on"]}\``);
  const date = values.today ?? today();
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date))
    throw new UsageError(`--today must be a date such as 2026-06-30, not \`${date}\``);
  const pins = requirePins(values.pins);
  const checks = parseChecks(values.checks);
  const root = resolve(values.root ?? ".");
  if (!existsSync(root)) throw new UsageError(`--root \`${root}\` does not exist`);
  const toolsDir = resolve(values["tools-dir"] ?? join(root, ".tools", "security"));
  const out = resolve(values.out ?? join(root, "reports", "security"));
  const advisoryDirectory =
    values["advisory-db"] ??
    (process.env["SECURITY_ADVISORY_DB"] === "" ? undefined : process.env["SECURITY_ADVISORY_DB"]);
  const advisoryDb = advisoryDirectory === undefined ? undefined : resolve(advisoryDirectory);
  if (advisoryDb !== undefined && !existsSync(advisoryDb))
    throw new UsageError(`the advisory database \`${advisoryDb}\` does not exist`);
  const rulesDir = resolve(values.rules ?? join(import.meta.dir, "semgrep"));
  const policy = loadPolicy(resolve(values.allowlist ?? join(root, "security", "allowlist.toml")));
  const tools = await resolveTools(checks, pins, toolsDir);

  mkdirSync(dirname(out), { recursive: true });
  const staging = mkdtempSync(join(dirname(out), `.${basename(out)}.partial-`));
  chmodSync(staging, 0o755);
  const workDir = mkdtempSync(join(tmpdir(), "security-scan-"));
  try {
    const files = await listFiles(root);
    log(`scanning ${root}: ${files.paths.length} files, checks: ${checks.join(", ")}`);
    const context: ScanContext = { root, files, policy, tools, advisoryDb, workDir, stagingDir: staging, log };
    const results = await runChecks(context, checks, rulesDir);
    const checked: CheckFindings[] = results.map((check) => {
      if (check.outcome.kind !== "ran") return { check, open: [], accepted: [] };
      const applied = applyPolicy(policy, check.outcome.findings, date);
      return { check, open: applied.open.sort(compareFindings), accepted: applied.accepted };
    });
    const lapsed = expired(policy, date);
    for (const entry of policy.acceptances) {
      const ran = checked.some(({ check }) => check.id === entry.check && check.outcome.kind === "ran");
      const used = checked.some(({ accepted }) => accepted.some(({ finding }) => matches(entry, finding)));
      if (ran && !used && entry.expires >= date)
        log(`warning: allowlist entry ${entry.index} (${entry.check} ${entry.rule}) matches no finding; remove it`);
    }
    const table = rows(checked);
    const result = verdict(checked, threshold, lapsed, values["require-all"]);
    const findings = checked.flatMap(({ open }) => open).sort(compareFindings);
    const accepted = checked.flatMap(({ accepted: entries }) => entries);

    writeFileSync(join(staging, "security.sarif"), json(sarif(checked)));
    writeFileSync(join(staging, "summary.md"), `# Security scan\n\n${markdownTable(table)}\n\n**${result.text}**\n`);
    writeFileSync(
      join(staging, "summary.json"),
      json({
        verdict: result.outcome,
        text: result.text,
        failOn: threshold,
        checks: table,
        findings,
        accepted,
        expired: lapsed,
        ...(checks.includes("sbom") && existsSync(join(staging, SBOM_FILE)) ? { sbom: SBOM_FILE } : {}),
      }),
    );
    publish(staging, out);

    const lines = [textTable(table), ""];
    for (const finding of findings) {
      const { path, line, column } = finding.location;
      lines.push(
        `${finding.severity.padEnd(8)} ${finding.check.padEnd(15)}  ${path}:${line}${column === undefined ? "" : `:${column}`}  ${finding.rule.id}: ${finding.message}`,
      );
    }
    for (const { finding, reason, expires } of accepted) {
      lines.push(
        `accepted ${finding.check.padEnd(15)}  ${finding.location.path}:${finding.location.line}  ${finding.rule.id}: ${reason} (until ${expires})`,
      );
    }
    for (const entry of lapsed) {
      lines.push(
        `expired  allowlist entry ${entry.index} (${entry.check} ${entry.rule}) expired on ${entry.expires}: look again, then renew or remove it`,
      );
    }
    for (const { check } of checked) {
      if (check.outcome.kind === "error") lines.push(`error    ${check.id}: ${check.outcome.message}`);
    }
    if (
      findings.length + accepted.length + lapsed.length > 0 ||
      checked.some(({ check }) => check.outcome.kind === "error")
    )
      lines.push("");
    lines.push(`verdict: ${result.text}`, `reports: ${out}`);
    process.stdout.write(`${lines.join("\n")}\n`);
    const stepSummary = process.env["GITHUB_STEP_SUMMARY"];
    if (stepSummary !== undefined && stepSummary !== "") {
      appendFileSync(stepSummary, `## Security scan\n\n${markdownTable(table)}\n\n**${result.text}**\n\n`);
    }
    return result.exitCode;
  } finally {
    rmSync(workDir, { recursive: true, force: true });
    rmSync(staging, { recursive: true, force: true });
  }
}

async function install(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: { pins: { type: "string" }, "tools-dir": { type: "string" } },
    strict: true,
  });
  const pins = requirePins(values.pins);
  const toolsDir = resolve(values["tools-dir"] ?? join(".tools", "security"));
  for (const line of await installTools(toolsDir, pins, log)) process.stdout.write(`${line}\n`);
  return 0;
}

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "scan":
        return await scan(rest);
      case "install":
        return await install(rest);
      case "-h":
      case "--help":
        process.stdout.write(`${USAGE}\n`);
        return 0;
      default:
        throw new UsageError(command === undefined ? "no command given" : `unknown command \`${command}\``);
    }
  } catch (error) {
    if (
      error instanceof UsageError ||
      (error instanceof TypeError && "code" in error && String(error.code).startsWith("ERR_PARSE_ARGS"))
    ) {
      process.stderr.write(`error: ${error.message}\n\n${USAGE}\n`);
      return EXIT_USAGE;
    }
    if (error instanceof ToolError || error instanceof PolicyError) {
      process.stderr.write(`error: ${error.message}\n`);
      return EXIT_USAGE;
    }
    throw error;
  }
}

if (import.meta.main) {
  process.exit(await main(Bun.argv.slice(2)));
}
