/**
 * The pinning rule: every container image by digest, every action by full commit SHA.
 *
 * Written here rather than run by a tool: it reads the justfile's `image` metadata (through
 * `just --dump`), Dockerfiles, compose files and GitHub workflows and actions, line by line,
 * so each finding has its exact line.
 */
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";

import { lineOf } from "../files.ts";
import { count, type CheckResult, type Finding, type Rule } from "../finding.ts";
import { run, tail } from "../process.ts";

export const IMAGE_RULE: Rule = {
  id: "image-not-pinned",
  description: "A container image referenced by tag or name only, not by an immutable digest",
};

export const ACTION_RULE: Rule = {
  id: "action-not-pinned",
  description: "A GitHub Action referenced by tag or branch, not by a full commit SHA",
};

const DIGEST = /@sha256:[0-9a-f]{64}$/;
const COMMIT_SHA = /^[0-9a-f]{40}$/;

/** Whether an image reference names an immutable digest. */
export function isPinnedImage(reference: string): boolean {
  return DIGEST.test(reference);
}

function imageFinding(path: string, line: number, column: number, image: string, where: string): Finding {
  return {
    check: "pinning",
    rule: IMAGE_RULE,
    severity: "high",
    message: `${where} uses image \`${image}\` without a digest; pin it as \`${image.replace(/@.*$/, "")}@sha256:<digest>\` so every run gets the same bytes`,
    location: { path, line, column },
    key: image,
  };
}

function isWorkflowFile(path: string): boolean {
  return (
    /^\.github\/workflows\/[^/]+\.ya?ml$/.test(path) ||
    /^\.github\/actions\/.+\/action\.ya?ml$/.test(path) ||
    /(^|\/)action\.ya?ml$/.test(path)
  );
}

function isComposeFile(path: string): boolean {
  return /(^|\/)(docker-)?compose(\.[\w-]+)?\.ya?ml$/.test(basename(path));
}

function isDockerfile(path: string): boolean {
  const name = basename(path);
  return /^(Dockerfile|Containerfile)(\.[\w-]+)?$/.test(name) || /\.(Dockerfile|dockerfile|Containerfile)$/.test(name);
}

