/**
 * A CycloneDX SBOM of the npm dependencies, with cyclonedx-npm in its reproducible mode (no
 * timestamp, no random serial number): the same `node_modules` gives the same bytes.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

import { errorMessage, tool, type ScanContext } from "../context.ts";
import type { CheckResult } from "../finding.ts";
import { run, tail } from "../process.ts";

export const SBOM_FILE = "sbom.cdx.json";

export async function sbomCheck(context: ScanContext): Promise<CheckResult> {
  const cyclonedx = tool(context, "cyclonedx-npm");
  const result = (outcome: CheckResult["outcome"]): CheckResult => ({
    id: "sbom",
    tool: { name: cyclonedx.name, version: cyclonedx.version, informationUri: cyclonedx.informationUri },
    outcome,
  });
  if (!existsSync(join(context.root, "package.json"))) return result({ kind: "not-run", reason: "no package.json" });
  if (!existsSync(join(context.root, "node_modules"))) {
    return result({
      kind: "error",
      message: "node_modules is missing; run `just install` first: the SBOM lists what is installed",
    });
  }
  const output = join(context.stagingDir, SBOM_FILE);
  try {
    const completed = await run(
      [
        cyclonedx.program,
        "--output-reproducible",
        "--output-format",
        "JSON",
        "--spec-version",
        "1.6",
        "--output-file",
        output,
        "package.json",
      ],
      {
        cwd: context.root,
        env: { npm_config_update_notifier: "false", npm_config_fund: "false", npm_config_audit: "false" },
      },
    );
    if (completed.exitCode !== 0) {
      return result({
        kind: "error",
        message: `cyclonedx-npm failed (exit code ${completed.exitCode}):\n${tail(completed.stderr)}`,
      });
    }
    const bom = JSON.parse(readFileSync(output, "utf8")) as { components?: unknown[] };
    return result({ kind: "ran", findings: [], note: `${bom.components?.length ?? 0} components in ${SBOM_FILE}` });
  } catch (error) {
    return result({ kind: "error", message: errorMessage(error) });
  }
}
