"""The mypy configuration does what it says: strict for the trading core only, and `.ci/run` runs it.

mypy runs as a subprocess on a throw-away package laid out like `hantu`, with the project's `pyproject.toml`,
so the per-module sections are exercised exactly as CI reads them (a `strict = true` in an override section
would silently make every module strict; these tests would see that).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from helpers import REPO_ROOT

UNTYPED = "def double(x):\n    return x * 2\n"


def mypy(root: Path, *files: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(REPO_ROOT / "pyproject.toml"),
         "--cache-dir", str(root / ".mypy_cache"), "--no-incremental", *files],
        cwd=root, capture_output=True, text=True, timeout=120,
    )


def package(root: Path, *modules: str) -> None:
    """`hantu/<sub>/probe.py` with an untyped function, for each dotted `hantu.<sub>` in `modules`."""
    (root / "hantu").mkdir()
    (root / "hantu" / "__init__.py").write_text("")
    for module in modules:
        folder = root.joinpath(*module.split("."))
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "__init__.py").write_text("")
        (folder / "probe.py").write_text(UNTYPED)


@pytest.mark.parametrize("strict", ["hantu.domain", "hantu.broker", "hantu.trading"])
def test_the_trading_core_is_checked_strictly(tmp_path: Path, strict: str) -> None:
    pytest.importorskip("mypy")
    package(tmp_path, strict, "hantu.cli")
    probe = f"{strict.replace('.', '/')}/probe.py"
    result = mypy(tmp_path, probe, "hantu/cli/probe.py")
    assert result.returncode == 1, result.stdout + result.stderr
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    # the core's untyped function is an error; the same function in the CLI is not (default mode there)
    assert errors and all(line.startswith(probe) for line in errors), result.stdout
    assert "[no-untyped-def]" in result.stdout


def test_default_mode_elsewhere_still_finds_type_errors(tmp_path: Path) -> None:
    pytest.importorskip("mypy")
    package(tmp_path, "hantu.cli")
    (tmp_path / "hantu" / "cli" / "probe.py").write_text("def name() -> str:\n    return 1\n")
    result = mypy(tmp_path, "hantu/cli/probe.py")
    assert result.returncode == 1 and "[return-value]" in result.stdout, result.stdout


def test_ci_runs_mypy_from_its_venv() -> None:
    script = (REPO_ROOT / ".ci" / "run").read_text()
    assert "\npython3 dev.py mypy" in script  # `set -e`: an error fails the run
    assert 'command == "mypy"' in (REPO_ROOT / "dev.py").read_text()  # dev.py runs the venv's mypy
