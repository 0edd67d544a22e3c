/**
 * GitHub Actions workflows and actions with zizmor, offline (no GitHub API calls). A project
 * without workflows has nothing for this check: it says so rather than pass.
 */
import { errorMessage, tool, type ScanContext } from "../context.ts";
import { count, type CheckResult, type Finding } from "../finding.ts";
import { isExcluded } from "../policy.ts";
import { run, tail } from "../process.ts";
import { fromWord } from "../severity.ts";

const WORKFLOW = /^\.github\/workflows\/[^/]+\.ya?ml$|(^|\/)action\.ya?ml$/;

interface ZizmorLocation {
  readonly symbolic: {
    readonly key: { readonly Local?: { readonly given_path?: string; readonly verbatim_path?: string } };
    readonly annotation?: string;
    readonly kind?: string;
  };
  readonly concrete: {
    readonly location: {
      readonly start_point: { readonly row: number; readonly column: number };
      readonly end_point: { readonly row: number; readonly column: number };
    };
  };
}

export interface ZizmorFinding {
  readonly ident: string;
  readonly desc: string;
  readonly url?: string;
  readonly determinations: { readonly severity: string; readonly confidence?: string };
  readonly locations: readonly ZizmorLocation[];
  readonly ignored?: boolean;
}

export function parseZizmor(output: readonly ZizmorFinding[]): Finding[] {
  const findings: Finding[] = [];
  for (const finding of output) {
    if (finding.ignored === true) continue;
    const primary = finding.locations.find((location) => location.symbolic.kind === "Primary") ?? finding.locations[0];
    const local = primary?.symbolic.key.Local;
    const path = local?.verbatim_path ?? local?.given_path;
    if (primary === undefined || path === undefined) continue;
    const { start_point: start, end_point: end } = primary.concrete.location;
    const annotation = primary.symbolic.annotation;
    const confidence = finding.determinations.confidence;
    findings.push({
      check: "workflows",
      rule: {
        id: finding.ident,
        description: finding.desc,
        ...(finding.url === undefined ? {} : { helpUri: finding.url }),
      },
      severity: fromWord(finding.determinations.severity) ?? "medium",
      message: `${finding.desc}${annotation === undefined || annotation === "" ? "" : `: ${annotation}`}${confidence === undefined ? "" : ` (confidence: ${confidence.toLowerCase()})`}`,
      // zizmor counts rows and columns from 0.
      location: {
        path: path.split("\\").join("/"),
        line: start.row + 1,
        column: start.column + 1,
        endLine: end.row + 1,
        endColumn: end.column + 1,
      },
      key: "",
    });
  }
  return findings;
}

export async function workflowsCheck(context: ScanContext): Promise<CheckResult> {
  const zizmor = tool(context, "zizmor");
  const result = (outcome: CheckResult["outcome"]): CheckResult => ({
    id: "workflows",
    tool: { name: zizmor.name, version: zizmor.version, informationUri: zizmor.informationUri },
    outcome,
  });
  const targets = context.files.paths.filter((path) => WORKFLOW.test(path) && !isExcluded(context.policy, path));
  if (targets.length === 0) return result({ kind: "not-run", reason: "no workflows under .github/workflows" });
  try {
    const completed = await run([zizmor.program, "--offline", "--no-progress", "--format", "json", ...targets], {
      cwd: context.root,
      env: { NO_COLOR: "1" },
    });
    // 0: no findings; 10 + the highest severity (11..14) when there are some; others: errors.
    if (completed.exitCode !== 0 && (completed.exitCode < 10 || completed.exitCode > 14)) {
      return result({
        kind: "error",
        message: `zizmor failed (exit code ${completed.exitCode}):\n${tail(completed.stderr)}`,
      });
    }
    const findings = parseZizmor(JSON.parse(completed.stdout) as ZizmorFinding[]);
    return result({ kind: "ran", findings, note: count(targets.length, "file") });
  } catch (error) {
    return result({ kind: "error", message: errorMessage(error) });
  }
}
