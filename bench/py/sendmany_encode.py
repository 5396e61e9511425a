"""What table.send_many's columnar encoding costs the SDK per row, without a server (docs/benchmarks.md,
"send_many with binary table frames"): the bench's DataFrames (--rows rows in frames of 10,000; k an int key
over 10,000 keys, i int, v float, name the text "row"), each made a TableBlock as send_many does (caller's
thread), then encoded into its messages as the SDK thread does. Prints one JSON line: the best of --repeat
runs of each stage, in µs of CPU per row.

    PYTHONPATH=python/src .venv/bin/python bench/py/sendmany_encode.py
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import pandas as pd

from stream_viz._bulk import table_block

ap = argparse.ArgumentParser()
ap.add_argument("--rows", type=int, default=1_000_000)
ap.add_argument("--repeat", type=int, default=3)
args = ap.parse_args()
frames = []
for start in range(0, args.rows, 10_000):
    i = np.arange(start, min(start + 10_000, args.rows))
    frames.append(pd.DataFrame({"k": i % 10_000, "i": i, "v": i * 0.5, "name": "row"}))


def blocks() -> None:
    for f in frames:
        table_block(f, "k", 900 * 1024)


def blocks_and_messages() -> None:
    for f in frames:
        b = table_block(f, "k", 900 * 1024)
        assert b is not None
        for p in b.parts(900 * 1024):
            p.encode()


out: dict[str, object] = {"rows": args.rows, "load_avg": os.getloadavg()[0]}
for name, fn in (("table_block_us_per_row", blocks), ("block_and_encode_us_per_row", blocks_and_messages)):
    best = float("inf")
    for _ in range(args.repeat):
        t = time.process_time()
        fn()
        best = min(best, time.process_time() - t)
    out[name] = best / args.rows * 1e6
print(json.dumps(out))
