"""The daily timetable: which job runs when, in Asia/Seoul, on which days.

Times may be fixed ("06:00") or relative to the day's session ("open-30m", "close+10m"), so late opens and the
exam-day close move the market jobs without a second table. Defaults ship in `timetable.toml` beside this file;
`$HANTU_HOME/timetable.toml` overrides individual keys.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from hantu.clock import KST
from hantu.market import calendar

DEFAULT_TIMETABLE_FILE = Path(__file__).with_name("timetable.toml")
_TIME_RE = re.compile(r"^(?:(?P<hm>\d{1,2}:\d{2})|(?P<anchor>open|close|pre_open)(?:(?P<sign>[+-])(?P<mins>\d+)m)?)$")


class TimetableError(ValueError):
    """A timetable file with an unknown key, a bad time or a bad value."""


def parse_when(text: str, job: str) -> str:
    if not _TIME_RE.match(text.strip()):
        raise TimetableError(f"job {job}: {text!r} is neither HH:MM nor open/close[+-Nm]")
    return text.strip()


def resolve_when(text: str, day: date) -> datetime:
    """The moment `text` means on `day` ("close+10m" needs `day` to be a trading day)."""
    match = _TIME_RE.match(text)
    assert match is not None
    if match["hm"]:
        hours, minutes = (int(p) for p in match["hm"].split(":"))
        return datetime.combine(day, time(hours, minutes), KST)
    times = calendar.session(day)
    base: datetime = getattr(times, match["anchor"])
    offset = timedelta(minutes=int(match["mins"] or 0))
    return base + offset if match["sign"] == "+" else base - offset


@dataclass(frozen=True)
class JobSpec:
    name: str
    at: str
    until: str
    market: bool = True
    weekday: int | None = None
    retries: int = 0
    retry_delay: float = 60.0

    def runs_on(self, day: date) -> bool:
        if self.weekday is not None and day.weekday() != self.weekday:
            return False
        return calendar.is_trading_day(day) if self.market else True


@dataclass(frozen=True)
class PlannedRun:
    """One job on one date: when it is due and until when a missed run is still worth starting."""

    job: JobSpec
    day: date
    due: datetime
    deadline: datetime


_KNOWN_KEYS = {"at", "until", "market", "weekday", "retries", "retry_delay"}


def _spec_from(name: str, raw: dict[str, Any], base: JobSpec | None) -> JobSpec:
    unknown = set(raw) - _KNOWN_KEYS
    if unknown:
        raise TimetableError(f"job {name}: unknown keys {sorted(unknown)}")
    if base is None and not {"at", "until"} <= set(raw):
        raise TimetableError(f"job {name}: a new job needs 'at' and 'until'")
    fields: dict[str, Any] = {}
    for key in ("at", "until"):
        if key in raw:
            fields[key] = parse_when(str(raw[key]), name)
    if "market" in raw:
        fields["market"] = bool(raw["market"])
    if "weekday" in raw:
        weekday = int(raw["weekday"])
        if not 0 <= weekday <= 6:
            raise TimetableError(f"job {name}: weekday must be 0..6")
        fields["weekday"] = weekday
    for key in ("retries", "retry_delay"):
        if key in raw:
            value = raw[key]
            if not isinstance(value, int | float) or value < 0:
                raise TimetableError(f"job {name}: {key} must be a non-negative number")
            fields[key] = int(value) if key == "retries" else float(value)
    if base is not None:
        return replace(base, **fields)
    return JobSpec(name=name, **fields)


class Timetable:
    """The jobs in their order of the day."""

    def __init__(self, jobs: list[JobSpec]) -> None:
        self.jobs = jobs
        self.by_name = {job.name: job for job in jobs}

    @classmethod
    def load(cls, override: Path | None = None) -> Timetable:
        with DEFAULT_TIMETABLE_FILE.open("rb") as handle:
            raw = tomllib.load(handle)
        jobs = {name: _spec_from(name, spec, None) for name, spec in raw["jobs"].items()}
        if override is not None and override.is_file():
            try:
                with override.open("rb") as handle:
                    extra = tomllib.load(handle)
            except tomllib.TOMLDecodeError as error:
                raise TimetableError(f"{override}: {error}") from error
            for name, spec in extra.get("jobs", {}).items():
                jobs[name] = _spec_from(name, spec, jobs.get(name))
        return cls(list(jobs.values()))

    def plan(self, day: date) -> list[PlannedRun]:
        """Every run due on `day`, in time order (none of the market jobs on a non-trading day)."""
        runs = [PlannedRun(job, day, resolve_when(job.at, day), resolve_when(job.until, day))
                for job in self.jobs if job.runs_on(day)]
        return sorted(runs, key=lambda run: run.due)

    def next_runs(self, after: datetime, horizon_days: int = 10) -> list[PlannedRun]:
        """Planned runs strictly after `after`, over the next days (for the heartbeat and the loop)."""
        out: list[PlannedRun] = []
        for offset in range(horizon_days):
            out.extend(r for r in self.plan(after.date() + timedelta(days=offset)) if r.due > after)
            if out:
                break
        return out


def load_timetable(home: Path) -> Timetable:
    return Timetable.load(home / "timetable.toml")
