/**
 * The allowlist (`security/allowlist.toml`): paths never scanned, and accepted findings, each
 * with a reason and an expiry date. An expired entry fails the scan until someone looks again.
 *
 * ```toml
 * [[exclude]]
 * paths = ["security/test/fixtures/**"]
 * reason = "planted findings the scanner's own tests look for"
 *
 * [[accept]]
 * check = "dependencies"
 * rule = "GHSA-xxxx-xxxx-xxxx"
 * path = "bun.lock"            # optional glob; any path when absent
 * key = "npm/left-pad@1.1.3"   # optional; the finding's key (package, commit, ..)
 * reason = "not reachable: only used at build time"
 * expires = "2026-06-30"
 * ```
 */
import { existsSync, readFileSync } from "node:fs";

import { CHECK_IDS, type Accepted, type CheckId, type Finding } from "./finding.ts";

export interface Exclusion {
  readonly paths: readonly string[];
  readonly reason: string;
}

export interface Acceptance {
  readonly check: CheckId;
  readonly rule: string;
  readonly path?: string;
  readonly key?: string;
  readonly reason: string;
  /** `YYYY-MM-DD`; the entry holds through that day. */
  readonly expires: string;
  /** 1-based position among the `[[accept]]` entries, for messages. */
  readonly index: number;
}

export interface Policy {
  readonly source: string;
  readonly exclusions: readonly Exclusion[];
  readonly acceptances: readonly Acceptance[];
}

export class PolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PolicyError";
  }
}

const EMPTY = { exclusions: [], acceptances: [] };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isDate(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const date = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(text);
}

/** Reads and checks the allowlist; a missing file is an empty allowlist. */
export function loadPolicy(path: string): Policy {
  if (!existsSync(path)) return { source: path, ...EMPTY };
  let parsed: unknown;
  try {
    parsed = Bun.TOML.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new PolicyError(`cannot parse \`${path}\`: ${error instanceof Error ? error.message : String(error)}`);
  }
  return parsePolicy(path, parsed);
}

export function parsePolicy(source: string, parsed: unknown): Policy {
  const fail = (message: string): never => {
    throw new PolicyError(`\`${source}\`: ${message}`);
  };
  if (!isRecord(parsed)) return fail("not a TOML table");
  for (const key of Object.keys(parsed)) {
    if (key !== "exclude" && key !== "accept")
      fail(`unknown table \`${key}\`; only [[exclude]] and [[accept]] are allowed`);
  }
  const list = (key: string): Record<string, unknown>[] => {
    const value = parsed[key] ?? [];
    if (!Array.isArray(value) || !value.every(isRecord))
      return fail(`\`${key}\` must be an array of tables: [[${key}]]`);
    return value;
  };
  const text = (entry: Record<string, unknown>, key: string, where: string, optional = false): string | undefined => {
    const value = entry[key];
    if (value === undefined && optional) return undefined;
    if (typeof value !== "string" || value.trim() === "") return fail(`${where} needs a non-empty \`${key}\``);
    return value;
  };
  const exclusions = list("exclude").map((entry, index) => {
    const where = `[[exclude]] entry ${index + 1}`;
    const paths = entry["paths"];
    if (
      !Array.isArray(paths) ||
      paths.length === 0 ||
      !paths.every((path) => typeof path === "string" && path !== "")
    ) {
      return fail(`${where} needs \`paths\`: a list of globs`);
    }
    return { paths, reason: text(entry, "reason", where) ?? "" };
  });
  const acceptances = list("accept").map((entry, index): Acceptance => {
    const where = `[[accept]] entry ${index + 1}`;
    for (const key of Object.keys(entry)) {
      if (!["check", "rule", "path", "key", "reason", "expires"].includes(key))
        fail(`${where} has unknown key \`${key}\``);
    }
    const check = text(entry, "check", where) ?? "";
    if (!(CHECK_IDS as readonly string[]).includes(check)) {
      fail(`${where} names unknown check \`${check}\`; checks: ${CHECK_IDS.join(", ")}`);
    }
    const expires = text(entry, "expires", where) ?? "";
    if (!isDate(expires)) fail(`${where} has \`expires = "${expires}"\`; write a date such as "2026-06-30"`);
    const path = text(entry, "path", where, true);
    const key = text(entry, "key", where, true);
    return {
      check: check as CheckId,
      rule: text(entry, "rule", where) ?? "",
      ...(path === undefined ? {} : { path }),
      ...(key === undefined ? {} : { key }),
      reason: text(entry, "reason", where) ?? "",
      expires,
      index: index + 1,
    };
  });
  return { source, exclusions, acceptances };
}

export function isExcluded(policy: Policy, path: string): boolean {
  return policy.exclusions.some(({ paths }) => paths.some((glob) => new Bun.Glob(glob).match(path)));
}

export function matches(acceptance: Acceptance, finding: Finding): boolean {
  return (
    acceptance.check === finding.check &&
    acceptance.rule === finding.rule.id &&
    (acceptance.path === undefined || new Bun.Glob(acceptance.path).match(finding.location.path)) &&
    (acceptance.key === undefined || acceptance.key === finding.key)
  );
}

/** Entries whose expiry date is before `today` (`YYYY-MM-DD`). */
export function expired(policy: Policy, today: string): Acceptance[] {
  return policy.acceptances.filter((acceptance) => acceptance.expires < today);
}

export interface Applied {
  readonly open: Finding[];
  readonly accepted: Accepted[];
  /** Findings in excluded paths: not reported at all. */
  readonly excluded: number;
}

/**
 * Drops findings in excluded paths and sets aside the accepted ones. Expired entries accept
 * nothing: their findings are open again (and the expiry itself fails the scan).
 */
export function applyPolicy(policy: Policy, findings: readonly Finding[], today: string): Applied {
  const open: Finding[] = [];
  const accepted: Accepted[] = [];
  let excluded = 0;
  for (const finding of findings) {
    if (isExcluded(policy, finding.location.path)) {
      excluded += 1;
      continue;
    }
    const acceptance = policy.acceptances.find((entry) => entry.expires >= today && matches(entry, finding));
    if (acceptance === undefined) {
      open.push(finding);
    } else {
      accepted.push({ finding, reason: acceptance.reason, expires: acceptance.expires });
    }
  }
  return { open, accepted, excluded };
}
