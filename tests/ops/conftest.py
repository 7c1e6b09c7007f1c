"""Fixtures for the operations-kit tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from ops_testkit import Repos, meminfo_text


@pytest.fixture
def meminfo(tmp_path: Path):  # type: ignore[no-untyped-def]
    """`meminfo(total, available)` writes a fake /proc/meminfo and returns its path."""

    def write(total_mb: int = 1024, available_mb: int = 900, swap_total_mb: int = 2048,
              swap_free_mb: int = 2048) -> Path:
        path = tmp_path / f"meminfo-{available_mb}-{swap_total_mb}"
        path.write_text(meminfo_text(total_mb, available_mb, swap_total_mb, swap_free_mb))
        return path

    return write


@pytest.fixture
def script_env(tmp_path: Path) -> dict[str, str]:
    """Environment for the shell scripts: this interpreter's hantu, the test's isolated settings."""
    env = dict(os.environ)
    env["HANTU_PYTHON"] = sys.executable
    env["HANTU_DEPLOY_STATE"] = str(tmp_path / "deploy_state.json")
    env.pop("HANTU_VENV", None)
    return env


@pytest.fixture
def repos(tmp_path: Path) -> Repos:
    return Repos(tmp_path / "git")
