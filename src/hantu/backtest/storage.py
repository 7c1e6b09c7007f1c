"""Storing backtests and reading them back (the API, the dashboard and `hantu backtest list` call these)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hantu.backtest.result import BacktestOutcome
from hantu.clock import KST
from hantu.store.models.backtest import BacktestRun, BacktestTrade


def save_outcome(session: Session, outcome: BacktestOutcome, *, kind: str = "single",
                 parent_id: int | None = None, report_path: str | None = None,
                 created_at: datetime | None = None) -> int:
    """Insert one run and its trades (inside the caller's transaction); returns the run id."""
    run = BacktestRun(
        created_at=created_at or datetime.now(KST), kind=kind, parent_id=parent_id, strategy=outcome.strategy,
        params=dict(outcome.params), start_date=outcome.start, end_date=outcome.end, stocks=outcome.stocks,
        days=len(outcome.dates), initial_cash=outcome.initial_cash, final_equity=outcome.final_equity,
        metrics=outcome.metrics, benchmark=outcome.benchmark_metrics,
        equity_curve={"dates": [d.isoformat() for d in outcome.dates],
                      "equity": [round(float(x), 2) for x in outcome.equity],
                      "benchmark": [round(float(x), 2) for x in outcome.benchmark],
                      "market": {name: [round(float(x), 2) for x in values]
                                 for name, values in outcome.markets.items()}},
        report_path=report_path, elapsed_s=outcome.elapsed_s,
    )
    session.add(run)
    session.flush()
    session.add_all(
        BacktestTrade(run_id=run.id, code=t.code, name=t.name, quantity=t.quantity, entry_date=t.entry_date,
                      entry_price=t.entry_price, exit_date=t.exit_date, exit_price=t.exit_price,
                      exit_reason=t.exit_reason[:200] if t.exit_reason else None, fees=t.fees, taxes=t.taxes, pnl=t.pnl,
                      holding_days=t.holding_days)
        for t in outcome.trades)
    return run.id


def set_report_path(session: Session, run_id: int, path: str) -> None:
    run = session.get(BacktestRun, run_id)
    if run is not None:
        run.report_path = path


def _summary(run: BacktestRun) -> dict[str, Any]:
    return {
        "id": run.id, "created_at": run.created_at.isoformat(), "kind": run.kind, "parent_id": run.parent_id,
        "strategy": run.strategy, "params": run.params, "start": run.start_date.isoformat(),
        "end": run.end_date.isoformat(), "stocks": run.stocks, "days": run.days,
        "initial_cash": run.initial_cash, "final_equity": run.final_equity, "metrics": run.metrics,
        "benchmark": run.benchmark, "report_path": run.report_path, "elapsed_s": run.elapsed_s,
    }


def list_backtests(session: Session, *, limit: int = 50, offset: int = 0, strategy: str | None = None,
                   include_children: bool = False) -> list[dict[str, Any]]:
    """Stored runs, newest first, as JSON-ready dicts (no curve, no trades).

    Members of a grid or walk-forward study are left out unless `include_children`."""
    query = select(BacktestRun).order_by(BacktestRun.created_at.desc(), BacktestRun.id.desc())
    if strategy:
        query = query.where(BacktestRun.strategy == strategy)
    if not include_children:
        query = query.where(BacktestRun.parent_id.is_(None))
    rows = session.scalars(query.limit(limit).offset(offset)).all()
    return [_summary(run) for run in rows]


def get_backtest(session: Session, run_id: int) -> dict[str, Any] | None:
    """One run with its equity curve, its trades and its members (grid / walk-forward), or None."""
    run = session.get(BacktestRun, run_id)
    if run is None:
        return None
    trades = session.scalars(select(BacktestTrade).where(BacktestTrade.run_id == run_id)
                             .order_by(BacktestTrade.entry_date, BacktestTrade.id)).all()
    children = session.scalars(select(BacktestRun).where(BacktestRun.parent_id == run_id)
                               .order_by(BacktestRun.id)).all()
    return {
        **_summary(run), "equity_curve": run.equity_curve,
        "trades": [{"code": t.code, "name": t.name, "quantity": t.quantity, "entry_date": t.entry_date.isoformat(),
                    "entry_price": t.entry_price,
                    "exit_date": t.exit_date.isoformat() if t.exit_date else None, "exit_price": t.exit_price,
                    "exit_reason": t.exit_reason, "fees": t.fees, "taxes": t.taxes, "pnl": t.pnl,
                    "holding_days": t.holding_days} for t in trades],
        "members": [_summary(child) for child in children],
    }
