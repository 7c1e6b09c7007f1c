"""Work the API hands to a child Python, so that its libraries never enter this long-running process (quality bar
P2: the API ≤ 80 MB): numpy and the market panel (`market_child`), jinja2 for the dashboard page (`dashboard`).
Each runs once per change of what it reads; the callers cache the answer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TIMEOUT_S = 120


class ChildError(RuntimeError):
    """The child failed: the last line of what it printed on stderr."""


def run_python(args: list[str]) -> bytes:
    """`python ARGS...` with this process's `hantu` importable; its stdout, or `ChildError`."""
    here = str(Path(__file__).resolve().parents[2])  # the `hantu` this process runs (a checkout, or site-packages)
    rest = os.environ.get("PYTHONPATH", "")
    env = {**os.environ, "PYTHONPATH": here + (os.pathsep + rest if rest else "")}
    done = subprocess.run([sys.executable, *args], capture_output=True, timeout=TIMEOUT_S, env=env)
    if done.returncode != 0:
        lines = (done.stderr.decode("utf-8", "replace").strip() or f"exit status {done.returncode}").splitlines()
        raise ChildError(lines[-1][:500])
    return done.stdout
