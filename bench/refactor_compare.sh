#!/bin/bash
# Workloads 1, 3, 4 and 6 (docs/benchmarks.md) against one server binary, with a fixed harness, so
# that two runs differ only in the server: the harness (bench/py/ingest.py, svbench, wscount) and the
# Python SDK come from HARNESS, a checkout with its bin/svbench and bin/wscount built
# (git archive 72e341f | tar -x -C $HARNESS; go build -o bin/svbench ./bench/go; go build -o
# bin/wscount ./bench/wscount). Each workload's lines, and `uptime` before each, go to OUT.
#   HARNESS=/tmp/base bench/refactor_compare.sh path/to/streamviz LABEL OUT.jsonl
set -u
BIN=$1; LABEL=$2; OUT=$(realpath -m "$3")
H=${HARNESS:?set HARNESS to the harness checkout}
PY=${PY:-$(dirname "$0")/../.venv/bin/python}
PY=$(realpath -s "$PY")  # -s: a venv's python is a symlink; resolving it loses the venv
cd "$H"
export STREAMVIZ_BIN=$BIN PYTHONPATH=$H/python/src
rec() { echo "{\"uptime\": \"$(uptime | sed 's/^ *//')\", \"server\": \"$LABEL\", \"bin\": \"$BIN\", \"phase\": \"$1\"}" >> "$OUT"; }
rec "start w1"
"$PY" bench/py/ingest.py --system streamviz --points 1000000 --wscount bin/wscount >> "$OUT"
rec "start w3"
bin/svbench fanout --sync 1s >> "$OUT"
rec "start w4"
bin/svbench replay --sync 1s >> "$OUT"
rec "start w6"
bin/svbench ceiling --sync 1s >> "$OUT"
rec "end"
