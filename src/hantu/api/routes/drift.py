"""`/drift`: the nightly drift reports (live trading vs the backtest engine on the same day) of the configured
account, oldest first with the running sum the dashboard charts, and one day with its per-trade lines.

Read straight from `drift_reports` (written by the scheduler's drift_report job, `hantu.backtest.drift_run`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from pydantic import BaseModel
from sqlalchemy import select

from hantu.api.context import ApiContext, get_ctx
from hantu.api.schemas import ErrorOut
from hantu.store.models import DriftReport

router = APIRouter(tags=["drift"])


class DriftDayOut(BaseModel):
    trading_date: date
    broker: str
    strategy: str
    live_pnl: float
    model_pnl: float
    drift: float
    drift_bps: float
    equity_base: float
    causes: dict[str, float]
    trades: int
    alerted: bool
    cumulative_live: float  # running sums over the listed days (the dashboard's chart)
    cumulative_model: float


class DriftList(BaseModel):
    broker: str
    items: list[DriftDayOut]
    total_drift: float
    causes: dict[str, float]  # summed over the listed days


class DriftDetail(BaseModel):
    day: DriftDayOut
    lines: list[dict[str, Any]]
    slippage_ticks: list[dict[str, Any]]


def _broker(ctx: ApiContext) -> str:
    return ctx.account.broker


@router.get("/drift", response_model=DriftList, summary="Drift reports, oldest first, with running live/model sums")
async def drift(days: int = Query(60, ge=1, le=3650, description="How many of the newest reports"),
                ctx: ApiContext = Depends(get_ctx)) -> DriftList:
    broker = _broker(ctx)
    with ctx.read() as session:
        rows = list(session.scalars(select(DriftReport).where(DriftReport.broker == broker)
                                    .order_by(DriftReport.trading_date.desc()).limit(days)))
    rows.reverse()
    items: list[DriftDayOut] = []
    live = model = 0.0
    causes: dict[str, float] = {}
    for row in rows:
        live += row.live_pnl
        model += row.model_pnl
        for cause, value in (row.causes or {}).items():
            causes[cause] = round(causes.get(cause, 0.0) + float(value), 4)
        items.append(DriftDayOut(**row.summary(), cumulative_live=round(live, 4), cumulative_model=round(model, 4)))
    return DriftList(broker=broker, items=items, total_drift=round(live - model, 4), causes=causes)


@router.get("/drift/{day}", response_model=DriftDetail, responses={404: {"model": ErrorOut}},
            summary="One day's drift report with its per-trade lines and measured slippage")
async def drift_day(day: date = Path(..., description="Trading date, YYYY-MM-DD"),
                    ctx: ApiContext = Depends(get_ctx)) -> DriftDetail:
    broker = _broker(ctx)
    with ctx.read() as session:
        row = session.scalars(select(DriftReport).where(DriftReport.broker == broker,
                                                        DriftReport.trading_date == day)).first()
        if row is None:
            raise HTTPException(404, f"no drift report for {day}")
        out = DriftDayOut(**row.summary(), cumulative_live=row.live_pnl, cumulative_model=row.model_pnl)
        return DriftDetail(day=out, lines=list(row.trades), slippage_ticks=list(row.slippage_ticks or []))
