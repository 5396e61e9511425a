"""The wheel: built from source with Go, the server bundled inside, installed into a fresh venv
outside the source tree, and a dashboard run from it with no STREAMVIZ_BIN and no checkout."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from helpers import REPO, alive, get_json, rows_of, wait_until, wait_widget

pytestmark = pytest.mark.slow

# What the Go module and the Python package need; copied so that building writes nothing into the
# checkout (build/, *.egg-info) and nothing stale from it (an old build/lib) ends up in the wheel.
SOURCES = ["go.mod", "go.sum", "cmd", "broker", "gateway", "internal", "protocol", "web", "python"]
SKIP = shutil.ignore_patterns("tests", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", "_bin",
                              "node_modules", "*.test", "test")


def clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("STREAMVIZ_BIN", "PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    if shutil.which("go") is None:
        pytest.fail("building the wheel from source needs Go")
    root = tmp_path_factory.mktemp("wheel-src")
    for name in SOURCES:
        src = Path(REPO, name)
        if src.is_dir():
            shutil.copytree(src, root / name, ignore=SKIP)
        else:
            shutil.copy2(src, root / name)
    out = tmp_path_factory.mktemp("dist")
    r = subprocess.run([sys.executable, "-m", "build", "--wheel", str(root / "python"), "-o", str(out)],
                       env=clean_env(), capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        errors = [ln for ln in (r.stdout + r.stderr).splitlines() if re.search(r"\berror\b", ln, re.I) and "_errors" not in ln]
        pytest.fail("python -m build --wheel failed (no STREAMVIZ_BIN, so Go compiles the server):\n"
                    + "\n".join(errors[:20]) + "\n--- stderr tail ---\n" + r.stderr[-1500:], pytrace=False)
    wheels = list(out.glob("stream_viz-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_wheel_bundles_an_executable_server_and_the_streamviz_command(wheel):
    assert not wheel.name.endswith("-none-any.whl"), f"a wheel with a native binary is per platform: {wheel.name}"
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        # At the root, or under <name>.data/purelib|platlib/ (installed to the same place).
        where = [n for n in names if re.fullmatch(r"(stream_viz-[^/]+\.data/(purelib|platlib)/)?stream_viz/_bin/streamviz", n)]
        assert len(where) == 1, names
        info = z.getinfo(where[0])
        assert (info.external_attr >> 16) & stat.S_IXUSR, "the bundled server is executable"
        assert info.file_size > 1_000_000
        assert any(n.endswith("stream_viz/py.typed") for n in names)
        eps = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        assert "streamviz = stream_viz._cli:main" in z.read(eps).decode()
        meta = z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
        assert "Requires-Dist: nats-py" in meta and "extra == \"pathway\"" in meta
        assert not any(n.startswith("tests/") or "/tests/" in n for n in names)


def test_the_bundled_server_reports_the_version_of_the_package_it_ships_in(wheel, tmp_path):
    with zipfile.ZipFile(wheel) as z:
        member = next(n for n in z.namelist() if n.endswith("stream_viz/_bin/streamviz"))
        binary = Path(z.extract(member, tmp_path))
        init = z.read(next(n for n in z.namelist() if n.endswith("stream_viz/__init__.py"))).decode()
    binary.chmod(0o755)
    release = wheel.name.split("-")[1]
    assert f'__version__ = "{release}"' in init, "stream_viz.__version__ is the wheel's version"
    out = subprocess.run([str(binary), "version"], capture_output=True, text=True, timeout=30)
    assert out.stdout.strip() == f"streamviz {release}", out


APP = """
    import json, sys
    import stream_viz as sv
    revenue = sv.stat("wheel_stat", title="From the wheel", unit="$")
    rows = sv.table("wheel_rows", key="k")
    line = sv.chart("wheel_chart")
    level = sv.gauge("wheel_gauge")
    sv.start(port=0)
    revenue.send(42)
    rows.send({"k": "a", "v": 1})
    line.send(1.5, 1000)
    level.send(55)
    print(json.dumps({"http": sv._D.http_url, "binary": sv._D.server.proc.args[0], "pid": sv._D.server.proc.pid,
                      "module": sv.__file__}), flush=True)
    sys.stdin.readline()   # the test checks the dashboard, then lets this process end
    sv.stop()
    print("stopped", flush=True)
"""


def test_wheel_installed_in_a_fresh_venv_runs_a_dashboard_without_the_checkout(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=clean_env(), timeout=120)
    py = venv / "bin" / "python"
    r = subprocess.run([str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(wheel)],
                       env=clean_env(), capture_output=True, text=True, timeout=300, cwd=str(tmp_path))
    assert r.returncode == 0, f"pip install of the wheel failed:\n{r.stdout}\n{r.stderr}"

    cmd = subprocess.run([str(venv / "bin" / "streamviz"), "version"], env=clean_env(), capture_output=True,
                         text=True, timeout=30, cwd=str(tmp_path))
    assert cmd.returncode == 0 and cmd.stdout.startswith("streamviz "), (cmd.stdout, cmd.stderr)

    app = tmp_path / "app.py"
    app.write_text(textwrap.dedent(APP))
    proc = subprocess.Popen([str(py), str(app)], env=clean_env(), cwd=str(tmp_path), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line, f"the app printed nothing:\n{proc.stderr.read()}"
        info = json.loads(line)
        site = str(venv.resolve())
        assert info["module"].startswith(site), f"stream_viz imported from the venv, not the checkout: {info['module']}"
        assert os.path.realpath(info["binary"]).startswith(site) and info["binary"].endswith("/_bin/streamviz"), info
        assert not info["module"].startswith(REPO)
        base = info["http"].rstrip("/")
        wait_widget("wheel_stat", lambda w: w["state"]["value"] == 42 and w["config"]["unit"] == "$", base=base)
        wait_widget("wheel_rows", lambda w: rows_of(w) == {"a": {"k": "a", "v": 1}}, base=base)
        wait_widget("wheel_chart", lambda w: w["state"]["points"] == [[1000, 1.5]], base=base)
        wait_widget("wheel_gauge", lambda w: w["state"]["value"] == 55, base=base)
        assert get_json(base + "/healthz")["status"] == "ok"
        proc.stdin.write("\n")
        proc.stdin.flush()
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0 and "stopped" in out, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    wait_until(lambda: not alive(info["pid"]), 10, "the wheel's server to stop with its app")

    # Pathway is an extra: without it the demo runs in manual mode and says how to get the real one.
    r = subprocess.run([str(py), "-c", "import importlib.util as u; print(u.find_spec('pathway') is None)"],
                       env=clean_env(), capture_output=True, text=True, cwd=str(tmp_path))
    assert r.stdout.strip() == "True", "the fresh venv has no Pathway"
    demo = subprocess.Popen([str(py), "-m", "stream_viz", "demo", "--seconds", "4", "--port", "0"], env=clean_env(),
                            cwd=str(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        said = []
        for line in demo.stderr:
            said.append(line)
            if line.startswith("StreamViz dashboard: "):
                break
        assert any("stream-viz[pathway]" in ln for ln in said), said
        base = said[-1].split(": ", 1)[1].strip().rstrip("/")
        wait_until(lambda: sorted(w["type"] for w in get_json(base + "/api/widgets")) == ["chart", "gauge", "stat", "table"],
                   15, "the manual demo's widgets")
        wait_widget("revenue", lambda w: (w["state"] or {}).get("value") is not None, base=base)
        rest = demo.stderr.read()
        demo.wait(30)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    assert demo.returncode == 0, rest
