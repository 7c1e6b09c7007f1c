"""`/backtests`: stored backtest runs and one run with its curve, trades and members.

Read straight from `backtest_runs`/`backtest_trades` (the `hantu.backtest.storage` readers import the backtest
engine and numpy, which this lean process avoids); the rows map onto the response models field by field.
"""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from hantu.api.context import ApiContext, get_ctx
from hantu.api.queries import paged
from hantu.api.schemas import BacktestDetail, BacktestSummary, BacktestTradeOut, ErrorOut, Page
from hantu.store.models import BacktestRun, BacktestTrade

router = APIRouter(tags=["backtests"])


@router.get("/backtests", response_model=Page[BacktestSummary], summary="Stored backtests, newest first")
async def backtests(strategy: str | None = Query(None, max_length=64),
                    members: bool = Query(False, description="Include members of grid / walk-forward studies"),
                    limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0, le=1_000_000),
                    ctx: ApiContext = Depends(get_ctx)) -> Page[BacktestSummary]:
    query = select(BacktestRun).order_by(BacktestRun.created_at.desc(), BacktestRun.id.desc())
    if strategy:
        query = query.where(BacktestRun.strategy == strategy)
    if not members:
        query = query.where(BacktestRun.parent_id.is_(None))
    with ctx.read() as session:
        rows, total = paged(session, query, limit, offset)
        items = [BacktestSummary.model_validate(r) for r in rows]
    return Page[BacktestSummary](items=items, total=total, limit=limit, offset=offset)


@router.get("/backtests/{run_id}", response_model=BacktestDetail, responses={404: {"model": ErrorOut}},
            summary="One backtest with its equity curve, trades and study members")
async def backtest(run_id: int = Path(..., ge=1, le=2**31 - 1), ctx: ApiContext = Depends(get_ctx)) -> BacktestDetail:
    with ctx.read() as session:
        run = session.get(BacktestRun, run_id)
        if run is None:
            raise HTTPException(404, f"no backtest {run_id}")
        trades = session.scalars(select(BacktestTrade).where(BacktestTrade.run_id == run_id)
                                 .order_by(BacktestTrade.entry_date, BacktestTrade.id))
        children = session.scalars(select(BacktestRun).where(BacktestRun.parent_id == run_id)
                                   .order_by(BacktestRun.id))
        summary = BacktestSummary.model_validate(run).model_dump()
        return BacktestDetail(**summary, equity_curve=run.equity_curve or {},
                              trades=[BacktestTradeOut.model_validate(t) for t in trades],
                              members=[BacktestSummary.model_validate(c) for c in children])


_JSON_ERROR: dict[str, Any] = {"description": "no such backtest, or no report file for it", "content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}}


@router.get("/backtests/{run_id}/report", response_class=HTMLResponse, responses={404: _JSON_ERROR},
            summary="The HTML report of a backtest (only a file under HANTU_HOME is served)")
async def backtest_report(run_id: int = Path(..., ge=1, le=2**31 - 1),
                          ctx: ApiContext = Depends(get_ctx)) -> HTMLResponse:
    with ctx.read() as session:
        run = session.get(BacktestRun, run_id)
        report = run.report_path if run is not None else None
    if not report:
        raise HTTPException(404, f"backtest {run_id} has no HTML report")
    home = ctx.settings.hantu_home.resolve()
    path = FsPath(report).resolve()
    if not path.is_relative_to(home) or path.suffix.lower() != ".html" or not path.is_file():
        raise HTTPException(404, f"the report of backtest {run_id} is not available")
    return HTMLResponse(path.read_text(encoding="utf-8", errors="replace"))
