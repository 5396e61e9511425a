#!/bin/bash
# Workload 3 (docs/benchmarks.md) with one server binary, and `perf stat` of the server process over
# 10 s of the publishing phase: CPU (task-clock), context switches and system calls by kind (write
# is one per frame). Harness: svbench of HARNESS (default /tmp/base, a checkout of 72e341f).
# With RECORD=1, perf stat runs 5 s and `perf record -g` 6 s after it, and the samples are summed
# by where they are (bench/py/perf_categories.py: the socket writer's write(2) and its own code,
# the pacer, the bus, ingest, the runtime) into DIR/LABEL.txt.
#   [RECORD=1] bench/fanout_perfstat.sh LABEL path/to/streamviz [DIR]   → DIR/LABEL.{stat,jsonl,log[,perf.data,txt]} (DIR: /tmp/w3-perf)
L=$1; B=$(realpath "$2"); D=${3:-/tmp/w3-perf}; mkdir -p "$D"
STAT=10
[ "${RECORD:-}" = 1 ] && STAT=5
uptime > "$D/$L.stat"
"${HARNESS:-/tmp/base}"/bin/svbench fanout --sync 1s --bin "$B" > "$D/$L.jsonl" 2>"$D/$L.log" &
H=$!
for i in $(seq 60); do grep -q "publishing" "$D/$L.log" 2>/dev/null && break; sleep 0.5; done
sleep 4
P=$(pgrep -f "^$B" | head -1)
perf stat -e task-clock,context-switches,cpu-migrations,syscalls:sys_enter_write,syscalls:sys_enter_writev,syscalls:sys_enter_read,syscalls:sys_enter_futex,syscalls:sys_enter_epoll_pwait,syscalls:sys_enter_nanosleep,syscalls:sys_enter_sched_yield -p "$P" -- sleep $STAT 2>>"$D/$L.stat"
if [ "${RECORD:-}" = 1 ]; then
  perf record -g -F 999 -o "$D/$L.perf.data" -p "$P" -- sleep 6 2>>"$D/$L.stat"
fi
wait "$H"
uptime >> "$D/$L.stat"
if [ "${RECORD:-}" = 1 ]; then
  perf script -i "$D/$L.perf.data" 2>/dev/null | python3 "$(dirname "$0")/py/perf_categories.py" > "$D/$L.txt"
  cat "$D/$L.txt"
fi
