"""The README's two commands as a newcomer meets them (issue 9 items 10, 12, 13, 20): the README's
snippets run as is in the venv `make demo` makes; `make demo` builds the server and the venv in
parallel and says so; the demo prints its URL and one status line, Pathway's log going to a file;
`make test` runs every suite whatever the others did and fails at the end; `.ci/run` still fails.

The make targets run for real. Where the real builds would take minutes (make demo's), the test
gives scripts/demo.sh make targets of its own (through GNU make's MAKEFILES) that only succeed
when both run at the same time.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

import pytest
from helpers import REPO

DEADLINE = 300
VENV_PYTHON = os.path.join(REPO, ".venv", "bin", "python")


def make(*args: str, env: dict | None = None, cwd: str = REPO, script: str | None = None) -> subprocess.CompletedProcess:
    e = dict(os.environ)
    e.pop("MAKEFLAGS", None)
    e.pop("MAKELEVEL", None)
    e.update(env or {})
    cmd = [script] if script else ["make", "--no-print-directory", *args]
    return subprocess.run(cmd, cwd=cwd, env=e, capture_output=True, text=True, timeout=DEADLINE)


# ---------------------------------------------------------------- item 20: make test


FAKE_SUITES = """
suite-fails:
\t@echo running suite-fails; exit 3
suite-passes:
\t@echo running suite-passes; touch $(MARKS)/passes.ran
suite-passes-too:
\t@echo running suite-passes-too
"""


def fake_makefile(tmp_path, body: str) -> dict:
    mk = tmp_path / "extra.mk"
    mk.write_text(textwrap.dedent(body))
    return {"MAKEFILES": str(mk), "MARKS": str(tmp_path), "TEST_SETUP": ""}


def test_make_test_runs_every_suite_after_a_failing_one_reports_each_and_fails_at_the_end(tmp_path):
    env = fake_makefile(tmp_path, FAKE_SUITES)
    r = make("test", "TEST_SUITES=suite-fails suite-passes", env=env)
    out = r.stdout + r.stderr
    assert r.returncode != 0, out
    assert (tmp_path / "passes.ran").exists(), "the suite after the failing one ran:\n" + out
    assert re.search(r"=== suite-fails: FAILED", out) and re.search(r"=== suite-passes: ok", out), out
    summary = out[out.index("=== summary"):]
    assert re.search(r"suite-fails\s+FAILED", summary) and re.search(r"suite-passes\s+ok", summary), summary
    assert "1 of 2 suites FAILED: suite-fails" in out


def test_make_test_passes_when_every_suite_passes(tmp_path):
    env = fake_makefile(tmp_path, FAKE_SUITES)
    r = make("test", "TEST_SUITES=suite-passes suite-passes-too", env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "all 2 suites passed" in r.stdout


def test_make_test_runs_the_static_checks_and_the_five_test_suites_by_default():
    r = make("-n", "test", "TEST_SETUP=")  # what it would run, without running it
    suites = re.search(r"run-suites\.sh (.*)$", r.stdout, re.M)
    assert suites and suites.group(1).split() == ["lint", "test-go", "test-fuzz", "test-web", "test-browser", "test-python"], r.stdout
    r = make("-n", "lint")
    assert re.search(r"\./scripts/lint\.sh$", r.stdout, re.M), r.stdout  # every static check, each reported


def test_ci_run_calls_make_test_and_fails_when_a_suite_fails(tmp_path):
    env = fake_makefile(tmp_path, FAKE_SUITES)
    env["TEST_SUITES"] = "suite-fails suite-passes"
    r = make(env=env, script=os.path.join(REPO, ".ci", "run"))
    out = r.stdout + r.stderr
    assert r.returncode != 0, out
    assert "=== suite-passes: ok" in out and "suite-fails" in out, out
    assert "bench" not in out.split("=== summary")[1], "nothing runs after a failed make test"
    with open(os.path.join(REPO, ".ci", "run")) as f:
        ci = f.read()
    assert re.search(r"^make bench-quick$", ci, re.M), "CI still runs the benchmark smoke test"


# ---------------------------------------------------------------- item 12: make demo builds in parallel

# Each build only succeeds if the other one started while it runs: run one after the other, the
# first waits for the second in vain and fails.
RENDEZVOUS = """
fake-server:
\t@touch $(MARKS)/server.started; for i in $$(seq 600); do [ -e $(MARKS)/venv.started ] && exit 0; sleep 0.1; done; \\
\t echo "the venv build never ran alongside" >&2; exit 1
fake-venv:
\t@touch $(MARKS)/venv.started; for i in $$(seq 600); do [ -e $(MARKS)/server.started ] && exit 0; sleep 0.1; done; \\
\t echo "the server build never ran alongside" >&2; exit 1
broken-server:
\t@echo "cmd/streamviz: syntax error, the compiler says"; exit 2
"""


def demo_env(tmp_path, server: str = "fake-server") -> dict:
    env = fake_makefile(tmp_path, RENDEZVOUS)
    env.update(DEMO_GO_TARGET=server, DEMO_VENV_TARGET="fake-venv", DEMO_RUN="echo the demo runs with",
               DEMO_LOGS=str(tmp_path / "logs"))
    return env


def test_make_demo_builds_the_server_and_the_venv_in_parallel_says_so_then_runs_the_demo(tmp_path):
    r = make("demo", "DEMO_ARGS=--manual", env=demo_env(tmp_path))
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "building the server (Go" in r.stderr and "in parallel" in r.stderr, r.stderr
    assert str(tmp_path / "logs" / "server.log") in r.stderr and str(tmp_path / "logs" / "venv.log") in r.stderr
    assert re.search(r"built in \d+s; starting the demo", r.stderr), r.stderr
    assert "the demo runs with --manual" in r.stdout


def test_make_demo_names_the_build_that_failed_and_shows_its_log(tmp_path):
    r = make("demo", env=demo_env(tmp_path, server="broken-server"))
    assert r.returncode != 0
    assert "building the server failed (status 2)" in r.stderr, r.stderr
    assert "syntax error, the compiler says" in r.stderr
    assert "the demo runs" not in r.stdout


# ---------------------------------------------------------------- item 10: README snippets in the venv


def readme_programs() -> list[str]:
    with open(os.path.join(REPO, "README.md")) as f:
        text = f.read()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    return [b for b in blocks if b.startswith("import ")]


def test_the_readme_has_runnable_programs():
    progs = readme_programs()
    assert len(progs) >= 2 and any("pw.run()" in p for p in progs) and any(".send(" in p for p in progs), progs


@pytest.mark.parametrize("index", range(len(readme_programs())))
def test_every_readme_program_runs_as_is_with_the_venv_make_demo_makes(tmp_path, index):
    if not os.access(VENV_PYTHON, os.X_OK):
        pytest.fail(f"{VENV_PYTHON} is missing: make venv (make test makes it)")
    script = tmp_path / "snippet.py"
    script.write_text(readme_programs()[index])
    # As a user runs it: no STREAMVIZ_BIN, nothing on PYTHONPATH, outside the checkout. Only the
    # port is left to the system (tests never take fixed ports).
    env = {k: v for k, v in os.environ.items() if k not in ("STREAMVIZ_BIN", "PYTHONPATH", "VIRTUAL_ENV", "STREAMVIZ_LINGER")}
    env["STREAMVIZ_PORT"] = "0"
    r = subprocess.run([VENV_PYTHON, str(script)], cwd=str(tmp_path), env=env, capture_output=True, text=True,
                       timeout=DEADLINE, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "StreamViz dashboard: http://127.0.0.1:" in r.stderr, r.stderr[-3000:]
    assert "Traceback" not in r.stderr and "Error" not in r.stderr, r.stderr[-3000:]


# ---------------------------------------------------------------- item 13: the demo's output


def test_the_demo_prints_its_url_and_one_status_line_and_pathways_log_goes_to_a_file(tmp_path):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    r = subprocess.run([sys.executable, "-m", "stream_viz", "demo", "--port", "0", "--seconds", "6"], cwd=str(tmp_path),
                       env=env, capture_output=True, text=True, timeout=DEADLINE, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in (r.stdout + r.stderr).splitlines() if ln.strip()]
    assert len([ln for ln in lines if ln.startswith("StreamViz dashboard: http://127.0.0.1:")]) == 1, lines
    assert not [ln for ln in lines if ":INFO:" in ln or ":WARNING:" in ln], "Pathway's log is not on the terminal:\n" + "\n".join(lines)
    # The URL, the status when it starts and when it stops: nothing else.
    assert len(lines) == 3, "\n".join(lines)
    assert re.match(r"demo running \d+s: [\d,]+ orders, \$[\d,]+ revenue; Pathway log: \S+; Ctrl-C to stop", lines[1]), lines[1]
    assert re.match(r"demo stopped after \d+s: [\d,]+ orders", lines[2]), lines[2]
    log = re.search(r"Pathway log: (\S+);", lines[1]).group(1)
    with open(log) as f:
        assert "Preparing Pathway computation" in f.read()
    os.remove(log)
