#!/usr/bin/env python3
"""The README's two commands, on a fresh machine with only Python >= 3.11 and git (and the two checks
`.ci/run` adds).

    python3 dev.py demo    # a simulated trading day on the embedded default (no credentials, no network)
    python3 dev.py test    # the whole test suite
    python3 dev.py lint-imports   # the import layers (contracts in pyproject.toml; .ci/run runs it)
    python3 dev.py mypy           # the type check ([tool.mypy] in pyproject.toml; .ci/run runs it)

Each creates `.venv` on first use and install the project into it (standard library only here).
Extra arguments go to the command (`python3 dev.py test -k calendar`, `python3 dev.py demo --days 2`).
`test` runs in parallel (pytest-xdist, see `parallel_args`); `python3 dev.py test -n 0` runs serially.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("HANTU_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
STAMP = VENV / ".hantu-installed"


def ensure_venv(extras: str) -> None:
    """Create the venv and (re)install the project when pyproject.toml changed or extras are missing."""
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py runs on whatever python3 the user has
        sys.exit("Python 3.11 or newer is needed")
    if not PYTHON.exists():
        print(f"creating {VENV} ...", flush=True)
        for attempt in (1, 2):
            try:
                venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
                break
            except subprocess.CalledProcessError:  # ensurepip can fail on a busy machine: start clean once more
                shutil.rmtree(VENV, ignore_errors=True)
                if attempt == 2:
                    raise
    mtime = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    installed_extras, _, installed_mtime = (STAMP.read_text() if STAMP.exists() else "").partition("|")
    if installed_mtime == mtime and extras in ("", installed_extras):
        return
    print("installing the project (first run takes a minute) ...", flush=True)
    subprocess.run([str(PYTHON), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    target = f"{ROOT}[{extras}]" if extras else str(ROOT)
    subprocess.run([str(PYTHON), "-m", "pip", "install", "-q", "-e", target], check=True)
    STAMP.write_text(f"{extras}|{mtime}")


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("demo", "test", "lint-imports", "mypy"):
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "demo":
        ensure_venv("")
        return subprocess.call([str(BIN / "hantu"), "demo", *rest])
    ensure_venv("dev")
    if command == "lint-imports":
        return subprocess.call([str(BIN / "lint-imports"), *rest], cwd=ROOT)
    if command == "mypy":
        return subprocess.call([str(BIN / "mypy"), *rest], cwd=ROOT)
    return subprocess.call([str(PYTHON), "-m", "pytest", *parallel_args(rest), *rest], cwd=ROOT)


def parallel_args(rest: list[str]) -> list[str]:
    """pytest-xdist options unless `rest` chooses its own (`-n 0` or `-p no:xdist` runs serially).

    Twice as many workers as cores, 2 to 8 (measured: most slow tests wait on subprocesses, servers and
    sockets, not CPU); `--dist loadgroup` keeps the tests marked `xdist_group` on one worker. HANTU_TEST_WORKERS
    sets the number."""
    for arg in rest:
        if arg in ("-n", "--numprocesses", "--dist") or arg.startswith(("-n", "--numprocesses=", "--dist=")):
            return []
        if arg.replace(" ", "") in ("no:xdist", "-pno:xdist"):
            return []
    workers = os.environ.get("HANTU_TEST_WORKERS") or str(min(8, max(2, 2 * (os.cpu_count() or 1))))
    return ["-n", workers, "--dist", "loadgroup"]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
