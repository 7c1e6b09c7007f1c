"""Small helpers tests import (`from helpers import ...`; `tests/` is on pytest's pythonpath)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# HANTU_TEST_SHARED_DATA points elsewhere (e.g. a missing folder, to check what runs on a bare checkout as in CI).
SHARED_DATA = Path(
    os.environ.get("HANTU_TEST_SHARED_DATA") or REPO_ROOT.parent / "shared" / "data" / "krx"
).resolve()


def hantu_cmd(*args: str) -> list[str]:
    """The `hantu` CLI as a subprocess command, using this interpreter."""
    return [sys.executable, "-m", "hantu", *args]


def run_hantu(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 120,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a subprocess with the test's environment (plus `env`)."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    return subprocess.run(
        hantu_cmd(*args), capture_output=True, text=True, env=full_env, cwd=cwd, timeout=timeout, input=input
    )
