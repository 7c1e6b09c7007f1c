"""The KRX calendar: holidays 2021-2027, the year-end closing day, special closures, late opens, overrides."""

from __future__ import annotations

import gzip
import os
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from hantu.clock import KST
from hantu.market import calendar as cal
from hantu.market.calendar import (
    EXAM_DAYS,
    is_trading_day,
    load_calendar_overrides,
    next_trading_day,
    previous_trading_day,
    session,
    trading_days,
)

from helpers import SHARED_DATA

CLOSED = {
    # Seollal (lunar new year) three-day holidays, incl. substitutes
    date(2021, 2, 11), date(2021, 2, 12), date(2022, 1, 31), date(2022, 2, 1), date(2022, 2, 2),
    date(2023, 1, 23), date(2023, 1, 24), date(2024, 2, 9), date(2024, 2, 12), date(2025, 1, 28),
    date(2025, 1, 29), date(2025, 1, 30), date(2026, 2, 16), date(2026, 2, 17), date(2026, 2, 18),
    date(2027, 2, 8), date(2027, 2, 9),
    # Chuseok, incl. substitutes
    date(2021, 9, 20), date(2021, 9, 21), date(2021, 9, 22), date(2022, 9, 9), date(2022, 9, 12),
    date(2023, 9, 28), date(2023, 9, 29), date(2024, 9, 16), date(2024, 9, 17), date(2024, 9, 18),
    date(2025, 10, 6), date(2025, 10, 7), date(2025, 10, 8), date(2026, 9, 24), date(2026, 9, 25),
    date(2027, 9, 14), date(2027, 9, 15), date(2027, 9, 16),
    # other substitute holidays
    date(2021, 8, 16), date(2021, 10, 4), date(2021, 10, 11), date(2022, 10, 10), date(2023, 5, 29),
    date(2024, 5, 6), date(2025, 3, 3), date(2025, 5, 6), date(2026, 3, 2), date(2026, 5, 25),
    date(2026, 8, 17), date(2026, 10, 5), date(2027, 8, 16), date(2027, 10, 4), date(2027, 10, 11),
    # Labor Day, elections, special closures
    date(2023, 5, 1), date(2024, 5, 1), date(2025, 5, 1), date(2026, 5, 1), date(2022, 3, 9), date(2022, 6, 1),
    date(2024, 4, 10), date(2025, 6, 3), date(2026, 6, 3), date(2026, 7, 17), date(2023, 10, 2),
    date(2024, 10, 1),
    # year-end closing days (Dec 31 or the last weekday before it)
    date(2021, 12, 31), date(2022, 12, 30), date(2023, 12, 29), date(2024, 12, 31), date(2025, 12, 31),
    date(2026, 12, 31), date(2027, 12, 31),
    # New Year's Day on a weekday
    date(2021, 1, 1), date(2024, 1, 1), date(2025, 1, 1), date(2026, 1, 1), date(2027, 1, 1),
}

OPEN = {
    date(2021, 2, 10), date(2021, 2, 15), date(2022, 12, 29), date(2023, 12, 28), date(2024, 12, 30),
    date(2026, 6, 2), date(2026, 6, 4), date(2026, 7, 16), date(2026, 7, 20), date(2026, 12, 30),
    date(2025, 1, 2), date(2026, 1, 2), date(2027, 1, 4), date(2026, 11, 19),
}


@pytest.mark.parametrize("day", sorted(CLOSED), ids=str)
def test_closed_days(day: date) -> None:
    assert not is_trading_day(day)
    with pytest.raises(ValueError, match="not a KRX trading day"):
        session(day)


@pytest.mark.parametrize("day", sorted(OPEN), ids=str)
def test_open_days(day: date) -> None:
    assert is_trading_day(day)


def test_weekends_closed_and_year_counts() -> None:
    for year in range(2021, 2028):
        days = trading_days(date(year, 1, 1), date(year, 12, 31))
        assert all(d.weekday() < 5 for d in days)
        assert 240 <= len(days) <= 252, (year, len(days))
        assert days == sorted(days)
    assert len(trading_days(date(2024, 1, 1), date(2024, 12, 31))) == 244


def test_year_end_closing_day_rule() -> None:
    assert cal.year_end_closing_day(2022) == date(2022, 12, 30)  # Dec 31 is a Saturday
    assert cal.year_end_closing_day(2023) == date(2023, 12, 29)  # Dec 31 is a Sunday
    assert cal.year_end_closing_day(2026) == date(2026, 12, 31)


def test_next_and_previous_are_strict() -> None:
    assert next_trading_day(date(2026, 6, 2)) == date(2026, 6, 4)
    assert previous_trading_day(date(2026, 6, 4)) == date(2026, 6, 2)
    assert next_trading_day(date(2026, 7, 16)) == date(2026, 7, 20)
    assert next_trading_day(date(2025, 12, 30)) == date(2026, 1, 2)
    assert previous_trading_day(date(2026, 1, 2)) == date(2025, 12, 30)
    assert next_trading_day(date(2024, 2, 8)) == date(2024, 2, 13)
    assert next_trading_day(date(2026, 6, 2)) != date(2026, 6, 2)
    assert previous_trading_day(date(2026, 6, 2)) == date(2026, 6, 1)


