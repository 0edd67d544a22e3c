/**
 * The scanners: each pinned by a justfile variable, installed from its registry into the
 * project's `.tools/security/<name>-<version>/` (a Go module through the Go module proxy, a
 * PyPI package into its own venv, an npm package), or taken from `PATH` when the version
 * there is the pinned one.
 *
 * An install writes `.complete` into its directory last: a directory without it is the
 * remains of an interrupted install, never used and replaced by the next install.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { run, tail } from "./process.ts";

export const TOOL_NAMES = ["osv-scanner", "gitleaks", "semgrep", "zizmor", "cyclonedx-npm"] as const;

export type ToolName = (typeof TOOL_NAMES)[number];

type Installer =
  | { readonly kind: "go"; readonly module: string; readonly versionVariable?: string }
  | { readonly kind: "pypi"; readonly package: string }
  | { readonly kind: "npm"; readonly package: string };

interface ToolSpec {
  readonly name: ToolName;
  readonly installer: Installer;
  readonly informationUri: string;
  readonly versionArgs: readonly string[];
}

export const TOOL_SPECS: Readonly<Record<ToolName, ToolSpec>> = {
  "osv-scanner": {
    name: "osv-scanner",
    installer: { kind: "go", module: "github.com/google/osv-scanner/v2/cmd/osv-scanner" },
    informationUri: "https://google.github.io/osv-scanner/",
    versionArgs: ["--version"],
  },
  gitleaks: {
    name: "gitleaks",
    // `go install` leaves gitleaks' version unset; the release build sets it like this.
    installer: {
      kind: "go",
      module: "github.com/zricethezav/gitleaks/v8",
      versionVariable: "github.com/zricethezav/gitleaks/v8/version.Version",
    },
    informationUri: "https://github.com/gitleaks/gitleaks",
    versionArgs: ["version"],
  },
  semgrep: {
    name: "semgrep",
    installer: { kind: "pypi", package: "semgrep" },
    informationUri: "https://semgrep.dev",
    versionArgs: ["--version", "--disable-version-check"],
  },
  zizmor: {
    name: "zizmor",
    installer: { kind: "pypi", package: "zizmor" },
    informationUri: "https://docs.zizmor.sh",
    versionArgs: ["--version"],
  },
  "cyclonedx-npm": {
    name: "cyclonedx-npm",
    installer: { kind: "npm", package: "@cyclonedx/cyclonedx-npm" },
    informationUri: "https://github.com/CycloneDX/cyclonedx-node-npm",
    versionArgs: ["--version"],
  },
};

export function isToolName(name: string): name is ToolName {
  return (TOOL_NAMES as readonly string[]).includes(name);
}

/** `name=version` pairs, as the justfile's `security_pins` variable lists them. */
export type Pins = ReadonlyMap<ToolName, string>;

export class ToolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ToolError";
  }
}

export function parsePins(text: string): Pins {
  const pins = new Map<ToolName, string>();
  for (const pair of text.split(/\s+/).filter((word) => word !== "")) {
    const [name = "", version = ""] = pair.split("=", 2);
    if (!isToolName(name) || !/^\d+(\.\d+)*$/.test(version)) {
      throw new ToolError(`bad pin \`${pair}\`; write \`name=version\` with a name from ${TOOL_NAMES.join(", ")}`);
    }
    pins.set(name, version);
  }
  return pins;
}

/** A tool ready to run. */
export interface ResolvedTool {
  readonly name: ToolName;
  readonly version: string;
  readonly program: string;
  readonly informationUri: string;
}

export function toolDir(toolsDir: string, name: ToolName, version: string): string {
  return join(toolsDir, `${name}-${version}`);
}

function programIn(dir: string, spec: ToolSpec): string {
  const windows = process.platform === "win32";
  switch (spec.installer.kind) {
    case "go":
      return join(dir, "bin", windows ? `${spec.name}.exe` : spec.name);
    case "pypi":
      return windows ? join(dir, "Scripts", `${spec.name}.exe`) : join(dir, "bin", spec.name);
    case "npm":
      return join(dir, "node_modules", ".bin", windows ? `${spec.name}.cmd` : spec.name);
  }
}

/** The first dotted version number in what `--version` printed. */
export function parseVersion(output: string): string | undefined {
  return /(\d+\.\d+(?:\.\d+)*)/.exec(output)?.[1];
}

async function versionOf(program: string, spec: ToolSpec): Promise<string | undefined> {
  try {
    const result = await run([program, ...spec.versionArgs], { cwd: process.cwd() });
    return result.exitCode === 0 ? parseVersion(result.stdout + result.stderr) : undefined;
  } catch {
    return undefined;
  }
}

/** How to install the pinned tool by hand, for the message that says it is missing. */
export function manualInstall(name: ToolName, version: string): string {
  const installer = TOOL_SPECS[name].installer;
  switch (installer.kind) {
    case "go":
      return `go install ${installer.module}@v${version}`;
    case "pypi":
      return `pip install ${installer.package}==${version}`;
    case "npm":
      return `npm install --global ${installer.package}@${version}`;
  }
}

/**
 * The pinned `name`: from the tools directory, else from `PATH` at the pinned version.
 * Throws a `ToolError` saying how to install it when neither has it.
 */
