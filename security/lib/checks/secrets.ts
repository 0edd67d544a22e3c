/**
 * Secrets with gitleaks, in two checks: the tree (tracked files and untracked ones that are not
 * ignored: what the next commit could hold) and the git history (every commit of every ref).
 *
 * gitleaks always runs with `--redact`: no secret value reaches a report, a log or this process.
 */
import { copyFileSync, lstatSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, join, relative, sep } from "node:path";

import { errorMessage, tool, type ScanContext } from "../context.ts";
import { count, type CheckResult, type Finding, type Tool } from "../finding.ts";
import { isExcluded } from "../policy.ts";
import { run, tail } from "../process.ts";

export interface GitleaksEntry {
  readonly RuleID: string;
  readonly Description: string;
  readonly File: string;
  readonly StartLine: number;
  readonly EndLine?: number;
  readonly StartColumn?: number;
  readonly EndColumn?: number;
  /** The matched text with the secret replaced by `REDACTED`. */
  readonly Match?: string;
  readonly Commit?: string;
  readonly Date?: string;
}

function normalise(file: string, base: string): string {
  const path = isAbsolute(file) ? relative(base, file) : file;
  return path.split(sep).join("/");
}

export function treeFinding(entry: GitleaksEntry, base: string): Finding {
  return {
    check: "secrets-tree",
    rule: { id: entry.RuleID, description: entry.Description, helpUri: "https://github.com/gitleaks/gitleaks#rules" },
    severity: "high",
    message: `possible secret (${entry.RuleID}); remove it from the file, rotate it, and pass it through the environment (see docs/security.md)`,
    location: location(entry, normalise(entry.File, base)),
    key: "",
  };
}

export function historyFinding(entry: GitleaksEntry): Finding {
  const commit = entry.Commit ?? "";
  const date = entry.Date === undefined ? "" : ` on ${entry.Date.slice(0, 10)}`;
  return {
    check: "secrets-history",
    rule: { id: entry.RuleID, description: entry.Description, helpUri: "https://github.com/gitleaks/gitleaks#rules" },
    severity: "high",
    message: `possible secret (${entry.RuleID}) committed in ${commit.slice(0, 12)}${date}; deleting it later does not remove it from the history: rotate it`,
    location: location(entry, entry.File),
    key: commit,
  };
}

function location(entry: GitleaksEntry, path: string): Finding["location"] {
  return {
    path,
    line: entry.StartLine,
    ...(entry.StartColumn === undefined ? {} : { column: entry.StartColumn }),
    ...(entry.EndLine === undefined ? {} : { endLine: entry.EndLine }),
    ...(entry.EndColumn === undefined ? {} : { endColumn: entry.EndColumn + 1 }),
  };
}

/** History entries for a secret still in the tree are reported once, by the tree check. */
export function withoutTreeDuplicates(
  history: readonly GitleaksEntry[],
  tree: readonly GitleaksEntry[],
  base: string,
): GitleaksEntry[] {
  const inTree = new Set(tree.map((entry) => `${entry.RuleID}\0${normalise(entry.File, base)}\0${entry.Match ?? ""}`));
  return history.filter((entry) => !inTree.has(`${entry.RuleID}\0${entry.File}\0${entry.Match ?? ""}`));
}

async function gitleaks(context: ScanContext, args: readonly string[], report: string): Promise<GitleaksEntry[]> {
  const program = tool(context, "gitleaks").program;
  const completed = await run(
    [
      program,
      ...args,
      "--no-banner",
      "--no-color",
      "--redact",
      "--exit-code",
      "0",
      "--log-level",
      "warn",
      "--report-format",
      "json",
      "--report-path",
      report,
    ],
    { cwd: context.root },
  );
  if (completed.exitCode !== 0) {
    throw new Error(
      `gitleaks ${args[0] ?? ""} failed (exit code ${completed.exitCode}):\n${tail(completed.stderr + completed.stdout)}`,
    );
  }
  return JSON.parse(readFileSync(report, "utf8")) as GitleaksEntry[];
}

/** Copies the files to scan into a scratch tree, so ignored and excluded ones are never read. */
function copyTree(context: ScanContext, into: string): number {
  let copied = 0;
  for (const path of context.files.paths) {
    if (isExcluded(context.policy, path)) continue;
    const source = join(context.root, path);
    let stats;
    try {
      stats = lstatSync(source);
    } catch {
      continue; // tracked but deleted in the work tree
    }
    if (!stats.isFile()) continue;
    const target = join(into, path);
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(source, target);
    copied += 1;
  }
  return copied;
}

export interface SecretsResults {
  readonly tree: CheckResult;
  readonly history: CheckResult;
}

export async function secretsChecks(context: ScanContext): Promise<SecretsResults> {
  const gitleaksTool = tool(context, "gitleaks");
  const used: Tool = {
    name: gitleaksTool.name,
    version: gitleaksTool.version,
    informationUri: gitleaksTool.informationUri,
  };
  const failed = (message: string): SecretsResults => ({
    tree: { id: "secrets-tree", tool: used, outcome: { kind: "error", message } },
    history: { id: "secrets-history", tool: used, outcome: { kind: "error", message } },
  });
  try {
    const treeDir = join(context.workDir, "tree");
    mkdirSync(treeDir, { recursive: true });
    const copied = copyTree(context, treeDir);
    const treeEntries = await gitleaks(context, ["dir", treeDir], join(context.workDir, "gitleaks-tree.json"));
    const tree: CheckResult = {
      id: "secrets-tree",
      tool: used,
      outcome: {
        kind: "ran",
        findings: treeEntries.map((entry) => treeFinding(entry, treeDir)),
        note: count(copied, "file"),
      },
    };
    if (!context.files.git) {
      return {
        tree,
        history: {
          id: "secrets-history",
          tool: used,
          outcome: { kind: "not-run", reason: "no git history here (not a git work tree)" },
        },
      };
    }
    const revisions = await run(["git", "rev-list", "--all", "--count"], { cwd: context.root });
    const commits = Number.parseInt(revisions.stdout.trim(), 10) || 0;
    if (commits === 0) {
      return {
        tree,
        history: { id: "secrets-history", tool: used, outcome: { kind: "not-run", reason: "no commits yet" } },
      };
    }
    const shallow =
      (await run(["git", "rev-parse", "--is-shallow-repository"], { cwd: context.root })).stdout.trim() === "true";
    const historyEntries = await gitleaks(
      context,
      ["git", "--log-opts=--all", "."],
      join(context.workDir, "gitleaks-history.json"),
    );
    const findings = withoutTreeDuplicates(historyEntries, treeEntries, treeDir).map(historyFinding);
    const note = `${count(commits, "commit")}${shallow ? " (shallow clone: older history not scanned)" : ""}`;
    return { tree, history: { id: "secrets-history", tool: used, outcome: { kind: "ran", findings, note } } };
  } catch (error) {
    return failed(errorMessage(error));
  }
}
