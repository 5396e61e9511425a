#!/usr/bin/env bash
# Static checks, all of them run and each reported, failing at the end if any failed:
# gofmt, go vet, staticcheck, tsc --strict over web/ (JSDoc types), ruff and mypy --strict
# over the Python SDK. Tools are pinned and installed on first use (Go proxy, npm, PyPI).
set -uo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
VENV=${VENV:-.venv}
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

check gofmt gofmt_clean
check "go vet" $GO vet ./...
check staticcheck staticcheck_run
check "tsc --strict (web/)" tests/browser/node_modules/.bin/tsc -p web
check "ruff (python/)" "$VENV/bin/ruff" check python
check "mypy --strict (python/src)" "$VENV/bin/mypy" --config-file python/pyproject.toml python/src/stream_viz

if [ ${#failed[@]} -gt 0 ]; then
  echo "lint: failed: ${failed[*]}"
  exit 1
fi
echo "lint: all checks passed"