def test_trading_days_inclusive() -> None:
    assert trading_days(date(2026, 6, 1), date(2026, 6, 5)) == [
        date(2026, 6, 1), date(2026, 6, 2), date(2026, 6, 4), date(2026, 6, 5)]
    assert trading_days(date(2026, 6, 3), date(2026, 6, 3)) == []


def _kst(day: date, hh: int, mm: int) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=KST)


def test_normal_session() -> None:
    day = date(2026, 3, 3)
    s = session(day)
    assert (s.pre_open, s.open, s.close_auction, s.close) == (
        _kst(day, 8, 30), _kst(day, 9, 0), _kst(day, 15, 20), _kst(day, 15, 30))
    assert s.open.utcoffset() == timedelta(hours=9)
    assert s.continuous_minutes == 380 and not s.is_late_open


@pytest.mark.parametrize("day", [date(2021, 1, 4), date(2022, 1, 3), date(2023, 1, 2), date(2024, 1, 2),
                                 date(2025, 1, 2), date(2026, 1, 2), date(2027, 1, 4)], ids=str)
def test_first_trading_day_of_year_opens_late(day: date) -> None:
    s = session(day)
    assert (s.pre_open, s.open, s.close_auction, s.close) == (
        _kst(day, 9, 30), _kst(day, 10, 0), _kst(day, 15, 20), _kst(day, 15, 30))
    assert not session(next_trading_day(day)).is_late_open


@pytest.mark.parametrize("day", sorted(EXAM_DAYS), ids=str)
def test_exam_day_opens_late_and_closes_1630(day: date) -> None:
    s = session(day)
    assert s.open == _kst(day, 10, 0) and s.close == _kst(day, 16, 30)
    assert s.close_auction == _kst(day, 16, 20) and s.pre_open == _kst(day, 9, 30)


def test_exam_days_are_thursdays_in_november_2021_on() -> None:
    for day in EXAM_DAYS:
        if day.year >= 2021:
            assert day.month == 11 and day.weekday() == 3


def test_independent_of_os_timezone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    try:
        s = session(date(2026, 3, 3))
        assert s.open.astimezone(KST).hour == 9
        # a datetime argument is read as its KST date: 2026-06-02 20:00 in LA is 2026-06-03 12:00 in Seoul
        la = datetime.fromisoformat("2026-06-02T20:00:00-07:00")
        assert not is_trading_day(la)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_override_file_closes_and_opens_late(isolated_env: Path) -> None:
    isolated_env.mkdir(parents=True, exist_ok=True)
    path = isolated_env / "calendar_overrides.toml"
    path.write_text('closed = ["2027-03-03"]\nlate_open = ["2027-03-04"]\nexam_day = ["2027-11-18"]\n')
    assert not is_trading_day(date(2027, 3, 3))
    assert next_trading_day(date(2027, 3, 2)) == date(2027, 3, 4)
    assert session(date(2027, 3, 4)).open == _kst(date(2027, 3, 4), 10, 0)
    assert session(date(2027, 11, 18)).close == _kst(date(2027, 11, 18), 16, 30)
    # changed file is re-read
    path.write_text('closed = ["2027-03-05"]\n')
    os.utime(path, (time.time() + 5, time.time() + 5))
    assert is_trading_day(date(2027, 3, 3)) and not is_trading_day(date(2027, 3, 5))


def test_override_json_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "calendar_overrides.json"
    path.write_text('{"closed": ["2027-03-03"], "open": ["2027-05-03"]}')
    ov = load_calendar_overrides(path)
    assert ov.closed == {date(2027, 3, 3)} and ov.open == {date(2027, 5, 3)}
    cal.use_overrides(ov)
    try:
        assert is_trading_day(date(2027, 5, 3)) and not is_trading_day(date(2027, 3, 3))
    finally:
        cal.use_overrides(None)
    assert not is_trading_day(date(2027, 5, 3))
    bad = tmp_path / "bad.toml"
    bad.write_text('closed = ["2027-02-30"]\n')
    with pytest.raises(ValueError, match="invalid date"):
        load_calendar_overrides(bad)
    bad.write_text('close = ["2027-03-03"]\n')
    with pytest.raises(ValueError, match="unknown keys"):
        load_calendar_overrides(bad)


def test_matches_real_krx_dates() -> None:
    """Every day of real data is a trading day, and only one known day is missing from the data (the marcap
    dataset lacks 2021-01-22, a normal Friday session)."""
    if not SHARED_DATA.is_dir():
        pytest.skip("shared data missing")
    for path in sorted(SHARED_DATA.glob("krx-daily-*.csv.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            next(fh)
            dates = sorted({date.fromisoformat(line[:10]) for line in fh})
        expected = trading_days(dates[0], dates[-1])
        assert set(dates) <= set(expected), path.name
        assert set(expected) - set(dates) <= {date(2021, 1, 22)}, path.name
