#!/usr/bin/env bash
# make demo: builds the server (Go) and the Python env with Pathway (pip) at the same time, says
# what is going on while they build, then runs the live Pathway demo. Arguments go to the demo.
#
# DEMO_GO_TARGET and DEMO_VENV_TARGET name the make targets of the two builds (default build and
# venv), DEMO_RUN the command run at the end (default: the venv's python -m stream_viz demo).
set -u
cd "$(dirname "$0")/.."
MAKE=${MAKE:-make}
VENV=${VENV:-.venv}
GO_TARGET=${DEMO_GO_TARGET:-build}
VENV_TARGET=${DEMO_VENV_TARGET:-venv}
LOGS=${DEMO_LOGS:-.build}
mkdir -p "$LOGS"

say() { echo "make demo: $*" >&2; }

started=$(date +%s)
say "building the server (Go, log: $LOGS/server.log) and the Python env with Pathway (uv, log: $LOGS/venv.log) in parallel"
$MAKE --no-print-directory "$GO_TARGET" >"$LOGS/server.log" 2>&1 &
go_pid=$!
$MAKE --no-print-directory "$VENV_TARGET" >"$LOGS/venv.log" 2>&1 &
venv_pid=$!
trap 'kill $go_pid $venv_pid 2>/dev/null; exit 130' INT TERM

state() { if kill -0 "$1" 2>/dev/null; then echo "$2"; else echo "done"; fi; }
line() {
  echo "[$(( $(date +%s) - started ))s] server: $(state $go_pid building) · python env: $(state $venv_pid installing)"
}
# One status line, rewritten in place on a terminal; every 15 s in a log.
tick=0
while kill -0 $go_pid 2>/dev/null || kill -0 $venv_pid 2>/dev/null; do
  if [ -t 2 ]; then
    printf '\r\033[Kmake demo: %s' "$(line)" >&2
  elif (( tick % 15 == 0 )); then
    say "$(line)"
  fi
  tick=$((tick + 1))
  sleep 1
done
[ -t 2 ] && printf '\r\033[K' >&2
wait $go_pid; go_status=$?
wait $venv_pid; venv_status=$?
trap - INT TERM
for part in "server:$go_status:$LOGS/server.log" "python env:$venv_status:$LOGS/venv.log"; do
  IFS=: read -r name status log <<<"$part"
  if [ "$status" -ne 0 ]; then
    say "building the $name failed (status $status); the end of $log:"
    tail -n 25 "$log" >&2
  fi
done
if [ "$go_status" -ne 0 ] || [ "$venv_status" -ne 0 ]; then
  exit 1
fi
say "built in $(( $(date +%s) - started ))s; starting the demo"
if [ -n "${DEMO_RUN:-}" ]; then
  exec $DEMO_RUN "$@"
fi
exec "$VENV/bin/python" -m stream_viz demo "$@"
