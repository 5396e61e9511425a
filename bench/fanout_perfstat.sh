#!/bin/bash
# Workload 3 (docs/benchmarks.md) with one server binary, and `perf stat` of the server process over
# 10 s of the publishing phase: CPU (task-clock), context switches and system calls by kind (write
# is one per frame). Harness: svbench of HARNESS (default /tmp/base, a checkout of 72e341f).
#   bench/fanout_perfstat.sh LABEL path/to/streamviz [DIR]   → DIR/LABEL.{stat,jsonl,log} (DIR: /tmp/w3-perf)
L=$1; B=$(realpath "$2"); D=${3:-/tmp/w3-perf}; mkdir -p "$D"
uptime > "$D/$L.stat"
"${HARNESS:-/tmp/base}"/bin/svbench fanout --sync 1s --bin "$B" > "$D/$L.jsonl" 2>"$D/$L.log" &
H=$!
for i in $(seq 60); do grep -q "publishing" "$D/$L.log" 2>/dev/null && break; sleep 0.5; done
sleep 4
P=$(pgrep -f "^$B" | head -1)
perf stat -e task-clock,context-switches,cpu-migrations,syscalls:sys_enter_write,syscalls:sys_enter_writev,syscalls:sys_enter_read,syscalls:sys_enter_futex,syscalls:sys_enter_epoll_pwait,syscalls:sys_enter_nanosleep,syscalls:sys_enter_sched_yield -p "$P" -- sleep 10 2>>"$D/$L.stat"
wait "$H"
uptime >> "$D/$L.stat"
