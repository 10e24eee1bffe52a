"""The fake endpoint of the tests in its own process, for the collector benchmarks
(bench_collect.py, bench_org.py): `python -m fakeecs ARGS`, so its CPU is not the collector's;
and where their `--profile` finds py-spy."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
KEY_ID = "LTAI5tTestKeyId0001"  # tests/fakeecs/cloud.py's key
SECRET = "TestSecretValue-7f3c9a2e-do-not-print"


class Fake:
    """`python -m fakeecs *args --latency L`: its URL, then (on close) what it saw."""

    def __init__(self, args: list[str], latency: float) -> None:
        env = dict(os.environ, PYTHONPATH=str(REPO / "tests"))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "fakeecs", *args, "--latency", str(latency)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=REPO)
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()
        if not self.url.startswith("http://"):
            self.process.kill()
            sys.exit("the fake endpoint did not start")

    def close(self, timeout: float = 60) -> dict[str, Any]:
        """Stops the fake; its summary: calls per action, API phase, CPU seconds."""
        out, _ = self.process.communicate("\n", timeout=timeout)
        return dict(json.loads(out.strip().splitlines()[-1]))


def py_spy() -> str:
    """The py-spy beside this Python, or on PATH; exits with a hint when there is none."""
    beside = Path(sys.executable).parent / "py-spy"
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if found is None:
        sys.exit("--profile needs py-spy: pip install py-spy")
    return found
