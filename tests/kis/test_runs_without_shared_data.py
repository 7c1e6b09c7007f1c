"""The KIS contract tests run on a bare checkout (as in the GitHub workflow): no skip for missing ../shared."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from helpers import REPO_ROOT


def test_contract_tests_run_with_the_shared_data_hidden(tmp_path: Path) -> None:
    env = dict(os.environ, HANTU_TEST_SHARED_DATA=str(tmp_path / "no-shared-data"))
    target = "tests/kis/test_endpoints.py::test_unknown_stock_is_a_clear_invalid_input_error"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs", target],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout and "skipped" not in done.stdout, done.stdout
