from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from hantu.clock import KST
from hantu.scheduler.timetable import Timetable, TimetableError


def at(day: date, hm: str) -> datetime:
    h, m = map(int, hm.split(":"))
    return datetime(day.year, day.month, day.day, h, m, tzinfo=KST)


def test_normal_day_plan() -> None:
    day = date(2026, 11, 27)  # a Friday, trading day
    plan = {r.job.name: r for r in Timetable.load().plan(day)}
    assert plan["data_sync"].due == at(day, "06:00")
    assert plan["screening"].due == at(day, "06:30")
    assert plan["selection"].due == at(day, "08:30")
    assert plan["trading_session"].due == at(day, "09:00")
    assert plan["trading_session"].deadline == at(day, "15:30")
    assert plan["close_out"].due == at(day, "15:40")
    assert plan["daily_report"].due == at(day, "16:00")
    assert plan["performance"].due == at(day, "17:00")
    assert plan["backtest_refresh"].due == at(day, "18:00")
    assert "weekly_maintenance" not in plan


def test_holiday_and_weekend_run_no_market_jobs() -> None:
    table = Timetable.load()
    assert table.plan(date(2026, 10, 9)) == []  # 한글날
    saturday = [r.job.name for r in table.plan(date(2026, 11, 28))]
    assert saturday == ["weekly_maintenance"]


def test_late_open_and_exam_day_shift_the_session_jobs() -> None:
    table = Timetable.load()
    first = {r.job.name: r for r in table.plan(date(2026, 1, 2))}
    assert first["selection"].due == at(date(2026, 1, 2), "09:30")
    assert first["trading_session"].due == at(date(2026, 1, 2), "10:00")
    exam = {r.job.name: r for r in table.plan(date(2026, 11, 19))}
    assert exam["trading_session"].due == at(date(2026, 11, 19), "10:00")
    assert exam["trading_session"].deadline == at(date(2026, 11, 19), "16:30")
    assert exam["close_out"].due == at(date(2026, 11, 19), "16:40")
    assert exam["daily_report"].due == at(date(2026, 11, 19), "17:00")


def test_override_file(tmp_path: Path) -> None:
    path = tmp_path / "timetable.toml"
    path.write_text('[jobs.screening]\nat = "07:15"\n')
    table = Timetable.load(path)
    assert table.by_name["screening"].at == "07:15"
    assert table.by_name["screening"].until == "close-10m"


@pytest.mark.parametrize("body, message", [
    ('[jobs.screening]\nat = "25:99x"\n', "neither HH:MM"),
    ('[jobs.screening]\nwhen = "07:00"\n', "unknown keys"),
    ('[jobs.newjob]\nat = "07:00"\n', "needs 'at' and 'until'"),
    ('[jobs.screening]\nretries = -1\n', "non-negative"),
])
def test_bad_override_is_a_clear_error(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "timetable.toml"
    path.write_text(body)
    with pytest.raises(TimetableError, match=message):
        Timetable.load(path)
