"""`/performance`: the equity curve with daily P&L and drawdown, and how recent selections did."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Query

from hantu.api.context import ApiContext, get_ctx
from hantu.api.performance import curve_figures
from hantu.api.schemas import EquityPointOut, Performance
from hantu.api.selections import selection_outcomes
from hantu.trading.equity import equity_history

router = APIRouter(tags=["performance"])


@router.get("/performance", response_model=Performance,
            summary="Equity curve (end of day), daily P&L, drawdown, and how the selections did")
async def performance(days: int = Query(120, ge=1, le=3650, description="Calendar days of history"),
                      ctx: ApiContext = Depends(get_ctx)) -> Performance:
    today = ctx.clock.today()
    service = ctx.account
    reader = service.closes
    broker = service.broker
    with ctx.read() as session:
        history = equity_history(session, broker, reader, today)
        outcomes = selection_outcomes(session, reader, today - timedelta(days=min(days, 60)), today)
    cutoff = today - timedelta(days=days)
    figures = curve_figures([p for p in history if p.day >= cutoff])
    points = [EquityPointOut(date=d, equity=e, pnl=pnl, drawdown=dd) for d, e, pnl, dd in figures.points]
    day_pnl = None
    if len(history) >= 2 and history[-1].day >= today:  # later: a simulated day ahead of the wall clock (demo)
        day_pnl = history[-1].equity - history[-2].equity
    returns = [o.return_pct for o in outcomes if o.return_pct is not None]
    return Performance(broker=broker, points=points, total_return=figures.total_return,
                       max_drawdown=figures.max_drawdown, day_pnl=day_pnl, selections=outcomes,
                       selections_avg_return=sum(returns) / len(returns) if returns else None)
