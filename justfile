# The one place every command of this project is written down.
#
#   just <recipe>          runs it here, natively (fast local work)
#   cargo xtask <command>  runs the same recipes as a DAG, locally or in pinned
#                          Dagger containers (CI), and proves both paths agree
#
# Recipes describe what they read and write with `[metadata(..)]`; see
# docs/recipe-metadata.md.

# The one pin of each tool, read by both paths. Keep them plain string literals:
# the xtask reads `just_version` before it has a just to ask.
just_version := "1.59.0"
bun_version := "1.4.5"

# The security scanners, one pin each (docs/security.md); `security-tools` installs them
# into .tools/security from their registries (Go module proxy, PyPI, npm).
osv_scanner_version := "2.5.1"
gitleaks_version := "8.30.1"
semgrep_version := "1.185.0"
zizmor_version := "1.32.0"
cyclonedx_npm_version := "6.0.1"
security_pins := "osv-scanner=" + osv_scanner_version + " gitleaks=" + gitleaks_version + " semgrep=" + semgrep_version + " zizmor=" + zizmor_version + " cyclonedx-npm=" + cyclonedx_npm_version

# Release targets, in bun's naming; `build-all` builds each.
targets := "linux-x64 linux-arm64 darwin-x64 darwin-arm64 windows-x64"

# The same shell on every platform (Git Bash on Windows), so a recipe means the same everywhere.
set shell := ["bash", "-euo", "pipefail", "-c"]
set windows-shell := ["bash", "-euo", "pipefail", "-c"]

# A normalised environment, so the bytes of a build do not depend on the machine.
# The xtask sets SOURCE_DATE_EPOCH from the last commit on both paths.
export TZ := "UTC"
export LC_ALL := "C"
export SOURCE_DATE_EPOCH := env("SOURCE_DATE_EPOCH", "0")

# List the recipes.
default:
    @just --list

# Install the locked dependencies.
[group('setup')]
[metadata('inputs', 'package.json', 'bun.lock')]
[metadata('provides', 'node_modules')]
install:
    bun install --frozen-lockfile

# Run the test suite with coverage; junit report in reports/junit.xml.
[group('ci')]
[metadata('inputs', 'package.json', 'bun.lock', 'bunfig.toml', 'tsconfig.json', 'src', 'test')]
[metadata('outputs', 'reports/junit.xml', 'reports/coverage')]
test: install
    bun test --coverage --coverage-reporter=text --coverage-reporter=lcov --coverage-dir=reports/coverage --reporter=junit --reporter-outfile=reports/junit.xml

# Type-check and lint the TypeScript.
[group('ci')]
[metadata('inputs', 'package.json', 'bun.lock', 'tsconfig.json', 'eslint.config.js', 'src', 'test', 'security')]
lint: install
    bun x tsc --noEmit
    bun x eslint .

# Build the release binary for one target into dist/ (written whole or not at all).
[group('ci')]
[metadata('inputs', 'package.json', 'bun.lock', 'tsconfig.json', 'src')]
[metadata('outputs', 'dist/taskmd-{target}*')]
build target: install
    {{ if target =~ '^(' + replace(targets, ' ', '|') + ')$' { '' } else { error("unknown target `" + target + "`; valid targets: " + targets) } }}
    rm -rf .build/{{ target }} && mkdir -p .build/{{ target }} dist
    bun build --compile --minify --target=bun-{{ target }} src/cli.ts --outfile .build/{{ target }}/taskmd-{{ target }}{{ if target =~ 'windows' { '.exe' } else { '' } }}
    mv -f .build/{{ target }}/taskmd-{{ target }}* dist/ && rm -rf .build/{{ target }}

# Build every target of `targets`.
[group('ci')]
[parallel]
build-all: (build "linux-x64") (build "linux-arm64") (build "darwin-x64") (build "darwin-arm64") (build "windows-x64")

# The whole pipeline: lint, test and every build.
[group('ci')]
[parallel]
ci: lint test build-all

# Install the pinned security scanners into .tools/security (skips those already there).
[group('security')]
[metadata('inputs', 'security/scan.ts', 'security/lib')]
[metadata('provides', '.tools/security')]
security-tools:
    bun security/scan.ts install --pins "{{ security_pins }}"

# SARIF, summary and a CycloneDX SBOM go to reports/security (docs/security.md).
# Scan dependencies, secrets, code, workflows and image pins; fail on findings at or above fail_on.
[group('security')]
[metadata('outputs', 'reports/security')]
security-scan fail_on="high": install security-tools
    bun security/scan.ts scan --pins "{{ security_pins }}" --fail-on {{ quote(fail_on) }}

# Test the security scanner on its fixtures, with the real scanners.
[group('security')]
[metadata('inputs', 'package.json', 'bun.lock', 'tsconfig.json', 'justfile', 'security')]
security-test: install security-tools
    SECURITY_PINS="{{ security_pins }}" bun test ./security/test

# Remove build output and reports.
clean:
    rm -rf dist reports .build
