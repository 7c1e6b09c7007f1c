"""The KRX trading calendar and daily session times, in Asia/Seoul whatever the OS timezone.

Sources, in order:
1. `holidays.financial_holidays("XKRX")` — public, lunar, substitute and election holidays, Labor Day and the
   2026 special closures (2026-06-03, 2026-07-17).
2. The year-end closing day (Dec 31, or the last weekday before it), computed here as well so that a
   `holidays` release that forgets it cannot open the market on that day.
3. A local override file, `$HANTU_HOME/calendar_overrides.toml` (or `.json`), for closures announced at
   short notice and for late-open days not yet in `EXAM_DAYS`:

   ```toml
   closed = ["2027-03-03"]        # extra closures
   open = ["2027-05-03"]          # force a day open that the holiday data closes (a data error)
   late_open = ["2028-01-03"]     # opens at 10:00, normal 15:30 close
   exam_day = ["2027-11-18"]      # 수능: opens at 10:00, closes at 16:30
   ```

Late opens: the first trading day of every year opens at 10:00 (opening auction 09:30-10:00) and closes at
15:30 as usual; on the college entrance exam day (수능, `EXAM_DAYS`) the market opens at 10:00 and closes at
16:30 (closing auction 16:20-16:30).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path

from hantu.clock import KST
from hantu.domain.orders import MarketSession

# 수능 (college scholastic ability test) days: the market opens at 10:00 and closes at 16:30.
# One dated table; later years go here (or into the override file's `exam_day` as soon as announced).
EXAM_DAYS: frozenset[date] = frozenset({
    date(2020, 12, 3),   # 2021학년도 (postponed by COVID-19)
    date(2021, 11, 18),  # 2022학년도
    date(2022, 11, 17),  # 2023학년도
    date(2023, 11, 16),  # 2024학년도
    date(2024, 11, 14),  # 2025학년도
    date(2025, 11, 13),  # 2026학년도
    date(2026, 11, 19),  # 2027학년도
})


@dataclass(frozen=True)
class SessionSchedule:
    """Times of one kind of trading day (naive wall-clock times in KST)."""

    pre_open: time
    open: time
    close_auction: time
    close: time
    pre_market_end: time  # 장전 시간외 종가 runs from `pre_open` to here
    after_hours: time  # 장후 시간외 종가 from here to `single_price`
    single_price: time  # 시간외 단일가 from here to `single_price_end`, matched every 10 minutes
    single_price_end: time


# The timetable: one source of truth for every session time. On a late-open day (the year's first trading day)
# the morning shifts one hour; on the exam day (수능) the whole day does, the off-hours sessions too.
NORMAL_SCHEDULE = SessionSchedule(time(8, 30), time(9, 0), time(15, 20), time(15, 30),
                                  time(8, 40), time(15, 40), time(16, 0), time(18, 0))
LATE_OPEN_SCHEDULE = SessionSchedule(time(9, 30), time(10, 0), time(15, 20), time(15, 30),
                                     time(9, 40), time(15, 40), time(16, 0), time(18, 0))
EXAM_DAY_SCHEDULE = SessionSchedule(time(9, 30), time(10, 0), time(16, 20), time(16, 30),
                                    time(9, 40), time(16, 40), time(17, 0), time(19, 0))
SINGLE_PRICE_INTERVAL_MINUTES = 10  # 시간외 단일가 is matched every 10 minutes
SINGLE_PRICE_BAND = 0.10  # 시간외 단일가 prices: within ±10 % of the day's close (and the daily limits)

OVERRIDE_FILE_NAMES = ("calendar_overrides.toml", "calendar_overrides.json")


@dataclass(frozen=True)
class SessionTimes:
    """One trading day's session, aware datetimes in Asia/Seoul.

    `pre_open` starts the opening single-price auction, `open` continuous trading, `close_auction` the closing
    single-price auction, which is matched at `close`.
    """

    day: date
    pre_open: datetime
    open: datetime
    close_auction: datetime
    close: datetime
    pre_market_end: datetime | None = None
    after_hours: datetime | None = None
    single_price: datetime | None = None
    single_price_end: datetime | None = None

    @property
    def last_order_time(self) -> datetime:
        """When the day's last session (시간외 단일가) ends: no order is accepted after it."""
        return self.single_price_end or self.close

    def sessions_at(self, now: datetime) -> frozenset[MarketSession]:
        """The sessions running at `now` (08:30–08:40 is both the pre-market and the opening auction)."""
        out: set[MarketSession] = set()
        if self.pre_open <= now < (self.pre_market_end or self.pre_open):
            out.add(MarketSession.PRE_MARKET)
        if self.pre_open <= now < self.open:
            out.add(MarketSession.OPENING_AUCTION)
        elif self.open <= now < self.close_auction:
            out.add(MarketSession.CONTINUOUS)
        elif self.close_auction <= now < self.close:
            out.add(MarketSession.CLOSING_AUCTION)
        if self.after_hours and self.single_price and self.after_hours <= now < self.single_price:
            out.add(MarketSession.AFTER_HOURS)
        if self.single_price and self.single_price_end and self.single_price <= now < self.single_price_end:
            out.add(MarketSession.SINGLE_PRICE)
        return frozenset(out) or frozenset({MarketSession.CLOSED})

    def single_price_matches(self) -> list[datetime]:
        """The 시간외 단일가 matching times: every 10 minutes after its start, the last at its end."""
        if self.single_price is None or self.single_price_end is None:
            return []
        step = timedelta(minutes=SINGLE_PRICE_INTERVAL_MINUTES)
        out, at = [], self.single_price + step
        while at <= self.single_price_end:
            out.append(at)
            at += step
        return out

    @property
    def is_late_open(self) -> bool:
        return self.open.time() != NORMAL_SCHEDULE.open

    @property
    def continuous_minutes(self) -> int:
        """Minutes of continuous trading (380 on a normal day)."""
        return int((self.close_auction - self.open).total_seconds() // 60)


@dataclass(frozen=True)
class CalendarOverrides:
    """Local corrections to the calendar (see the module docstring for the file format)."""

    closed: frozenset[date] = field(default_factory=frozenset)
    open: frozenset[date] = field(default_factory=frozenset)
    late_open: frozenset[date] = field(default_factory=frozenset)
    exam_day: frozenset[date] = field(default_factory=frozenset)
    source: Path | None = None


_EMPTY = CalendarOverrides()


def _parse_dates(raw: object, key: str, path: Path) -> frozenset[date]:
    if raw is None:
        return frozenset()
    if not isinstance(raw, list):
        raise ValueError(f"{path}: `{key}` must be a list of dates")
    out: set[date] = set()
    for item in raw:
        if isinstance(item, datetime):
            out.add(item.date())
        elif isinstance(item, date):
            out.add(item)
        else:
            try:
                out.add(date.fromisoformat(str(item).strip()))
            except ValueError as error:
                raise ValueError(f"{path}: `{key}` has an invalid date {item!r}") from error
    return frozenset(out)


def load_calendar_overrides(path: Path) -> CalendarOverrides:
    """Read an override file (`.toml` or `.json`); a missing file means no overrides."""
    if not path.exists():
        return _EMPTY
    text = path.read_text(encoding="utf-8")
    data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a table of date lists")
    unknown = set(data) - {"closed", "open", "late_open", "exam_day"}
    if unknown:
        raise ValueError(f"{path}: unknown keys {sorted(unknown)} (use closed, open, late_open, exam_day)")
    return CalendarOverrides(
        closed=_parse_dates(data.get("closed"), "closed", path),
        open=_parse_dates(data.get("open"), "open", path),
        late_open=_parse_dates(data.get("late_open"), "late_open", path),
        exam_day=_parse_dates(data.get("exam_day"), "exam_day", path),
        source=path,
    )


def override_file_path() -> Path | None:
    """The override file in `$HANTU_HOME` that exists (toml first), else None."""
    from hantu.config.settings import get_settings

    home = Path(get_settings().hantu_home)
    for name in OVERRIDE_FILE_NAMES:
        candidate = home / name
        if candidate.exists():
            return candidate
    return None


_lock = threading.Lock()
_cache: dict[tuple[str, float], CalendarOverrides] = {}
_forced: CalendarOverrides | None = None


_frozen: list[CalendarOverrides] = []  # the snapshots of the `frozen_overrides()` blocks in progress


def current_overrides() -> CalendarOverrides:
    """The overrides in effect: the ones set by `use_overrides`, else the snapshot of a `frozen_overrides()`
    block in progress, else the file in `$HANTU_HOME` (re-read when it changes)."""
    if _forced is not None:
        return _forced
    if _frozen:
        return _frozen[-1]
    path = override_file_path()
    if path is None:
        return _EMPTY
    key = (str(path), os.stat(path).st_mtime)
    with _lock:
        cached = _cache.get(key)
        if cached is None:
            cached = load_calendar_overrides(path)
            _cache.clear()
            _cache[key] = cached
        return cached


@contextlib.contextmanager
def frozen_overrides() -> Iterator[CalendarOverrides]:
    """Read the override file once and use that snapshot inside the block, for work that asks the calendar
    thousands of times and must see one calendar throughout (a backtest: one `stat` per run, not per call).
    Process-wide, re-entrant; outside every block the file is checked on each call as before."""
    snapshot = current_overrides()
    with _lock:
        _frozen.append(snapshot)
    try:
        yield snapshot
    finally:
        with _lock:
            del _frozen[max(i for i, item in enumerate(_frozen) if item is snapshot)]


def use_overrides(overrides: CalendarOverrides | None) -> None:
    """Pin the overrides (tests, the sandbox); None goes back to the file in `$HANTU_HOME`."""
    global _forced
    _forced = overrides


# `holidays.financial_holidays("XKRX")` snapshotted for HOLIDAY_TABLE_YEARS: importing the `holidays` package
# costs a long-running process ~20 MB of memory, so the table is read from this file instead and the package is
# only imported for years outside it. `tests/market/test_holiday_table.py` checks the file against the package;
# after upgrading `holidays`, regenerate it with `python -m hantu.market.calendar`.
HOLIDAY_TABLE = Path(__file__).with_name("xkrx_holidays.json")
HOLIDAY_TABLE_YEARS = range(2000, 2036)


def library_holidays(year: int) -> frozenset[date]:
    """The exchange holidays of `year` straight from the `holidays` package."""
    import holidays

    return frozenset(holidays.financial_holidays("XKRX", years=year).keys())


@lru_cache(maxsize=1)
def _holiday_table() -> dict[int, frozenset[date]]:
    try:
        raw = json.loads(HOLIDAY_TABLE.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    return {int(year): frozenset(date.fromisoformat(d) for d in days) for year, days in raw["years"].items()}


def write_holiday_table(path: Path = HOLIDAY_TABLE) -> None:
    """Regenerate the snapshot from the installed `holidays` package."""
    import holidays

    years = {str(y): sorted(d.isoformat() for d in library_holidays(y)) for y in HOLIDAY_TABLE_YEARS}
    path.write_text(json.dumps({"source": f"holidays {holidays.__version__} financial_holidays('XKRX')",
                                "years": years}, indent=0) + "\n", encoding="utf-8")


@lru_cache(maxsize=64)
def _exchange_holidays(year: int) -> frozenset[date]:
    table = _holiday_table()
    days = set(table[year] if year in table else library_holidays(year))
    days.add(year_end_closing_day(year))
    return frozenset(days)


def year_end_closing_day(year: int) -> date:
    """Dec 31, or the last weekday before it."""
    day = date(year, 12, 31)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def _is_trading_day(d: date, ov: CalendarOverrides) -> bool:
    if d in ov.closed:
        return False
    if d in ov.open:
        return True
    return d.weekday() < 5 and d not in _exchange_holidays(d.year)


def is_trading_day(d: date) -> bool:
    """Whether KRX trades on `d` (weekends, holidays, the year-end closing day and overrides closed)."""
    return _is_trading_day(_as_date(d), current_overrides())


def next_trading_day(d: date) -> date:
    """The first trading day strictly after `d`."""
    ov = current_overrides()
    day = _as_date(d) + timedelta(days=1)
    for _ in range(60):
        if _is_trading_day(day, ov):
            return day
        day += timedelta(days=1)
    raise RuntimeError(f"no trading day within 60 days after {d}")


def previous_trading_day(d: date) -> date:
    """The last trading day strictly before `d`."""
    ov = current_overrides()
    day = _as_date(d) - timedelta(days=1)
    for _ in range(60):
        if _is_trading_day(day, ov):
            return day
        day -= timedelta(days=1)
    raise RuntimeError(f"no trading day within 60 days before {d}")


def required_close(day: date) -> date:
    """The last close a decision for trading date `day` needs: the previous trading day's.

    Screening (06:30), selection (08:30) and the session of `day` act on the market as it closed before `day`;
    a store ending earlier is stale (`hantu.market.freshness`). One rule, used by every deciding job and command.
    """
    return previous_trading_day(day)


SETTLEMENT_DAYS = 2  # KRX equities settle T+2 (trading days)


def settlement_day(trade_day: date) -> date:
    """When an execution of `trade_day` settles: its cash moves in the account's deposit (예수금) that day."""
    day = _as_date(trade_day)
    for _ in range(SETTLEMENT_DAYS):
        day = next_trading_day(day)
    return day


def trading_days(start: date, end: date) -> list[date]:
    """Every trading day from `start` to `end`, both inclusive, ascending."""
    ov = current_overrides()
    day, last = _as_date(start), _as_date(end)
    out: list[date] = []
    while day <= last:
        if _is_trading_day(day, ov):
            out.append(day)
        day += timedelta(days=1)
    return out


def _is_first_trading_day_of_year(d: date, ov: CalendarOverrides) -> bool:
    day = date(d.year, 1, 1)
    while not _is_trading_day(day, ov):
        day += timedelta(days=1)
    return day == d


def session(d: date) -> SessionTimes:
    """The session times of trading day `d`; `ValueError` on a non-trading day."""
    day = _as_date(d)
    ov = current_overrides()
    if not _is_trading_day(day, ov):
        raise ValueError(f"{day} is not a KRX trading day")
    if day in EXAM_DAYS or day in ov.exam_day:
        schedule = EXAM_DAY_SCHEDULE
    elif day in ov.late_open or _is_first_trading_day_of_year(day, ov):
        schedule = LATE_OPEN_SCHEDULE
    else:
        schedule = NORMAL_SCHEDULE

    def at(t: time) -> datetime:
        return datetime.combine(day, t, tzinfo=KST)

    return SessionTimes(day=day, pre_open=at(schedule.pre_open), open=at(schedule.open),
                        close_auction=at(schedule.close_auction), close=at(schedule.close),
                        pre_market_end=at(schedule.pre_market_end), after_hours=at(schedule.after_hours),
                        single_price=at(schedule.single_price), single_price_end=at(schedule.single_price_end))


def _as_date(d: date) -> date:
    """Accept a datetime too (its KST date), never silently the OS-local date."""
    if isinstance(d, datetime):
        return (d.replace(tzinfo=KST) if d.tzinfo is None else d.astimezone(KST)).date()
    return d


if __name__ == "__main__":
    write_holiday_table()
    print(f"wrote {HOLIDAY_TABLE}")
