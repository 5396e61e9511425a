#!/usr/bin/env bash
# make test: runs each suite (a make target) whatever the others did, reports each, and fails at
# the end if any failed, so one failing suite never hides the others' results.
set -u
cd "$(dirname "$0")/.."
MAKE=${MAKE:-make}
failed=()
summary=()
for suite in "$@"; do
  echo "=== $suite"
  start=$(date +%s)
  if $MAKE --no-print-directory "$suite"; then
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
  echo "make test: ${#failed[@]} of $# suites FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "make test: all $# suites passed"
