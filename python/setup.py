"""Builds the Go server into the package, so an installed wheel needs neither Go nor the checkout.

The binary is compiled with CGO_ENABLED=0 from the repository root (one directory up) into
src/stream_viz/_bin/streamviz. A source tree without Go can still build when STREAMVIZ_BIN names a
binary to bundle instead.
"""

import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from wheel.bdist_wheel import bdist_wheel

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


class BuildWithServer(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            # An editable install (`make venv`) runs from the checkout, whose `make build` output
            # the package finds (stream_viz._server.find_binary): building here would only
            # compile the server a second time, into a directory nothing reads.
            return
        # go build runs from the repository root, so the target must be absolute.
        target = Path(self.build_lib).resolve() / "stream_viz" / "_bin" / "streamviz"
        target.parent.mkdir(parents=True, exist_ok=True)
        prebuilt = os.environ.get("STREAMVIZ_BIN")
        if prebuilt:
            shutil.copy2(prebuilt, target)
        else:
            if not (REPO / "go.mod").exists():
                raise SystemExit(f"stream-viz: cannot build the server: no go.mod in {REPO} "
                                 "(set STREAMVIZ_BIN to a built binary)")
            if shutil.which("go") is None:
                raise SystemExit("stream-viz: building from source needs Go (https://go.dev/dl) or STREAMVIZ_BIN")
            env = dict(os.environ, CGO_ENABLED="0")
            # `streamviz version` names the release it ships in; without it a -trimpath build
            # outside a VCS checkout says "devel".
            ldflags = f"-X main.version={self.distribution.get_version()}"
            subprocess.run(["go", "build", "-trimpath", "-ldflags", ldflags, "-o", str(target), "./cmd/streamviz"],
                           cwd=REPO, env=env, check=True)
        target.chmod(0o755)


class PlatformWheel(bdist_wheel):
    # The bundled binary is native code: the wheel is per platform, not pure Python.
    def finalize_options(self):
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self):
        _, _, plat = super().get_tag()
        return "py3", "none", plat


setup(cmdclass={"build_py": BuildWithServer, "bdist_wheel": PlatformWheel})
