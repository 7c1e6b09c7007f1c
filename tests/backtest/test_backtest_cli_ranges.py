"""`hantu backtest` without --from on a store of separate windows names the store's longest contiguous ranges
(never the stub of a window the default year happens to clip), and the `--help` examples run on the KRX 2024
window the docs tell users to import."""

from __future__ import annotations

import json
import re
import shlex
from datetime import date
from pathlib import Path

import pytest

from helpers import run_hantu


@pytest.fixture
def two_sample_windows(isolated_env: Path):  # type: ignore[no-untyped-def]
    """The sample market cut to the dates of the 2023 and 2024 KRX windows (a gap of ten months between)."""
    from hantu.market.sample import generate_sample_market
    from hantu.market.store import MarketStore

    market = generate_sample_market(stocks=30, days=300, seed=5, end=date(2024, 2, 13))
    windows = ((date(2023, 1, 2), date(2023, 2, 14)), (date(2024, 1, 2), date(2024, 2, 13)))
    kept = [d for d in market.days if any(a <= d.day <= b for a, b in windows)]
    store = MarketStore(isolated_env / "market")
    store.write_days(kept, source="test")
    return store


def test_no_from_names_the_longest_contiguous_ranges(two_sample_windows) -> None:  # type: ignore[no-untyped-def]
    result = run_hantu("backtest", "-s", "momentum")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "--from 2023-01-02 --to 2023-02-14  (30 trading days)" in result.stderr
    assert "--from 2024-01-02 --to 2024-02-13  (29 trading days" in result.stderr
    assert "--from 2023-02-13" not in result.stderr  # the two-day stub the default year clips
    assert "--allow-gaps" in result.stderr


def _window_examples() -> list[list[str]]:
    help_text = run_hantu("backtest", "--help", env={"COLUMNS": "200"}).stdout
    lines = [line.strip() for line in help_text.splitlines() if "--from 2024-01-02 --to 2024-02-13" in line]
    return [shlex.split(line)[1:] for line in lines if line.startswith("hantu backtest ")]


def test_help_examples_run_on_the_real_2024_window(shared_krx: Path, isolated_env: Path) -> None:
    examples = _window_examples()
    assert len(examples) >= 3
    imported = run_hantu("data", "import", "krx-csv", str(shared_krx / "krx-daily-2024q1.csv.gz"))
    assert imported.returncode == 0, imported.stderr
    for args in examples:
        args = [a for a in args if a != "--json"] + ["--json"]
        result = run_hantu(*args, timeout=300)
        assert result.returncode == 0, (args, result.stderr)
        payload = json.loads(result.stdout)
        assert re.search(r"2024-01-0\d", json.dumps(payload)), args
