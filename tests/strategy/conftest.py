"""Fixtures of the strategy tests: the real KRX windows as panels, loaded once per session."""

from __future__ import annotations

import pytest

from helpers import SHARED_DATA


@pytest.fixture(scope="session")
def krx_panels():  # type: ignore[no-untyped-def]
    """[(window name, DailyPanel)] for every file in the shared KRX data."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    from strategy.krx_csv import read_krx_csv

    files = sorted(SHARED_DATA.glob("krx-daily-*.csv.gz"))
    assert files, "no KRX windows in the shared data"
    return [(f.name.split(".")[0].removeprefix("krx-daily-"), read_krx_csv(f)) for f in files]
