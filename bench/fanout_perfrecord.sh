#!/bin/bash
# Workload 3 (docs/benchmarks.md) with one server binary: `perf stat` of the server for 5 s of the
# publishing phase, then `perf record -g` for 6 s, and the samples summed by where they are
# (bench/py/perf_categories.py: the socket writer's write(2) and its own code, the pacer, the bus,
# ingest, the runtime). Harness: svbench of HARNESS (default /tmp/base, a checkout of 72e341f).
#   bench/fanout_perfrecord.sh LABEL path/to/streamviz [DIR]   → DIR/LABEL.{stat,jsonl,log,perf.data,txt}
L=$1; B=$(realpath "$2"); D=${3:-/tmp/w3-perf}; mkdir -p "$D"
uptime > "$D/$L.stat"
"${HARNESS:-/tmp/base}"/bin/svbench fanout --sync 1s --bin "$B" > "$D/$L.jsonl" 2>"$D/$L.log" &
H=$!
for i in $(seq 120); do grep -q "publishing" "$D/$L.log" 2>/dev/null && break; sleep 0.5; done
sleep 4
P=$(pgrep -f "^$B" | head -1)
perf stat -e task-clock,context-switches,cpu-migrations,syscalls:sys_enter_write,syscalls:sys_enter_futex -p "$P" -- sleep 5 2>>"$D/$L.stat"
perf record -g -F 999 -o "$D/$L.perf.data" -p "$P" -- sleep 6 2>>"$D/$L.stat"
wait "$H"
uptime >> "$D/$L.stat"
perf script -i "$D/$L.perf.data" 2>/dev/null | python3 "$(dirname "$0")/py/perf_categories.py" > "$D/$L.txt"
cat "$D/$L.stat" "$D/$L.txt"
