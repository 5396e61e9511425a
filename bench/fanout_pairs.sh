#!/bin/bash
# Workload 3 (docs/benchmarks.md) against several server binaries in turn, ROUNDS times
# (A, B, C, A, B, C, ...), with one fixed harness so that only the server differs: svbench from
# HARNESS (default /tmp/base, a checkout of 72e341f with bin/svbench built). Each result line gets
# "label" and "round"; `uptime` goes before each run. Extra svbench flags via FLAGS (e.g. "--rate 2000").
#   bench/fanout_pairs.sh OUT.jsonl ROUNDS label1=path/to/streamviz label2=path/to/streamviz ...
set -u
OUT=$(realpath -m "$1"); ROUNDS=$2; shift 2
SERVERS=()
for lb in "$@"; do SERVERS+=("${lb%%=*}=$(realpath "${lb#*=}")"); done  # before cd: paths may be relative
cd "${HARNESS:-/tmp/base}"
for r in $(seq 1 "$ROUNDS"); do
  for lb in "${SERVERS[@]}"; do
    L=${lb%%=*}; B=${lb#*=}
    echo "{\"uptime\": \"$(uptime | sed 's/^ *//')\", \"server\": \"$L\", \"bin\": \"$B\", \"round\": $r, \"phase\": \"start w3\"}" >> "$OUT"
    bin/svbench fanout --sync 1s ${FLAGS:-} --bin "$B" 2>>"$OUT.log" | sed "s/^{/{\"label\":\"$L\",\"round\":$r,/" >> "$OUT"
  done
done
echo "{\"uptime\": \"$(uptime | sed 's/^ *//')\", \"phase\": \"end\"}" >> "$OUT"
