"""Python garbage collections during workload 2 (bench/py/pathway_overhead.py), with and without
the SDK holding the collector off while it folds and encodes a flush (stream_viz._publisher's
collector_held). Prints one JSON line: the mode, CPU and wall time of the run, and per generation
how many collections ran and the CPU they took (on whichever thread set them off).

    .venv/bin/python bench/py/pathway_gc_profile.py hot 200000 null|sdk|sdk-unheld
"""

from __future__ import annotations

import contextlib
import gc
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import pathway_overhead  # noqa: E402

shape, rows, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
if mode == "sdk-unheld":
    import stream_viz._publisher as publisher

    publisher.collector_held = contextlib.nullcontext

spent = {g: [0, 0.0] for g in range(3)}
started: dict[str, float] = {}


def on_collect(phase: str, info: dict) -> None:
    if phase == "start":
        started["t"] = time.thread_time()
    else:
        g = spent[info["generation"]]
        g[0] += 1
        g[1] += time.thread_time() - started["t"]


gc.callbacks.append(on_collect)
out = pathway_overhead.run(shape, rows, 10_000, 10_000, mode != "null")
print(json.dumps({"mode": mode, "shape": shape, "rows": rows, "cpu": round(out["cpu_total_s"], 2), "wall": round(out["wall_s"], 2),
                  "gc": {g: [n, round(s, 3)] for g, (n, s) in spent.items()}}))
