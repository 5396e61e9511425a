"""Test set-up: the server binary, a clean Pathway graph and a clean stream_viz for every test."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)  # helpers.py

from helpers import REPO, child_servers  # noqa: E402

DEFAULT_BIN = os.path.join(REPO, "bin", "streamviz")


def _ensure_binary() -> str:
    path = os.environ.get("STREAMVIZ_BIN")
    if path:
        if not os.access(path, os.X_OK):
            pytest.exit(f"STREAMVIZ_BIN={path} is not an executable", returncode=2)
        return path
    if not os.access(DEFAULT_BIN, os.X_OK):
        if shutil.which("go") is None:
            pytest.exit(f"{DEFAULT_BIN} is missing and Go is not installed to build it", returncode=2)
        subprocess.run(["go", "build", "-o", DEFAULT_BIN, "./cmd/streamviz"], cwd=REPO, check=True,
                       env=dict(os.environ, CGO_ENABLED="0"))
    os.environ["STREAMVIZ_BIN"] = DEFAULT_BIN
    return DEFAULT_BIN


STREAMVIZ_BIN = _ensure_binary()


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: builds the wheel or drives a browser (still runs by default; -m 'not slow' skips)")


@pytest.fixture(scope="session")
def streamviz_bin() -> str:
    return STREAMVIZ_BIN


def _clear_pathway() -> None:
    try:
        import pathway as pw
    except ImportError:
        return
    pw.internals.parse_graph.G.clear()


@pytest.fixture(autouse=True)
def clean_state():
    """Every test starts with no widgets, no server, no title, and an empty Pathway graph.

    Afterwards nothing the test started may be left running: every streamviz child of this
    process must be gone once sv._reset() returned.
    """
    import stream_viz as sv

    def reset() -> None:
        sv._reset()
        # sv._reset() forgets widgets and the title but not sv.configure(port=, embed=): a port
        # configured by one test would otherwise become the next test's explicit port.
        sv._D.port = None
        sv._D.embed = None

    reset()
    _clear_pathway()
    yield
    t0 = time.monotonic()
    reset()
    took = time.monotonic() - t0
    _clear_pathway()
    left = child_servers()
    assert not left, f"streamviz server processes left running after the test: {left}"
    assert took < 20, f"sv._reset() took {took:.1f}s"


@pytest.fixture
def client_factory():
    """Opens real WebSocket clients on the running dashboard; closes them at the end."""
    from helpers import DashClient

    opened = []

    def open_client(**kw) -> DashClient:
        c = DashClient(**kw)
        opened.append(c)
        return c

    yield open_client
    for c in opened:
        c.close()


@pytest.fixture
def pw_run():
    """pw.run without the monitoring dashboard, returning how long it took."""
    import pathway as pw

    def run() -> float:
        t0 = time.monotonic()
        pw.run(monitoring_level=pw.MonitoringLevel.NONE)
        return time.monotonic() - t0

    return run
