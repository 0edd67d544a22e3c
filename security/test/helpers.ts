/** Shared helpers of the security scanner's tests. */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

import { type Completed, run } from "../lib/process.ts";

/** The repository root. */
export const ROOT = resolve(import.meta.dir, "..", "..");
export const SCANNER = join(ROOT, "security", "scan.ts");
export const FIXTURES = join(ROOT, "security", "test", "fixtures");

/**
 * The justfile's `security_pins`, which `just security-test` passes in; these tests run the real,
 * pinned scanners from `.tools/security`.
 */
export function pins(): string {
  const value = process.env["SECURITY_PINS"];
  if (value === undefined || value === "") {
    throw new Error("SECURITY_PINS is not set: run these tests with `just security-test`");
  }
  return value;
}

/** Runs the scanner's CLI as a separate process, as the recipe does. */
export async function scanner(
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string | undefined> } = {},
): Promise<Completed> {
  return run([process.execPath, SCANNER, ...args], {
    cwd: options.cwd ?? ROOT,
    env: { GITHUB_STEP_SUMMARY: "", SECURITY_ADVISORY_DB: "", ...options.env },
  });
}

export function temporaryDirectory(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `security-test-${prefix}-`));
}

export function remove(path: string): void {
  rmSync(path, { recursive: true, force: true });
}

function git(cwd: string, ...args: string[]): void {
  const result = Bun.spawnSync(
    ["git", "-c", "user.name=fixture", "-c", "user.email=fixture@example.com", "-c", "commit.gpgsign=false", ...args],
    {
      cwd,
      env: { ...process.env, GIT_AUTHOR_DATE: "2026-01-01T00:00:00Z", GIT_COMMITTER_DATE: "2026-01-01T00:00:00Z" },
    },
  );
  if (result.exitCode !== 0) throw new Error(`git ${args.join(" ")} failed: ${result.stderr.toString()}`);
}

/**
 * A fake AWS key pair, assembled here so that no file of this repository holds it whole: the
 * repository's own secret scan stays clean, and no push protection takes it for a real key.
 */
export const FAKE_ACCESS_KEY_ID = ["AKIA", "Z3MSJV4WWNKWW5BN"].join("");
export const FAKE_SECRET_ACCESS_KEY = ["q9TQBL2cg0kj7rHv", "UQq+1sQW3iA7Pqvr0cW0ZsNd"].join("");

function credentials(name: string): string {
  return [
    `// A planted fake secret for the security scanner's tests.`,
    `export const ${name} = {`,
    `  accessKeyId: "${FAKE_ACCESS_KEY_ID}",`,
    `  secretAccessKey: "${FAKE_SECRET_ACCESS_KEY}",`,
    `};`,
    ``,
  ].join("\n");
}

/**
 * The vulnerable fixture project as a git repository of two commits: the first adds a fake
 * secret in `src/credentials.ts`, the second deletes that file (the secret stays in the
 * history) and adds another one in `deploy/settings.ts` (in the tree).
 */
export function vulnerableProject(): string {
  const dir = temporaryDirectory("project");
  cpSync(join(FIXTURES, "vulnerable"), dir, { recursive: true });
  writeFileSync(join(dir, "src", "credentials.ts"), credentials("credentials"));
  git(dir, "init", "--quiet", "--initial-branch=main");
  git(dir, "add", "--all");
  git(dir, "commit", "--quiet", "--message", "add the project");
  rmSync(join(dir, "src", "credentials.ts"));
  mkdirSync(join(dir, "deploy"));
  writeFileSync(join(dir, "deploy", "settings.ts"), credentials("settings"));
  git(dir, "add", "--all");
  git(dir, "commit", "--quiet", "--message", "move the settings");
  return dir;
}

/**
 * A local OSV database in osv-scanner's layout (`osv-scalibr/<ecosystem>/all.zip`) from the
 * advisories under `fixtures/advisories/<ecosystem>/`, plus empty databases for `empty`.
 */
export function advisoryDatabase(empty: readonly string[] = []): string {
  const dir = temporaryDirectory("advisories");
  const source = join(FIXTURES, "advisories");
  const zip = (ecosystem: string, files: readonly string[], cwd: string): void => {
    const target = join(dir, "osv-scalibr", ecosystem);
    mkdirSync(target, { recursive: true });
    const result = Bun.spawnSync(["python3", "-m", "zipfile", "-c", join(target, "all.zip"), ...files], { cwd });
    if (result.exitCode !== 0) throw new Error(`cannot zip the ${ecosystem} advisories: ${result.stderr.toString()}`);
  };
  for (const ecosystem of readdirSync(source)) {
    zip(ecosystem, readdirSync(join(source, ecosystem)), join(source, ecosystem));
  }
  for (const ecosystem of empty) {
    const scratch = temporaryDirectory("empty");
    writeFileSync(join(scratch, "README"), "no advisories\n");
    zip(ecosystem, ["README"], scratch);
    remove(scratch);
  }
  return dir;
}
