#!/usr/bin/env bash
# Static checks, all of them run and each reported, failing at the end if any failed:
# gofmt, go vet, staticcheck, tsc --strict over web/ (JSDoc types), ruff and mypy --strict
# over the Python SDK. Tools are pinned and installed on first use: staticcheck from the Go proxy
# into bin/tools, typescript by npm from tests/browser/package.json, ruff and mypy by `make venv`
# (the SDK's test extra). `make lint` runs this; `make test` includes it.
set -uo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
VENV=${VENV:-.venv}
case $VENV in /*) ;; *) VENV=$PWD/$VENV ;; esac  # the Python checks run from python/
STATICCHECK_VERSION=v0.8.2   # staticcheck 2026.2.2
TOOLS=$PWD/bin/tools

failed=()
check() {
  local name=$1; shift
  echo "== lint: $name"
  if "$@"; then echo "   ok: $name"; else echo "   FAILED: $name"; failed+=("$name"); fi
}

gofmt_clean() {
  local out
  out=$(gofmt -l $(git ls-files '*.go'))
  [ -z "$out" ] || { echo "gofmt would change:"; echo "$out"; return 1; }
}

staticcheck_run() {
  if [ ! -x "$TOOLS/staticcheck" ] || ! "$TOOLS/staticcheck" -version | grep -q "${STATICCHECK_VERSION#v}"; then
    GOBIN=$TOOLS $GO install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION" || return 1
  fi
  "$TOOLS/staticcheck" ./...
}

tsc_run() {
  local tsc=tests/browser/node_modules/.bin/tsc
  if [ ! -x "$tsc" ]; then
    (cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error) || return 1
  fi
  "$tsc" -p web
}

# From python/, so pyproject.toml's [tool.ruff] and [tool.mypy] apply with their paths
# (mypy: packages = ["stream_viz"] under mypy_path = "src", strict).
ruff_run() { (cd python && "$VENV/bin/ruff" check .); }
mypy_run() { (cd python && "$VENV/bin/mypy"); }

check gofmt gofmt_clean
check "go vet" $GO vet ./...
check staticcheck staticcheck_run
check "tsc --strict (web/)" tsc_run
check "ruff (python/)" ruff_run
check "mypy --strict (python/src)" mypy_run

if [ ${#failed[@]} -gt 0 ]; then
  echo "lint: failed: ${failed[*]}"
  exit 1
fi
echo "lint: all checks passed"
