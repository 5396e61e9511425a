#!/bin/bash
# How fast table.send_many can go on this machine, and what bounds it (docs/benchmarks.md,
# "send_many: the ceiling on two cores"). RUNS runs of bench/py/sdk.py's send_many phase (ROWS rows,
# default 4,000,000) into OUT.jsonl, an `uptime` line before each; then one run of 8,000,000 rows
# with `perf record -a -g` over 2.5 s of it, its samples split by process and by whose code the
# server runs (bench/py/perf_owners.py) into OUT-owners.json, and that run's own line into OUT.jsonl.
# Needs bin/streamviz and bin/wscount (make build; go build -o bin/wscount ./bench/wscount) and perf.
#   bench/sendmany_ceiling.sh bench/results/sendmany-ceiling-DATE 4
set -eu
OUT=$(realpath -m "$1"); RUNS=${2:-4}; ROWS=${ROWS:-4000000}
cd "$(dirname "$0")/.."
up() { echo "{\"uptime\": \"$(uptime | sed 's/^ *//')\", \"label\": \"$1\"}" >> "$OUT.jsonl"; }
for r in $(seq 1 "$RUNS"); do
  up "run $r"
  .venv/bin/python bench/py/sdk.py --wscount bin/wscount --phases send_many --rows "$ROWS" 2>/dev/null | grep '^{' >> "$OUT.jsonl"
done
up "perf run"
.venv/bin/python bench/py/sdk.py --wscount bin/wscount --phases send_many --rows 8000000 2>/dev/null | grep '^{' > "$OUT.perfrun" &
PY=$!
for _ in $(seq 1 600); do pgrep -x wscount >/dev/null && break; sleep 0.05; done
perf record -a -g -o "$OUT.perf.data" -- sleep 2.5 2>/dev/null
wait "$PY"
cat "$OUT.perfrun" >> "$OUT.jsonl"; rm -f "$OUT.perfrun"
perf script -i "$OUT.perf.data" -F comm,ip,sym 2>/dev/null | python3 bench/py/perf_owners.py > "$OUT-owners.json"
rm -f "$OUT.perf.data"
up "end"