export async function resolveTool(toolsDir: string, name: ToolName, version: string): Promise<ResolvedTool> {
  const spec = TOOL_SPECS[name];
  const dir = toolDir(toolsDir, name, version);
  const installed = programIn(dir, spec);
  if (existsSync(join(dir, ".complete")) && existsSync(installed)) {
    const found = await versionOf(installed, spec);
    if (found !== version) {
      throw new ToolError(
        `\`${installed}\` reports version ${found ?? "(none)"}, not the pinned ${version}; delete \`${dir}\` and run \`just security-tools\``,
      );
    }
    return { name, version, program: installed, informationUri: spec.informationUri };
  }
  const onPath = Bun.which(name);
  if (onPath !== null && (await versionOf(onPath, spec)) === version) {
    return { name, version, program: onPath, informationUri: spec.informationUri };
  }
  throw new ToolError(
    `${name} ${version} is not installed: run \`just security-tools\` to install every pinned scanner into \`${toolsDir}\`, or install it yourself with \`${manualInstall(name, version)}\``,
  );
}

/**
 * Installs each pinned tool that is not installed yet, all at once (the Go builds use the CPU,
 * the others mostly wait on their registry); returns one line per tool, in pin order.
 */
export async function installTools(toolsDir: string, pins: Pins, log: (line: string) => void): Promise<string[]> {
  mkdirSync(toolsDir, { recursive: true });
  const installOne = async (name: ToolName, version: string): Promise<string> => {
    const spec = TOOL_SPECS[name];
    const dir = toolDir(toolsDir, name, version);
    if (existsSync(join(dir, ".complete")) && existsSync(programIn(dir, spec))) {
      return `${name} ${version}: installed (${dir})`;
    }
    rmSync(dir, { recursive: true, force: true });
    log(`installing ${name} ${version} into ${dir}`);
    const started = performance.now();
    await install(spec, version, dir);
    if (!existsSync(programIn(dir, spec))) {
      throw new ToolError(`installing ${name} ${version} produced no \`${programIn(dir, spec)}\``);
    }
    writeFileSync(join(dir, ".complete"), `${name} ${version}\n`);
    const seconds = ((performance.now() - started) / 1000).toFixed(0);
    log(`installed ${name} ${version} in ${seconds}s`);
    return `${name} ${version}: installed now in ${seconds}s (${dir})`;
  };
  const results = await Promise.allSettled([...pins].map(([name, version]) => installOne(name, version)));
  const failures = results.flatMap((result) => (result.status === "rejected" ? [errorText(result.reason)] : []));
  if (failures.length > 0) throw new ToolError(failures.join("\n"));
  return results.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function need(program: string, purpose: string): string {
  const found = Bun.which(program);
  if (found === null) {
    throw new ToolError(`\`${program}\` is not on PATH; it is needed to ${purpose}`);
  }
  return found;
}

async function step(argv: readonly string[], what: string, env?: Record<string, string>): Promise<void> {
  const result = await run(argv, { cwd: process.cwd(), ...(env === undefined ? {} : { env }) });
  if (result.exitCode !== 0) {
    throw new ToolError(`${what} failed (exit code ${result.exitCode}):\n${tail(result.stderr + result.stdout, 10)}`);
  }
}

async function install(spec: ToolSpec, version: string, dir: string): Promise<void> {
  const installer = spec.installer;
  const manual = `install it yourself with \`${manualInstall(spec.name, version)}\``;
  try {
    switch (installer.kind) {
      case "go": {
        const go = need("go", `build ${spec.name} from the Go module proxy; install Go, or ${manual}`);
        const ldflags = [
          "-s",
          "-w",
          ...(installer.versionVariable === undefined ? [] : [`-X=${installer.versionVariable}=v${version}`]),
        ];
        await step(
          [go, "install", "-trimpath", `-ldflags=${ldflags.join(" ")}`, `${installer.module}@v${version}`],
          `go install ${installer.module}@v${version}`,
          { GOBIN: join(dir, "bin") },
        );
        return;
      }
      case "pypi": {
        const python =
          Bun.which("python3") ?? need("python", `install ${spec.name} from PyPI; install Python 3, or ${manual}`);
        await step([python, "-m", "venv", dir], `${python} -m venv ${dir}`);
        const pip = process.platform === "win32" ? join(dir, "Scripts", "pip.exe") : join(dir, "bin", "pip");
        await step(
          [pip, "install", "--quiet", "--disable-pip-version-check", "--no-input", `${installer.package}==${version}`],
          `pip install ${installer.package}==${version}`,
        );
        return;
      }
      case "npm": {
        const npm = need("npm", `install ${spec.name} from npm; install Node.js with npm, or ${manual}`);
        await step(
          // No install scripts and no optional native add-ons: nothing is built or fetched from
          // outside the registry, and the JSON SBOM needs neither.
          [
            npm,
            "install",
            "--prefix",
            dir,
            "--no-save",
            "--no-package-lock",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            "--ignore-scripts",
            "--omit=optional",
            `${installer.package}@${version}`,
          ],
          `npm install ${installer.package}@${version}`,
        );
        return;
      }
    }
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
