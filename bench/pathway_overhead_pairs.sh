#!/bin/bash
# Workload 2 alone (docs/benchmarks.md, "Pathway overhead at every shape"): three alternating
# pairs per shape, pw.io.null then the SDK's widgets, and, with --rows-way, one more pair per
# shape of pw.io.null then Pathway's own pw.io.nats.write (--via rows). Appends every raw line,
# with the load average before and after each run and the machine's uptime line at the start and
# the end, to the file given (default
# bench/results/pathway-overhead-<date>.jsonl) and prints the CPU and wall ratios per pair.
# Run from the repository root after `make build`: bench/pathway_overhead_pairs.sh [--rows-way] [OUT]
# (ROWS=100000 for a quick look; the documented figures are at the default 1,000,000.)
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS_WAY=0
if [ "${1:-}" = "--rows-way" ]; then ROWS_WAY=1; shift; fi
OUT=${1:-bench/results/pathway-overhead-$(date -u +%Y%m%d).jsonl}
export PYTHONPATH=${PYTHONPATH:-$PWD/python/src} STREAMVIZ_BIN=${STREAMVIZ_BIN:-$PWD/bin/streamviz}
PY=.venv/bin/python
ROWS=${ROWS:-1000000}
one() { nice "$PY" bench/py/pathway_overhead.py --rows "$ROWS" "$@" 2>/dev/null | tail -1 | tee -a "$OUT"; }
mark() { echo "{\"uptime\": \"$(uptime)\", \"head\": \"$(git rev-parse --short HEAD 2>/dev/null)\", \"phase\": \"$1\"}" >> "$OUT"; }
mark "pairs start"
for shape in hot bench windows; do
  for _ in 1 2 3; do
    one --shape "$shape"
    one --shape "$shape" --with-sv
  done
done
if [ "$ROWS_WAY" = 1 ]; then
  for shape in hot bench windows; do
    one --shape "$shape"
    one --shape "$shape" --with-sv --via rows
  done
fi
mark "pairs end"
"$PY" - "$OUT" <<'PY'
import json, statistics, sys
runs = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
runs = [r for r in runs if "shape" in r]  # not the uptime marks
for shape in ("bench", "hot", "windows"):
    for via in ("sdk", "rows"):
        pairs = [(a, b) for a, b in zip(runs, runs[1:]) if a["shape"] == b["shape"] == shape
                 and not a["with_sv"] and b["with_sv"] and b.get("via", "sdk") == via]
        if pairs:
            cpu = [b["cpu_total_s"] / a["cpu_total_s"] for a, b in pairs]
            wall = [b["wall_s"] / a["wall_s"] for a, b in pairs]
            print(f"{shape:8} {via:4} CPU {statistics.median(cpu):.2f}x {[round(x, 2) for x in cpu]}  "
                  f"wall {statistics.median(wall):.2f}x {[round(x, 2) for x in wall]}")
PY
