"""The shipped XKRX holiday snapshot equals what the `holidays` package computes (regenerate on mismatch)."""

from __future__ import annotations

import pytest

from hantu.market import calendar


@pytest.mark.parametrize("year", range(2021, 2028))
def test_snapshot_matches_the_holidays_package(year: int) -> None:
    table = calendar._holiday_table()
    assert year in table
    assert table[year] == calendar.library_holidays(year), (
        "xkrx_holidays.json is out of date with the installed `holidays`: run `python -m hantu.market.calendar`")


def test_years_outside_the_snapshot_fall_back_to_the_package() -> None:
    from datetime import date

    assert 2036 not in calendar._holiday_table()
    assert not calendar.is_trading_day(date(2036, 1, 1))  # New Year's Day (a Tuesday), from the package
    assert calendar.is_trading_day(date(2036, 1, 2))
