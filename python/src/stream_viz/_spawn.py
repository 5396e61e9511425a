"""One dashboard for a `pathway spawn --processes N` run.

`pathway spawn` starts N copies of the script, each with PATHWAY_PROCESSES=N, its own
PATHWAY_PROCESS_ID and the run's PATHWAY_RUN_ID. Pathway hands the output of every subscription to
process 0, so process 0 spawns the one server (on the requested or default port) and prints the
URL; the others join its bus silently (what they .send() by hand still arrives) and leave the
widget configs to process 0.

Each process reports how its start went in a directory of the run, and sv.start() returns only
once every process reported: a start that fails in one process fails in all of them, before
pw.run(), where a process left alone would wait for its peers forever.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from ._errors import ServerStartError

# How long a process waits for process 0's server, then for every process's report. Process 0
# may take the server's own ready timeout (30 s) and a connect timeout (10 s) to fail.
WAIT = 60.0


@dataclass(frozen=True)
class Peer:
    """This process's place in a multi-process `pathway spawn` run."""

    index: int
    count: int
    run_dir: Path | None  # None when the processes share no machine (pathway spawn --addresses)

    @property
    def leader(self) -> bool:
        return self.index == 0

    def report(self, ok: bool, error: str | None = None, **info: Any) -> None:
        if self.run_dir is None:
            return
        _write(self.run_dir / f"{self.index}.json", {"ok": ok, "error": error, "pid": os.getpid(), **info})

    def wait_for(self, index: int, timeout: float = WAIT) -> dict[str, Any]:
        """Process index's report; ServerStartError when it does not come within timeout."""
        assert self.run_dir is not None
        path = self.run_dir / f"{index}.json"
        deadline = time.monotonic() + timeout
        while True:
            got = _read(path)
            if got is not None:
                return got
            if time.monotonic() > deadline:
                raise ServerStartError(f"process {index} of this pathway spawn did not start its dashboard within {timeout:.0f}s "
                                       f"(process {self.index} waited for it)")
            time.sleep(0.05)

    def wait_all(self, timeout: float = WAIT) -> None:
        """Returns once every process reported a good start; raises ServerStartError naming the
        first that failed, or did not report within timeout."""
        if self.run_dir is None:
            return
        for i in range(self.count):
            if i == self.index:
                continue
            got = self.wait_for(i, timeout)
            if not got.get("ok"):
                raise ServerStartError(f"process {i} of this pathway spawn could not start its dashboard: {got.get('error')}")
        _write(self.run_dir / f"{self.index}.done", {})

    def clean(self) -> None:
        """Process 0, at the end: removes the run's directory once every process is past start."""
        if self.run_dir is None or not self.leader:
            return
        if all((self.run_dir / f"{i}.done").exists() for i in range(self.count)):
            shutil.rmtree(self.run_dir, ignore_errors=True)


def from_env(env: Mapping[str, str] | None = None) -> Peer | None:
    """This process's Peer under `pathway spawn` with several processes, else None."""
    env = os.environ if env is None else env
    try:
        count = int(env.get("PATHWAY_PROCESSES", "1") or 1)
        index = int(env.get("PATHWAY_PROCESS_ID", "0") or 0)
    except ValueError:
        return None
    if count <= 1:
        return None
    run = env.get("PATHWAY_RUN_ID")
    if not run or env.get("PATHWAY_ADDRESSES"):
        return Peer(index, count, None)
    base = Path(tempfile.gettempdir()) / f"stream_viz-{os.getuid()}"
    base.mkdir(mode=0o700, exist_ok=True)
    st = base.stat()
    if st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise ServerStartError(f"{base} must belong to this user and be private (mode 0700) to coordinate a pathway spawn")
    # The run id is shared by the processes of one run; a rescaled run starts another count.
    run_dir = base / f"spawn-{''.join(c for c in run if c.isalnum() or c == '-')}-{count}"
    run_dir.mkdir(exist_ok=True)
    return Peer(index, count, run_dir)


def _write(path: Path, body: dict[str, Any]) -> None:
    # Written whole, then renamed: a reader never sees half a report.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as f:
        json.dump(body, f)
    os.replace(tmp, path)


def _read(path: Path) -> dict[str, Any] | None:
    try:
        with open(path) as f:
            return cast(dict[str, Any], json.load(f))  # _write wrote it: one JSON object
    except FileNotFoundError:
        return None
    except ValueError:
        return None
