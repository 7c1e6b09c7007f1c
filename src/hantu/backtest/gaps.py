"""Calendar gaps in a backtest's data: XKRX trading days missing from the panel inside the tested range.

A store holding separate windows (say 2023q1 and 2024q1) loads as one panel whose consecutive rows can be
months apart: a backtest over it would hold positions across the gap (a 10-month trade with `holding_days` 10)
and annualise its figures over the stored days only. `find_gaps` finds every run of more than
`MAX_MISSING_TRADING_DAYS` consecutive missing trading days between the first and the last stored day of the
range; the service refuses such a range unless told to allow it, and then the report carries the warning.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from hantu.market.calendar import trading_days
from hantu.market.panel import MAX_BRIDGED_TRADING_DAYS

# a few missing days (a failed sync) are tolerated; more is a gap — the same rule as the panel's segments
MAX_MISSING_TRADING_DAYS = MAX_BRIDGED_TRADING_DAYS


class DataGapError(ValueError):
    """The range spans a gap in the data (the message names it and suggests ranges)."""


@dataclass(frozen=True)
class DataGap:
    first: date  # first missing trading day
    last: date  # last missing trading day
    trading_days: int

    def to_dict(self) -> dict[str, object]:
        return {"from": self.first.isoformat(), "to": self.last.isoformat(), "trading_days": self.trading_days}

    def describe(self) -> str:
        return f"{self.first} … {self.last} ({self.trading_days} trading days)"


def panel_days(dates: np.ndarray, start: date, end: date) -> list[date]:
    """The stored days within `start … end`, ascending (`dates`: a panel's datetime64 dates)."""
    return sorted({d for d in (x.item() for x in dates.astype("datetime64[D]")) if start <= d <= end})


def find_gaps(days: list[date], tolerance: int = MAX_MISSING_TRADING_DAYS) -> list[DataGap]:
    """Runs of more than `tolerance` consecutive trading days missing between `days[0]` and `days[-1]`."""
    if len(days) < 2:
        return []
    have = set(days)
    gaps: list[DataGap] = []
    run: list[date] = []
    for day in [*trading_days(days[0], days[-1]), None]:
        if day is not None and day not in have:
            run.append(day)
            continue
        if len(run) > tolerance:
            gaps.append(DataGap(run[0], run[-1], len(run)))
        run = []
    return gaps


def segments(days: list[date], gaps: list[DataGap]) -> list[tuple[date, date]]:
    """The contiguous stretches of `days` between the gaps."""
    out: list[tuple[date, date]] = []
    rest = list(days)
    for gap in gaps:
        before = [d for d in rest if d < gap.first]
        if before:
            out.append((before[0], before[-1]))
        rest = [d for d in rest if d > gap.last]
    if rest:
        out.append((rest[0], rest[-1]))
    return out


def gap_message(days: list[date], gaps: list[DataGap]) -> str:
    """Why the range is refused, and which ranges would do."""
    stretches = sorted(segments(days, gaps), key=lambda s: (-(s[1] - s[0]).days, s[0]))
    suggest = " or ".join(f"--from {a} --to {b}" for a, b in stretches[:3])
    return (f"the market data has a gap inside {days[0]} … {days[-1]}: no data for "
            f"{'; '.join(g.describe() for g in gaps)}. A backtest across it would hold positions over the gap and "
            f"annualise over the stored days only. Run over a contiguous range ({suggest}), import the missing "
            "days, or pass --allow-gaps to run anyway (the report then carries a warning).")


def segment_warnings(dates: np.ndarray, starts: np.ndarray, first: int, last: int) -> list[str]:
    """What the report says about the gaps the engine met in rows first..last (`starts`: the panel's
    `segment_starts`): a signal from before a gap is not traded, indicators warm up again after it, and the
    benchmark's return over it is 0."""
    def day(row: int) -> date:
        return dates[row].astype("datetime64[D]").item()

    out = []
    for row in range(max(first, 1), last + 1):
        if not starts[row]:
            continue
        where = "before the first tested day" if row == first else "inside the tested range"
        out.append(f"data gap {where}: no data between {day(row - 1)} and {day(row)} — indicators warm up again "
                   f"from {day(row)}, no candidate chosen before the gap was traded on {day(row)}, and the "
                   "benchmarks count 0 return over the gap")
    return out


def gap_warning(gaps: list[DataGap]) -> str:
    return ("data gap: no market data for " + "; ".join(g.describe() for g in gaps)
            + " — positions were held across it and the figures are annualised over the stored days only")
