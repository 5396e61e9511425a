#!/usr/bin/env bash
# make test: runs each suite (a make target) whatever the others did, reports each, and fails at
# the end if any failed, so one failing suite never hides the others' results.
set -u
cd "$(dirname "$0")/.."
MAKE=${MAKE:-make}
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
failed=()
summary=()
for suite in "$@"; do
  echo "=== $suite"
  start=$(date +%s)
  # Each suite's output is kept too, so the failures are repeated after the summary: a CI log
  # shown by its head and tail alone still says which assertion failed and why.
  if $MAKE --no-print-directory "$suite" 2>&1 | tee "$logs/$suite.log"; (( PIPESTATUS[0] == 0 )); then
    status=ok
  else
    status=FAILED
    failed+=("$suite")
  fi
  took=$(( $(date +%s) - start ))
  echo "=== $suite: $status (${took}s)"
  summary+=("$(printf '%-14s %-6s %5ss' "$suite" "$status" "$took")")
done
echo "=== summary"
printf '  %s\n' "${summary[@]}"
if ((${#failed[@]})); then
  for suite in "${failed[@]}"; do
    echo "=== why $suite failed (its failure lines, with what follows each)"
    grep -E -A12 -- '^ *not ok|--- FAIL|^FAIL|panic:|^E  |Error:|AssertionError|_test\.go:[0-9]+:|^FAILED|^ERROR' "$logs/$suite.log" | head -150
  done
  echo "make test: ${#failed[@]} of $# suites FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "make test: all $# suites passed"
