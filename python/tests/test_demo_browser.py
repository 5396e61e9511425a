"""`python -m stream_viz demo` (Pathway and --manual) shown in real Chromium: all four widgets
appear with data; --seconds ends the demo with status 0 and takes the server with it."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading

import pytest
from helpers import REPO, alive, api_widgets, get_json, wait_until

pytestmark = pytest.mark.slow

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK = os.path.join(HERE, "browser_check.mjs")
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
URL_LINE = re.compile(r"StreamViz dashboard: (http://\S+)")


def need_browser():
    if shutil.which("node") is None:
        pytest.fail("node is needed for the Chromium check")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"Chromium not found at {CHROMIUM} (Debian: apt-get install chromium)")
    if not os.path.isdir(os.path.join(REPO, "tests", "browser", "node_modules", "playwright-core")):
        pytest.fail("tests/browser/node_modules/playwright-core is missing (cd tests/browser && npm ci)")


class Demo:
    """python -m stream_viz demo in a child process; its stderr is collected line by line."""

    def __init__(self, *args: str, new_session: bool = False):
        self.proc = subprocess.Popen([sys.executable, "-m", "stream_viz", "demo", "--port", "0", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=HERE,
                                     start_new_session=new_session)
        self.lines: list[str] = []
        self.url: str | None = None
        self.got_url = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=lambda: self.proc.stdout.read(), daemon=True).start()

    def _read(self):
        for line in self.proc.stderr:
            self.lines.append(line)
            m = URL_LINE.search(line)
            if m and not self.got_url.is_set():
                self.url = m.group(1)
                self.got_url.set()
        self.got_url.set()

    def wait_url(self, timeout=60) -> str:
        self.got_url.wait(timeout)
        assert self.url, "the demo printed no dashboard URL; stderr:\n" + "".join(self.lines[-40:])
        return self.url

    def server_pid(self) -> int:
        # The demo's own child: the streamviz server it spawned.
        out = subprocess.run(["ps", "-o", "pid=,comm=", "--ppid", str(self.proc.pid)], capture_output=True, text=True).stdout
        pids = [int(ln.split()[0]) for ln in out.splitlines() if ln.split()[1:] == ["streamviz"]]
        assert len(pids) == 1, out
        return pids[0]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def check_in_chromium(url: str, timeout_ms: int = 30000) -> dict:
    r = subprocess.run(["node", CHECK, url, str(timeout_ms)], capture_output=True, text=True, timeout=timeout_ms / 1000 + 60)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
    assert lines, f"browser_check printed nothing (status {r.returncode}):\n{r.stderr[-3000:]}"
    result = json.loads(lines[-1])
    assert r.returncode == 0 and result["ok"], f"the dashboard did not show every widget with data: {json.dumps(result, indent=1)}\n{r.stderr[-2000:]}"
    return result["state"]


@pytest.mark.parametrize("mode", ["pathway", "manual"])
def test_demo_shows_all_four_widgets_with_data_in_chromium(mode):
    # The demo runs until the check is done (then Ctrl-C), not for a fixed time a slow browser
    # start could outlast.
    need_browser()
    demo = Demo(*(["--manual"] if mode == "manual" else []), new_session=True)
    try:
        url = demo.wait_url()
        server = demo.server_pid()
        state = check_in_chromium(url)
        types = sorted(c.split(":")[1] for c in state["cards"])
        assert types == ["chart", "gauge", "stat", "table"], state["cards"]
        assert state["title"] and "demo" in state["title"].lower()
        assert any(re.search(r"[a-z]", cell) for row in state["cells"] for cell in row), "region names in the table"
        ids = {w["id"]: w["type"] for w in api_widgets(url.rstrip("/"))}
        assert sorted(ids.values()) == ["chart", "gauge", "stat", "table"], ids
        assert get_json(url + "healthz")["rejected"] == 0
        os.killpg(demo.proc.pid, signal.SIGINT)
        demo.proc.wait(60)
    finally:
        if demo.proc.poll() is None:
            os.killpg(demo.proc.pid, signal.SIGKILL)
            demo.proc.wait()
    assert demo.proc.returncode == 0, "".join(demo.lines[-40:])
    wait_until(lambda: not alive(server), 10, "the demo's server to stop with it")


@pytest.mark.parametrize("mode", ["pathway", "manual"])
def test_demo_ends_by_itself_after_seconds_and_takes_its_server_with_it(mode):
    demo = Demo("--seconds", "3", *(["--manual"] if mode == "manual" else []))
    try:
        url = demo.wait_url()
        demo.proc.wait(120)
    finally:
        demo.stop()
    assert demo.proc.returncode == 0 and url, "".join(demo.lines[-40:])

    def gone() -> bool:
        try:
            get_json(url + "healthz", timeout=2)
        except OSError:
            return True
        return False

    wait_until(gone, 30, "the demo's server to stop with it")


def test_pathway_demo_stops_on_ctrl_c():
    """Ctrl-C in a terminal sends SIGINT to the whole foreground process group."""
    demo = Demo(new_session=True)  # as users run it: until Ctrl-C
    try:
        url = demo.wait_url()
        server = demo.server_pid()
        wait_until(lambda: len(api_widgets(url.rstrip("/"))) == 4, 30, "the demo's widgets")
        os.killpg(demo.proc.pid, signal.SIGINT)
        try:
            demo.proc.wait(15)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the Pathway demo still runs 15 s after Ctrl-C (its server alive: {alive(server)}); "
                        "stderr:\n" + "".join(ln for ln in demo.lines[-20:] if "INFO" not in ln))
    finally:
        if demo.proc.poll() is None:
            os.killpg(demo.proc.pid, signal.SIGKILL)
            demo.proc.wait()
    assert demo.proc.returncode == 0, "".join(demo.lines[-20:])
    wait_until(lambda: not alive(server), 10, "the server to stop")
