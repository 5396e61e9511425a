"""CPU the SDK's process spends with a started dashboard and nothing to send: one stat widget,
sv.start(), then --seconds of nothing. Prints one JSON line (CPU seconds per second).

    .venv/bin/python bench/py/sdk_idle.py [--seconds 10]"""

from __future__ import annotations

import argparse
import json
import os
import time

import stream_viz as sv


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=10.0)
    a = p.parse_args()
    sv.stat("idle")
    sv.start(port=0)
    time.sleep(1.0)  # the config is out
    c0, w0 = time.process_time(), time.perf_counter()
    time.sleep(a.seconds)
    cpu = (time.process_time() - c0) / (time.perf_counter() - w0)
    sv.stop()
    print(json.dumps({"workload": "sdk_idle", "sdk": os.environ.get("PYTHONPATH", ""), "cpu_per_s": round(cpu, 5),
                      "loadavg_1m": os.getloadavg()[0]}), flush=True)


if __name__ == "__main__":
    main()