/** A YAML scalar on one line: unquoted, or in single or double quotes; comments dropped. */
function scalar(raw: string): string {
  const text = raw.trim();
  const quoted = /^(['"])(.*?)\1/.exec(text);
  if (quoted !== null) return quoted[2] ?? "";
  return text.replace(/\s+#.*$/, "").trim();
}

/** `uses:` and image references in a workflow, an action or a compose file. */
export function scanYaml(path: string, text: string, workflow: boolean): Finding[] {
  const findings: Finding[] = [];
  text.split("\n").forEach((content, index) => {
    const line = index + 1;
    const uses = /^(\s*(?:-\s+)?uses:\s*)(.+)$/.exec(content);
    if (workflow && uses !== null) {
      const value = scalar(uses[2] ?? "");
      const column = (uses[1] ?? "").length + 1;
      if (value.startsWith("./") || value === "") return;
      if (value.startsWith("docker://")) {
        const image = value.slice("docker://".length);
        if (!isPinnedImage(image)) findings.push(imageFinding(path, line, column, image, "step"));
        return;
      }
      const at = value.lastIndexOf("@");
      const ref = at < 0 ? "" : value.slice(at + 1);
      if (!COMMIT_SHA.test(ref)) {
        const action = at < 0 ? value : value.slice(0, at);
        findings.push({
          check: "pinning",
          rule: ACTION_RULE,
          severity: "high",
          message: `action \`${value}\` is not pinned by commit SHA; use \`${action}@<40-hex-commit> # ${ref === "" ? "tag" : ref}\` so a moved tag cannot change what runs`,
          location: { path, line, column },
          key: value,
        });
      }
      return;
    }
    const image = /^(\s*(?:-\s+)?(?:image|container):\s*)(.+)$/.exec(content);
    if (image !== null) {
      const value = scalar(image[2] ?? "");
      // `container:` with nested keys, or an `image:` key of another meaning, has no value here.
      if (value === "" || value.startsWith("{") || value.startsWith("|") || value.startsWith(">")) return;
      if (!isPinnedImage(value)) {
        findings.push(imageFinding(path, line, (image[1] ?? "").length + 1, value, workflow ? "job" : "service"));
      }
    }
  });
  return findings;
}

/** `FROM` lines of a Dockerfile; stages built earlier in the same file and `scratch` are fine. */
export function scanDockerfile(path: string, text: string): Finding[] {
  const findings: Finding[] = [];
  const stages = new Set<string>(["scratch"]);
  text.split("\n").forEach((content, index) => {
    const from = /^(\s*FROM\s+(?:--\S+\s+)*)(\S+)(?:\s+AS\s+(\S+))?/i.exec(content);
    if (from === null) return;
    const image = from[2] ?? "";
    if (!stages.has(image.toLowerCase()) && !isPinnedImage(image)) {
      findings.push(imageFinding(path, index + 1, (from[1] ?? "").length + 1, image, "`FROM`"));
    }
    if (from[3] !== undefined) stages.add(from[3].toLowerCase());
  });
  return findings;
}

interface Dump {
  readonly recipes?: Readonly<Record<string, { readonly attributes?: readonly unknown[] }>>;
  readonly assignments?: Readonly<Record<string, unknown>>;
}

/** Images of `[metadata('image', ..)]` attributes, each with the recipe that names it. */
export function metadataImages(dump: Dump): { readonly image: string; readonly recipe: string }[] {
  const images: { image: string; recipe: string }[] = [];
  for (const [recipe, { attributes = [] }] of Object.entries(dump.recipes ?? {})) {
    for (const attribute of attributes) {
      if (typeof attribute !== "object" || attribute === null || !("metadata" in attribute)) continue;
      const values: unknown = attribute.metadata;
      if (Array.isArray(values) && values[0] === "image" && typeof values[1] === "string") {
        images.push({ image: values[1], recipe });
      }
    }
  }
  return images;
}

/** Variables that hold an image by their name: `image`, `bun_image`, `default-image`. */
export function imageVariables(dump: Dump): string[] {
  return Object.keys(dump.assignments ?? {}).filter((name) => /image$/i.test(name));
}

async function scanJustfile(root: string): Promise<Finding[]> {
  const just = Bun.which("just");
  if (just === null) {
    throw new Error("`just` is not on PATH; the pinning rule reads the justfile's `image` metadata with it");
  }
  const justOutput = async (args: readonly string[]): Promise<string> => {
    const result = await run([just, ...args], { cwd: root });
    if (result.exitCode !== 0) {
      throw new Error(`\`just ${args.join(" ")}\` failed: ${tail(result.stderr)}`);
    }
    return result.stdout;
  };
  const dump = JSON.parse(await justOutput(["--dump", "--dump-format", "json"])) as Dump;
  const text = readFileSync(join(root, "justfile"), "utf8");
  const findings = metadataImages(dump)
    .filter(({ image }) => !isPinnedImage(image))
    .map(({ image, recipe }) => imageFinding("justfile", lineOf(text, image), 1, image, `recipe \`${recipe}\``));
  for (const name of imageVariables(dump)) {
    const image = await justOutput(["--evaluate", name]);
    if (!isPinnedImage(image)) {
      findings.push(imageFinding("justfile", lineOf(text, `${name} :=`), 1, image, `variable \`${name}\``));
    }
  }
  return findings;
}

export async function pinningCheck(root: string, paths: readonly string[]): Promise<CheckResult> {
  try {
    const findings: Finding[] = [];
    let files = 0;
    for (const path of paths) {
      const workflow = isWorkflowFile(path);
      if (workflow || isComposeFile(path)) {
        findings.push(...scanYaml(path, readFileSync(join(root, path), "utf8"), workflow));
        files += 1;
      } else if (isDockerfile(path)) {
        findings.push(...scanDockerfile(path, readFileSync(join(root, path), "utf8")));
        files += 1;
      }
    }
    if (paths.includes("justfile")) {
      findings.push(...(await scanJustfile(root)));
      files += 1;
    }
    return { id: "pinning", tool: null, outcome: { kind: "ran", findings, note: count(files, "file") } };
  } catch (error) {
    return {
      id: "pinning",
      tool: null,
      outcome: { kind: "error", message: error instanceof Error ? error.message : String(error) },
    };
  }
}
