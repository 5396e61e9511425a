#!/bin/bash
# Two SDKs against pw.io.null in the same load window (docs/benchmarks.md, "Pathway overhead at
# every shape"): rounds of pw.io.null, the SDK of this checkout, then the SDK of REF (its
# python/src, from git), for each shape; prints each SDK's CPU and wall ratios to the round's
# pw.io.null, per round and their medians. Run from the repository root after `make build`:
#   bench/pathway_ab.sh REF [OUT]   (ROWS=1000000 ROUNDS=3 SHAPES="hot bench" by default)
set -euo pipefail
cd "$(dirname "$0")/.."
REF=${1:?a git ref to compare with, e.g. main~3}
OUT=${2:-bench/results/pathway-ab-$(date -u +%Y%m%d).jsonl}
ROWS=${ROWS:-1000000}
ROUNDS=${ROUNDS:-3}
SHAPES=${SHAPES:-hot bench}
OLD=$(mktemp -d)
trap 'rm -rf "$OLD"' EXIT
git archive "$REF" python/src | tar -x -C "$OLD"
export STREAMVIZ_BIN=${STREAMVIZ_BIN:-$PWD/bin/streamviz}
PY=.venv/bin/python
echo "{\"uptime\": \"$(uptime)\", \"head\": \"$(git rev-parse --short HEAD)\", \"ref\": \"$(git rev-parse --short "$REF")\", \"phase\": \"start\"}" >> "$OUT"
one() {  # SDK-LABEL PYTHONPATH ARGS...
  local label=$1 path=$2
  shift 2
  PYTHONPATH=$path nice "$PY" bench/py/pathway_overhead.py --rows "$ROWS" "$@" 2>/dev/null | tail -1 |
    "$PY" -c 'import json, sys; r = json.loads(sys.stdin.read()); r["sdk"] = sys.argv[1]; print(json.dumps(r))' "$label" | tee -a "$OUT"
}
for shape in $SHAPES; do
  for _ in $(seq "$ROUNDS"); do
    one null "$PWD/python/src" --shape "$shape"
    one head "$PWD/python/src" --shape "$shape" --with-sv
    one ref "$OLD/python/src" --shape "$shape" --with-sv
  done
done
echo "{\"uptime\": \"$(uptime)\", \"phase\": \"end\"}" >> "$OUT"
"$PY" - "$OUT" "$ROWS" <<'PY'
import json, statistics, sys
runs = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
runs = [r for r in runs if r.get("rows") == int(sys.argv[2]) and "sdk" in r]
for shape in ("hot", "bench", "windows"):
    base = None
    ratios: dict[str, list[tuple[float, float]]] = {}
    for r in runs:
        if r["shape"] != shape:
            continue
        if r["sdk"] == "null":
            base = r
        elif base is not None:
            ratios.setdefault(r["sdk"], []).append((r["cpu_total_s"] / base["cpu_total_s"], r["wall_s"] / base["wall_s"]))
    for sdk, rs in ratios.items():
        cpu, wall = [c for c, _ in rs], [w for _, w in rs]
        print(f"{shape:8} {sdk:5} CPU {statistics.median(cpu):.2f}x {[round(x, 2) for x in cpu]}  "
              f"wall {statistics.median(wall):.2f}x {[round(x, 2) for x in wall]}")
PY
