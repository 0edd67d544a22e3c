/** The files of the scanned project, as git sees them. */
import { readdirSync } from "node:fs";
import { join, relative, sep } from "node:path";

import { compareText } from "./finding.ts";
import { run } from "./process.ts";

/** Directories never scanned when the project is not a git work tree: installs and output. */
const SKIPPED_DIRECTORIES = new Set([
  ".git",
  "node_modules",
  "target",
  ".tools",
  "dist",
  "reports",
  ".build",
  "coverage",
]);

export interface ProjectFiles {
  /** Relative paths with `/` separators, sorted. */
  readonly paths: readonly string[];
  /** Whether the project is a git work tree (so that its history can be scanned). */
  readonly git: boolean;
}

/**
 * Tracked files and untracked ones that are not ignored: what a commit could contain. Outside
 * a git work tree (a container without `.git`), every file except installs and build output.
 */
export async function listFiles(root: string): Promise<ProjectFiles> {
  if (await isGitWorkTree(root)) {
    const result = await run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: root });
    if (result.exitCode !== 0) {
      throw new Error(`\`git ls-files\` failed in \`${root}\`: ${result.stderr.trim()}`);
    }
    const paths = [...new Set(result.stdout.split("\0").filter((path) => path !== ""))];
    return { paths: paths.sort(compareText), git: true };
  }
  return { paths: walk(root, root).sort(compareText), git: false };
}

export async function isGitWorkTree(root: string): Promise<boolean> {
  if (Bun.which("git") === null) return false;
  const result = await run(["git", "rev-parse", "--is-inside-work-tree"], { cwd: root });
  return result.exitCode === 0 && result.stdout.trim() === "true";
}

function walk(root: string, dir: string): string[] {
  const paths: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRECTORIES.has(entry.name)) paths.push(...walk(root, path));
    } else if (entry.isFile()) {
      paths.push(relative(root, path).split(sep).join("/"));
    }
  }
  return paths;
}

/** The 1-based line of the first occurrence of `needle` in `text`, or 1. */
export function lineOf(text: string, needle: string): number {
  const index = text.indexOf(needle);
  return index < 0 ? 1 : text.slice(0, index).split("\n").length;
}
