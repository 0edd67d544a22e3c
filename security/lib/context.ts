/** What every check gets: the project, its files, the allowlist and the resolved tools. */
import type { ProjectFiles } from "./files.ts";
import type { Policy } from "./policy.ts";
import type { ResolvedTool, ToolName } from "./tools.ts";

export interface ScanContext {
  /** Absolute path of the scanned project. */
  readonly root: string;
  readonly files: ProjectFiles;
  readonly policy: Policy;
  readonly tools: ReadonlyMap<ToolName, ResolvedTool>;
  /** A local OSV database directory for offline scanning, if given. */
  readonly advisoryDb: string | undefined;
  /** A scratch directory for the tools' raw output, removed after the scan. */
  readonly workDir: string;
  /** The report directory being written (renamed into place at the end). */
  readonly stagingDir: string;
  readonly log: (line: string) => void;
}

export function tool(context: ScanContext, name: ToolName): ResolvedTool {
  const found = context.tools.get(name);
  if (found === undefined) throw new Error(`${name} was not resolved before the scan`);
  return found;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
