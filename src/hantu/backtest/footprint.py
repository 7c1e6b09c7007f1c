"""How much memory a single lean backtest takes, known before its panel is loaded.

The scheduler's nightly refresh runs `hantu backtest --lean --max-mb N` beside the long-running scheduler, in a
unit with a MemoryMax: a panel that would not fit is refused up front with the figures (days × stocks), instead
of the child growing until the kernel kills the tree. The estimate is linear in the panel's cells, measured with
`bench/scheduler_rss.py` (momentum, sample market, lean: 101 MB at 300 × 300, 250 MB at 388 × 2,488, 268 MB at 388 × 2,888).
"""

from __future__ import annotations

from datetime import date, timedelta

from hantu.backtest.single import WARMUP_CALENDAR_DAYS

BASE_MB = 100.0  # the child on a tiny panel: its interpreter with numpy, SQLAlchemy, settings, the strategy
BYTES_PER_CELL = 170.0  # the float64 panel (8 fields) and one lean screening chunk of indicators, per day × stock


class PanelTooLarge(ValueError):
    """The run's panel would not fit in the memory ceiling it was given."""


def loaded_days(stored: list[date], start: date, end: date, warmup_days: int = WARMUP_CALENDAR_DAYS) -> int:
    """The stored days a run over `start`…`end` loads (its warm-up included, as `load_market` loads them)."""
    first = start - timedelta(days=warmup_days)
    return sum(1 for day in stored if first <= day <= end)


def estimated_mb(days: int, stocks: int) -> float:
    """The peak RSS (MB) of a lean single run over a panel of `days` × `stocks`."""
    return BASE_MB + days * stocks * BYTES_PER_CELL / (1 << 20)


def check_fits(days: int, stocks: int, ceiling_mb: float) -> float:
    """The estimate, or `PanelTooLarge` naming the panel and what to change when it is over `ceiling_mb`."""
    need = estimated_mb(days, stocks)
    if need > ceiling_mb:
        raise PanelTooLarge(
            f"the panel of {days} days × {stocks} stocks needs about {need:.0f} MB, over the memory ceiling of "
            f"{ceiling_mb:.0f} MB (HANTU_REFRESH_MAX_MB / --max-mb): raise the ceiling and the unit's MemoryMax "
            f"with it, or run the backtest outside the scheduler")
    return need
