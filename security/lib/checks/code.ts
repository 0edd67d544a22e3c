/**
 * Static analysis of the TypeScript and JavaScript with semgrep and the rules kept in this
 * repository (`security/semgrep/*.yml`): local rules only, metrics off, no version check.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { errorMessage, tool, type ScanContext } from "../context.ts";
import { count, type CheckResult, type Finding } from "../finding.ts";
import { isExcluded } from "../policy.ts";
import { run, tail } from "../process.ts";
import { fromWord } from "../severity.ts";

const SOURCE = /\.(ts|tsx|mts|cts|js|jsx|mjs|cjs)$/;

interface SemgrepResult {
  readonly check_id: string;
  readonly path: string;
  readonly start: { readonly line: number; readonly col: number };
  readonly end: { readonly line: number; readonly col: number };
  readonly extra: {
    readonly message: string;
    readonly severity: string;
    readonly metadata?: { readonly severity?: unknown; readonly description?: unknown; readonly references?: unknown };
  };
}

export interface SemgrepOutput {
  readonly results: readonly SemgrepResult[];
  readonly errors?: readonly { readonly level?: string; readonly message?: string; readonly type?: unknown }[];
}

/** semgrep prefixes rule ids with the path of their config directory; ours have no dots. */
export function ruleId(checkId: string): string {
  return checkId.slice(checkId.lastIndexOf(".") + 1);
}

export function parseSemgrep(output: SemgrepOutput): Finding[] {
  return output.results.map((result) => {
    const metadata = result.extra.metadata ?? {};
    const severity =
      (typeof metadata.severity === "string" ? fromWord(metadata.severity) : undefined) ??
      fromWord(result.extra.severity) ??
      "medium";
    const references = Array.isArray(metadata.references)
      ? metadata.references.filter((item) => typeof item === "string")
      : [];
    const message = result.extra.message.trim();
    return {
      check: "code",
      rule: {
        id: ruleId(result.check_id),
        description:
          typeof metadata.description === "string" ? metadata.description : (message.split("\n")[0] ?? message),
        ...(references[0] === undefined ? {} : { helpUri: references[0] }),
      },
      severity,
      message,
      location: {
        path: result.path,
        line: result.start.line,
        column: result.start.col,
        endLine: result.end.line,
        endColumn: result.end.col,
      },
      key: "",
    };
  });
}

export async function codeCheck(context: ScanContext, rulesDir: string): Promise<CheckResult> {
  const semgrep = tool(context, "semgrep");
  const result = (outcome: CheckResult["outcome"]): CheckResult => ({
    id: "code",
    tool: { name: semgrep.name, version: semgrep.version, informationUri: semgrep.informationUri },
    outcome,
  });
  // Named one by one: semgrep would otherwise skip `test/` and the like by default.
  const targets = context.files.paths.filter((path) => SOURCE.test(path) && !isExcluded(context.policy, path));
  if (targets.length === 0) return result({ kind: "not-run", reason: "no TypeScript or JavaScript files" });
  const output = join(context.workDir, "semgrep.json");
  try {
    const completed = await run(
      [
        semgrep.program,
        "scan",
        "--metrics=off",
        "--disable-version-check",
        "--config",
        rulesDir,
        "--json",
        "--output",
        output,
        "--quiet",
        ...targets,
      ],
      { cwd: context.root, env: { SEMGREP_SEND_METRICS: "off", SEMGREP_ENABLE_VERSION_CHECK: "0" } },
    );
    if (completed.exitCode !== 0) {
      return result({
        kind: "error",
        message: `semgrep failed (exit code ${completed.exitCode}):\n${tail(completed.stderr + completed.stdout)}`,
      });
    }
    const parsed = JSON.parse(readFileSync(output, "utf8")) as SemgrepOutput;
    const errors = (parsed.errors ?? []).filter((error) => error.level === "error");
    if (errors.length > 0) {
      return result({
        kind: "error",
        message: `semgrep reported errors: ${errors.map((error) => error.message ?? "").join("; ")}`,
      });
    }
    return result({ kind: "ran", findings: parseSemgrep(parsed), note: count(targets.length, "file") });
  } catch (error) {
    return result({ kind: "error", message: errorMessage(error) });
  }
}
