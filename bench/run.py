"""Runs every benchmark workload and prints one table (docs/benchmarks.md explains each).

    python bench/run.py --quick     # every workload at reduced size, a few minutes (CI's smoke test)
    python bench/run.py             # full size, repeated; results also go to bench/results/

Each workload is a separate program printing JSON lines; this script runs them (StreamViz and,
where the issue asks, pathway-viz 0.3.1 from its own venv), repeats them, and reports medians,
p99 over repetitions, and StreamViz/pathway-viz ratios measured in the same run. No thresholds:
the numbers are reported, not asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "bin" / "streamviz"
WSCOUNT = ROOT / "bin" / "wscount"
VENV_PY = ROOT / ".venv" / "bin" / "python"
PV_VENV = ROOT / "bench" / ".venv-pv"
PV_PY = PV_VENV / "bin" / "python"
PV_VERSION = "0.3.1"


def sh(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, cwd=ROOT, **kw)


def build() -> None:
    env = dict(os.environ, CGO_ENABLED="0")
    sh(["go", "build", "-o", str(BIN), "./cmd/streamviz"], env=env)
    sh(["go", "build", "-o", str(WSCOUNT), "./bench/wscount"], env=env)
    if (ROOT / "bench" / "go").is_dir():
        sh(["go", "build", "-o", str(ROOT / "bin" / "svbench"), "./bench/go"], env=env)


def pathway_viz_venv() -> bool:
    """pathway-viz lives in its own venv: nothing of it is imported by StreamViz."""
    if PV_PY.exists():
        return True
    try:
        sh([sys.executable, "-m", "venv", str(PV_VENV)])
        sh([str(PV_PY), "-m", "pip", "install", "-q", f"pathway-viz=={PV_VERSION}"])
        return True
    except subprocess.CalledProcessError as e:
        print(f"bench: pathway-viz {PV_VERSION} could not be installed ({e}); its columns stay empty", file=sys.stderr)
        return False


# Every workload command that timed out or exited non-zero; main fails the run if any did.
FAILED: list[str] = []


def run_json(cmd: list[str], timeout: float) -> list[dict]:
    env = dict(os.environ, STREAMVIZ_BIN=str(BIN))
    print("bench: $ " + " ".join(cmd), file=sys.stderr, flush=True)
    try:
        p = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f"bench: timed out after {timeout:.0f}s", file=sys.stderr)
        FAILED.append(f"{' '.join(cmd)} (timed out after {timeout:.0f}s)")
        return []
    out = []
    for line in p.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    if p.returncode != 0:
        print(f"bench: exit {p.returncode}", file=sys.stderr)
        FAILED.append(f"{' '.join(cmd)} (exit {p.returncode})")
    return out


def median(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


def p99(xs: list[float]) -> float | None:
    if not xs:
        return None
    s = sorted(xs)
    return s[min(len(s) - 1, int(0.99 * len(s)))]


# Workload 2's shapes (bench/py/pathway_overhead.py): the 1M-row bench pipeline, a 20,000-key
# table updated on every commit, 100 windows with late updates.
OVERHEAD_SHAPES = ("bench", "hot", "windows")


def overhead_pairs(results: list[dict], shape: str, field: str) -> list[float]:
    """with / without ratios of `field` for each alternating pair of a shape, in run order."""
    runs = [r for r in results if r.get("workload") == "pathway_overhead" and r.get("shape", "bench") == shape and field in r]
    out = []
    for a, b in zip(runs, runs[1:]):
        if not a["with_sv"] and b["with_sv"] and a.get("rows") == b.get("rows"):
            out.append(b[field] / a[field])
    return out


def workloads(quick: bool, reps: int, have_pv: bool) -> list[dict]:
    results: list[dict] = []
    n_points = 100_000 if quick else 1_000_000
    # 1. Python ingest, both systems, alternating so drift hits both alike.
    for _ in range(reps):
        results += run_json([str(VENV_PY), "bench/py/ingest.py", "--system", "streamviz", "--points", str(n_points), "--wscount", str(WSCOUNT)], 600)
        if have_pv:
            results += run_json([str(PV_PY), "bench/py/ingest.py", "--system", "pathwayviz", "--points", str(n_points), "--wscount", str(WSCOUNT)], 600)
    # Issue 11 goal 4: the SDK's delivered rates (.send() from one thread, chart.extend,
    # table.send_many), every update counted at a WebSocket client and in the server's state.
    sdk_size = ["--points", "100000", "--extend-points", "1000000", "--rows", "100000"] if quick else []
    for _ in range(reps):
        results += run_json([str(VENV_PY), "bench/py/sdk.py", "--wscount", str(WSCOUNT), *sdk_size], 900)
    # 2. Pathway overhead (issue 13 item 3): each shape in alternating pairs, without (pw.io.null)
    # then with StreamViz, so drift on a shared machine hits both halves of a pair alike.
    rows = 100_000 if quick else 1_000_000
    for _ in range(reps):
        for shape in OVERHEAD_SHAPES:
            for flag in ([], ["--with-sv"]):
                results += run_json([str(VENV_PY), "bench/py/pathway_overhead.py", "--shape", shape, "--rows", str(rows), *flag], 1800)
    # 3, 4, 6, 7: the Go harness (bench/go), when built. Fan-out and replay run against both
    # systems, alternating; the harness drives pathway-viz through bench/py/pv_server.py.
    svbench = ROOT / "bin" / "svbench"
    if svbench.exists():
        # The harness publishes one update per message, which the default --sync always (an
        # fsync per acknowledged write) caps at a few thousand a second on this disk
        # (docs/reliability.md): these workloads measure the gateway, so they fsync every second.
        q = ["--quick", "--sync", "1s"] if quick else ["--sync", "1s"]
        for w in ("fanout", "replay"):
            for _ in range(reps):
                results += run_json([str(svbench), w, *q, "--system", "streamviz"], 1800)
                if have_pv:
                    results += run_json([str(svbench), w, *q, "--system", "pathwayviz", "--pv-python", str(PV_PY)], 1800)
        results += run_json([str(svbench), "ceiling", *q], 1800)
        results += run_json([str(svbench), "soak", *q], 1800)
        # Issue 11: each NATS publisher kind at the default settings (--sync always), every
        # update counted end to end (docs/benchmarks.md, "Ingest by publisher kind").
        results += run_json([str(svbench), "ingest", *(["--quick"] if quick else []), "--reps", str(reps)], 1800)
    # 5. Browser frame times.
    # One run per issue-14 feature (bench/browser/frames.mjs variants), then zoom and PNG timings.
    results += run_json(["node", "bench/browser/frames.mjs", *(["--quick"] if quick else [])], 1200)
    results += run_json(["node", "bench/browser/interact.mjs", *(["--quick"] if quick else [])], 600)
    return results


def table(results: list[dict]) -> str:
    def vals(workload: str, system: str, field: str, **match) -> list[float]:
        return [r[field] for r in results if r.get("workload") == workload and r.get("system", "streamviz") == system
                and field in r and all(r.get(k) == v for k, v in match.items())]

    def fmt(x: float | None, unit: str = "") -> str:
        if x is None:
            return "—"
        return f"{x:,.0f}{unit}" if abs(x) >= 100 else f"{x:.3g}{unit}"

    def ratio(a: float | None, b: float | None) -> str:
        return f"{a / b:.2f}×" if a and b else "—"

    lines = ["| workload | metric | target | StreamViz (median) | pathway-viz (median) | ratio StreamViz / pathway-viz |",
             "|---|---|---|---|---|---|"]

    def row(w: str, metric: str, target: str, field: str, unit: str = "", pv: bool = False, **match) -> None:
        a = median(vals(w, "streamviz", field, **match))
        b = median(vals(w, "pathwayviz", field, **match)) if pv else None
        lines.append(f"| {w} | {metric} | {target} | {fmt(a, unit)} | {fmt(b, unit) if pv else 'n/a'} | {ratio(a, b) if pv else 'n/a'} |")

    row("ingest", "updates/s accepted", "", "accepted_per_s", pv=True)
    row("ingest", "updates/s delivered", "≥ 250,000", "delivered_per_s", pv=True)
    row("ingest", "updates lost", "0", "lost", pv=True)
    for phase, what in (("send", ".send() calls"), ("extend", "extend() points"), ("send_many", "send_many() rows")):
        row("sdk", f"{what}/s delivered, one thread", "≥ 250,000" if phase == "send" else "≥ 5,000,000",
            "delivered_per_s", phase=phase)
        row("sdk", f"{what} lost", "0", "lost", phase=phase)  # send_many: rows sent minus table ops at the socket
    for shape in OVERHEAD_SHAPES:
        for field, what in (("wall_s", "wall time"), ("cpu_total_s", "CPU time (process, until all is published)")):
            without = median(vals("pathway_overhead", "streamviz", field, with_sv=False, shape=shape))
            with_sv = median(vals("pathway_overhead", "streamviz", field, with_sv=True, shape=shape))
            pairs = overhead_pairs(results, shape, field)
            per = f"; pairs {', '.join(f'{x:.2f}' for x in pairs)}, median {median(pairs):.2f}×" if pairs else ""
            lines.append(f"| pathway_overhead ({shape}) | {what} with / without | ≤ 1.10× | {fmt(with_sv, ' s')} / {fmt(without, ' s')} = "
                         f"{ratio(with_sv, without)}{per} | n/a | n/a |")
    for w, metric, target, field, unit in [
        ("fanout", "latency p50", "", "latency_ms_p50", " ms"),
        ("fanout", "latency p99", "≤ 50 ms", "latency_ms_p99", " ms"),
        ("fanout", "updates lost", "0", "lost", ""),
        ("fanout", "clients cut off by the server", "", "clients_cut_off", ""),
        ("fanout", "server CPU, % of one core", "", "server_cpu_pct", " %"),
        ("fanout", "server RSS peak", "", "server_rss_peak_kb", " KB"),
        ("fanout", "RSS per idle connection", "≤ 20 KB", "rss_kb_per_idle_conn", " KB"),
        ("replay", "time to full state (median)", "≤ 100 ms", "ms_median", " ms"),
        ("replay", "time to full state (p99)", "", "ms_p99", " ms"),
        ("replay", "first byte (median)", "", "first_byte_ms_median", " ms"),
        ("replay", "bytes replayed", "", "snapshot_bytes", ""),
        ("replay", "chart points replayed", "", "points_replayed", ""),
        ("replay", "table rows replayed", "", "rows_replayed", ""),
        ("ceiling", "ours / raw JetStream", "≥ 50%", "ratio", ""),
        ("soak", "RSS growth after warm-up", "< 5%", "rss_growth_pct", " %"),
    ]:
        row(w, metric, target, field, unit, pv=w in ("fanout", "replay"))
    for variant in ("baseline", "theme_font", "legends", "zoomed", "stacked_bar", "all"):
        row("browser", f"frame time p95, {variant}", "≤ 16.7 ms", "frame_ms_p95", " ms", variant=variant)
        row("browser", f"long tasks, {variant}", "", "long_tasks", "", variant=variant)
    for metric, target, field in [
        ("zoom 100k points: first, to next frame", "≤ 50 ms", "zoom_first_frame_ms"),
        ("zoom 100k points: p95 to next frame", "≤ 50 ms", "zoom_frame_ms_p95"),
        ("PNG of a 1,000 px chart (median)", "≤ 200 ms", "png_ms_median"),
    ]:
        row("browser_interaction", metric, target, field, " ms")
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true", help="every workload at reduced size, once")
    p.add_argument("--reps", type=int, default=None, help="repetitions (default 1 quick, 3 full)")
    p.add_argument("--no-pathway-viz", action="store_true")
    a = p.parse_args()
    reps = a.reps or (1 if a.quick else 3)
    build()
    have_pv = not a.no_pathway_viz and pathway_viz_venv()
    t0 = time.time()
    results = workloads(a.quick, reps, have_pv)
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = out_dir / f"{'quick' if a.quick else 'full'}-{stamp}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in results))
    print(table(results))
    print(f"\n{len(results)} results in {time.time() - t0:.0f}s; raw: {path.relative_to(ROOT)}")
    # The smoke test CI runs: every workload must have produced a result (no thresholds).
    want = {("ingest", "streamviz"), ("sdk", "streamviz"), ("pathway_overhead", "streamviz"), ("fanout", "streamviz"), ("replay", "streamviz"),
            ("ceiling", "streamviz"), ("soak", "streamviz"), ("browser", "streamviz"),
            ("browser_interaction", "streamviz")}
    if have_pv:
        want |= {("ingest", "pathwayviz"), ("fanout", "pathwayviz"), ("replay", "pathwayviz")}
    got = {(r.get("workload"), r.get("system", "streamviz")) for r in results}
    missing = sorted(want - got)
    if missing:
        print(f"bench: no result from {missing}: the harness is broken there", file=sys.stderr)
    for f in FAILED:
        print(f"bench: failed: {f}", file=sys.stderr)
    return 1 if missing or FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
