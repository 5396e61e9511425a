#!/bin/bash
# What a subscription costs Pathway before the SDK does anything (docs/benchmarks.md, "Pathway
# overhead at every shape"): rounds of pw.io.null, the engine's per-change callback doing nothing
# (callback), that callback keeping each change as the SDK did (store) and as it does, on the
# table's stream of changes, table.to_stream() (stream), pw.io.subscribe doing
# nothing (subscribe), the engine's snapshot export read once a second (export), and the SDK's
# widgets (sv), one after another so each round sees the same
# load; prints each sink's CPU and wall ratios to pw.io.null, per round and their medians.
# Run from the repository root after `make build`:
#   bench/pathway_floors.sh [OUT]   (ROWS=400000 ROUNDS=3 SHAPES="hot windows bench" by default)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-bench/results/pathway-floors-$(date -u +%Y%m%d).jsonl}
export PYTHONPATH=${PYTHONPATH:-$PWD/python/src} STREAMVIZ_BIN=${STREAMVIZ_BIN:-$PWD/bin/streamviz}
PY=.venv/bin/python
ROWS=${ROWS:-400000}
ROUNDS=${ROUNDS:-3}
SHAPES=${SHAPES:-hot windows bench}
one() { nice "$PY" bench/py/pathway_overhead.py --rows "$ROWS" "$@" 2>/dev/null | tail -1 | tee -a "$OUT"; }
for shape in $SHAPES; do
  for _ in $(seq "$ROUNDS"); do
    one --shape "$shape"
    for sink in callback store stream subscribe export; do one --shape "$shape" --sink "$sink"; done
    one --shape "$shape" --with-sv
  done
done
"$PY" - "$OUT" "$ROWS" <<'PY'
import json, statistics, sys
runs = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
runs = [r for r in runs if r["rows"] == int(sys.argv[2]) and "sink" in r]
for shape in ("hot", "windows", "bench"):
    base = None
    ratios: dict[str, list[tuple[float, float]]] = {}
    for r in runs:
        if r["shape"] != shape:
            continue
        if r["sink"] == "null":
            base = r
        elif base is not None:
            ratios.setdefault(r["sink"], []).append((r["cpu_total_s"] / base["cpu_total_s"], r["wall_s"] / base["wall_s"]))
    for sink, rs in ratios.items():
        cpu, wall = [c for c, _ in rs], [w for _, w in rs]
        print(f"{shape:8} {sink:9} CPU {statistics.median(cpu):.2f}x {[round(x, 2) for x in cpu]}  "
              f"wall {statistics.median(wall):.2f}x {[round(x, 2) for x in wall]}")
PY
