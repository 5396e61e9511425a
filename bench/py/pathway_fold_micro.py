"""Python CPU per row of the SDK's work on a Pathway table, without Pathway running: a keyed
3-column table (`hot`'s: k, n, total) whose 20,000 rows all change in every commit, folded and
encoded as the SDK's thread does, in flushes of 1, 2 or 5 commits. Prints one JSON line per
batch size: fold and encode microseconds per row per flush (the best of --reps).

    .venv/bin/python bench/py/pathway_fold_micro.py [--src python/src]

--src another checkout's python/src measures that SDK (commits in the shape it takes: a list of
(key, values, time, is_addition) before b6750d3, (inserted, retracted, time) since)."""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--src", default="python/src")
    p.add_argument("--reps", type=int, default=3)
    a = p.parse_args()
    sys.path.insert(0, a.src)
    import numpy  # noqa: F401  # loaded in every Pathway program: the SDK encodes columns with it

    from stream_viz import _pathway, _widgets

    new = hasattr(_widgets, "Values")
    keys = 20_000

    class Dash:
        widgets: dict = {}
        producer = "bench"

        def _warn_once(self, *_a: object) -> None:
            pass

    def commits(n: int) -> list:
        out = []
        for t in range(n):
            if new:
                out.append(({f"p{k}": (k, t + 1, (t + 1) * 3.5) for k in range(keys)},
                            {f"p{k}": (k, t, t * 3.5) for k in range(keys)}, t))
            else:
                c = []
                for k in range(keys):
                    c.append((f"p{k}", (k, t, t * 3.5), t, False))
                    c.append((f"p{k}", (k, t + 1, (t + 1) * 3.5), t, True))
                out.append(c)
        return out

    cs = commits(10)
    for batch in (1, 2, 5):
        best = None
        for _ in range(a.reps):
            w = _widgets.Table(Dash(), "groups", key="k", max_rows=100)  # type: ignore[arg-type]
            b = _pathway._TableBinding(w, ["k", "n", "total"], None, "k")
            fold = enc = 0.0
            gc.disable()
            for i in range(0, len(cs), batch):
                t0 = time.process_time()
                b.fold(cs[i:i + batch])
                t1 = time.process_time()
                # As the SDK's thread encodes each body (_drain, then the publisher).
                [body if type(body) is bytes else body.encode() if hasattr(body, "as_of") else _widgets.dumps(body)
                 for body, _n in w._bodies()]
                enc += time.process_time() - t1
                fold += t1 - t0
            gc.enable()
            flushes = len(cs) // batch
            r = (fold / flushes / keys * 1e6, enc / flushes / keys * 1e6)
            best = r if best is None or sum(r) < sum(best) else best
        assert best is not None
        print(json.dumps({"workload": "pathway_fold_micro", "src": a.src, "commits_per_flush": batch,
                          "fold_us_per_row": round(best[0], 3), "encode_us_per_row": round(best[1], 3)}), flush=True)


if __name__ == "__main__":
    main()
