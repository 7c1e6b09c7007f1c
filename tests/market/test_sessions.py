"""The off-hours sessions of the one timetable (`calendar.SessionTimes.sessions_at`) and the 시간외 단일가 band."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from hantu.clock import KST
from hantu.domain.orders import MarketSession as S
from hantu.market import calendar
from hantu.market.order_rules import single_price_band

DAY = date(2026, 11, 6)  # a normal Friday
EXAM = date(2026, 11, 19)  # 수능: everything an hour later


def _at(day: date, hhmm: str) -> datetime:
    h, m = (int(x) for x in hhmm.split(":"))
    return datetime.combine(day, time(h, m), tzinfo=KST)


@pytest.mark.parametrize(("hhmm", "expected"), [
    ("08:29", {S.CLOSED}), ("08:30", {S.PRE_MARKET, S.OPENING_AUCTION}), ("08:40", {S.OPENING_AUCTION}),
    ("09:00", {S.CONTINUOUS}), ("15:19", {S.CONTINUOUS}), ("15:20", {S.CLOSING_AUCTION}), ("15:35", {S.CLOSED}),
    ("15:40", {S.AFTER_HOURS}), ("16:00", {S.SINGLE_PRICE}), ("17:59", {S.SINGLE_PRICE}), ("18:00", {S.CLOSED}),
])
def test_sessions_of_a_normal_day(hhmm: str, expected: set[S]) -> None:
    assert calendar.session(DAY).sessions_at(_at(DAY, hhmm)) == expected


def test_exam_day_shifts_the_off_hours_sessions_too() -> None:
    times = calendar.session(EXAM)
    assert times.sessions_at(_at(EXAM, "16:45")) == {S.AFTER_HOURS}
    assert times.sessions_at(_at(EXAM, "18:30")) == {S.SINGLE_PRICE}
    assert times.last_order_time == _at(EXAM, "19:00")


def test_single_price_matches_every_ten_minutes() -> None:
    matches = calendar.session(DAY).single_price_matches()
    assert len(matches) == 12 and matches[0] == _at(DAY, "16:10") and matches[-1] == _at(DAY, "18:00")


def test_single_price_band_is_the_close_plus_minus_ten_percent_on_the_tick() -> None:
    assert single_price_band(70_000, DAY, "KOSPI") == (63_000, 77_000)
    assert single_price_band(10_050, DAY, "KOSDAQ") == (9_050, 11_050)
