"""`hantu backtest --fill-model calibrated`: the fill model's market-order slippage measured from the stored drift
reports instead of assumed.

Each drift report keeps, per live fill of the engine's market orders, how many ticks it filled worse than the fill
model's price for the same order at the same moment (`drift_reports.slippage_ticks`, see
`hantu.backtest.drift`). The calibrated model takes that distribution's mean, rounded up to whole ticks (the
fill model moves market orders by whole ticks; rounding up keeps the backtest on the conservative side), never
below zero. Fewer than `MIN_FILLS` measured fills is refused: a handful of fills says nothing about a
distribution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from hantu.broker.fill_model import FillParams
from hantu.store.models import DriftReport

MIN_FILLS = 20  # measured market-order fills needed before the slippage is taken from them
REPORT_DAYS = 120  # the newest reports the sample is drawn from


class NotEnoughDriftData(ValueError):
    """Too few measured fills in the stored drift reports to calibrate the fill model."""


@dataclass(frozen=True)
class Calibration:
    fills: int
    days: int
    mean_ticks: float
    median_ticks: float
    p90_ticks: float
    slippage_ticks: int  # what the calibrated fill model uses

    def as_dict(self) -> dict[str, float | int]:
        return {"fills": self.fills, "days": self.days, "mean_ticks": round(self.mean_ticks, 3),
                "median_ticks": self.median_ticks, "p90_ticks": self.p90_ticks,
                "slippage_ticks": self.slippage_ticks}


def _quantile(ordered: list[float], q: float) -> float:
    index = min(max(math.ceil(q * len(ordered)) - 1, 0), len(ordered) - 1)
    return ordered[index]


def measured(session: Session, broker: str | None = None) -> tuple[list[float], int]:
    """The measured slippage of market-order fills (ticks, + = worse) and how many reports they come from."""
    query = select(DriftReport).order_by(DriftReport.trading_date.desc()).limit(REPORT_DAYS)
    if broker is not None:
        query = query.where(DriftReport.broker == broker)
    rows = list(session.scalars(query))
    samples = [float(item["ticks"]) for row in rows for item in (row.slippage_ticks or [])
               if item.get("order_type", "market") == "market"]
    return samples, len(rows)


def calibrate(session: Session, base: FillParams, broker: str | None = None,
              minimum: int = MIN_FILLS) -> tuple[FillParams, Calibration]:
    """`base` with its slippage taken from the stored drift reports; `NotEnoughDriftData` below `minimum`."""
    samples, days = measured(session, broker)
    if len(samples) < minimum:
        raise NotEnoughDriftData(
            f"the calibrated fill model needs at least {minimum} measured market-order fills in the stored drift "
            f"reports; there are {len(samples)} (from {days} report(s)). Drift reports are written after each "
            "trading day by the scheduler's drift_report job; until enough exist use the standard fill model "
            "(--fill-model standard)")
    ordered = sorted(samples)
    mean = sum(ordered) / len(ordered)
    ticks = max(0, math.ceil(mean - 1e-9))
    calibration = Calibration(len(ordered), days, mean, _quantile(ordered, 0.5), _quantile(ordered, 0.9), ticks)
    return replace(base, slippage_ticks=ticks), calibration
