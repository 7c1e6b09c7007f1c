"""Output piped to a file or another program is not wrapped at rich's fallback of 80 columns."""

from __future__ import annotations

import os
import subprocess

from helpers import hantu_cmd


def _piped(*args: str, columns: str | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    if columns:
        env["COLUMNS"] = columns
    done = subprocess.run(hantu_cmd(*args), capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_piped_table_keeps_each_row_on_one_line() -> None:
    out = _piped("strategy", "list")
    [row] = [line for line in out.splitlines() if "│ momentum" in line]
    assert row.rstrip(" │").endswith("trailing stop and time.")
    assert len(row) > 80
    assert "override with --param section.key=value" in out  # a long plain line is not broken either


def test_an_explicit_columns_still_wins() -> None:
    out = _piped("strategy", "list", columns="80")
    assert all(len(line) <= 80 for line in out.splitlines())
