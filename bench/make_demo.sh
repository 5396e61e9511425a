#!/usr/bin/env bash
# Times `make demo` as on a fresh machine: a clean clone of HEAD, empty Go build and module caches,
# no venv, no pip or uv cache. Each line of make demo's output is stamped with the seconds since
# the start; the figure is the stamp of the "StreamViz dashboard:" line. The demo runs 5 s.
#   bench/make_demo.sh > bench/make-demo/$(date +%Y%m%d-%H%M%S).log
set -u
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
git clone -q "$repo" "$work/clone"
cd "$work/clone"
export GOCACHE=$work/gocache GOMODCACHE=$work/gomod GOFLAGS=-modcacherw PIP_NO_CACHE_DIR=1 UV_NO_CACHE=1
unset STREAMVIZ_BIN PYTHONPATH VIRTUAL_ENV
echo "commit $(git rev-parse --short HEAD); $(nproc) cores; $(go version); $(python3 --version)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
start=$(date +%s.%N)
make demo DEMO_ARGS="--seconds 5" 2>&1 | while IFS= read -r line; do
  printf '%7.1fs %s\n' "$(echo "$(date +%s.%N) - $start" | bc)" "$line"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
