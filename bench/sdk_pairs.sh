#!/bin/bash
# The SDK benchmark (bench/py/sdk.py) for several builds in turn, ROUNDS times (A, B, A, B, ...),
# with this checkout's harness and WebSocket client, so only the SDK and the server differ. A build
# is label=ROOT, ROOT holding python/src (the SDK) and bin/streamviz (the server), e.g. a
# `git worktree add` of the old commit after `make build`. Each result line gets "label" and
# "round"; an `uptime` line goes before each run. Extra bench/py/sdk.py flags via FLAGS.
#   FLAGS="--phases send_many --rows 4000000" bench/sdk_pairs.sh OUT.jsonl 3 old=/tmp/old new=.
set -u
OUT=$(realpath -m "$1"); ROUNDS=$2; shift 2
cd "$(dirname "$0")/.."
BUILDS=()
for lb in "$@"; do BUILDS+=("${lb%%=*}=$(realpath "${lb#*=}")"); done
for r in $(seq 1 "$ROUNDS"); do
  for lb in "${BUILDS[@]}"; do
    L=${lb%%=*}; R=${lb#*=}
    echo "{\"uptime\": \"$(uptime | sed 's/^ *//')\", \"label\": \"$L\", \"root\": \"$R\", \"round\": $r, \"flags\": \"${FLAGS:-}\"}" >> "$OUT"
    PYTHONPATH=$R/python/src STREAMVIZ_BIN=$R/bin/streamviz .venv/bin/python bench/py/sdk.py --wscount bin/wscount ${FLAGS:-} \
      2>>"$OUT.log" | grep '^{' | sed "s/^{/{\"label\":\"$L\",\"round\":$r,/" >> "$OUT"
  done
done
echo "{\"uptime\": \"$(uptime | sed 's/^ *//')\", \"phase\": \"end\"}" >> "$OUT"
