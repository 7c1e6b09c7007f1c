"""`hantu demo --days 1` end to end: a real subprocess, the real scheduler, the KIS sandbox, the database."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from hantu.store.models import (
    DailyReport,
    JobRun,
    OutboxMessage,
    ScreenRun,
    SelectionRun,
    TradeFill,
    TradeOrder,
    WatchlistEntry,
)

from helpers import run_hantu


def test_demo_day_end_to_end(tmp_path: Path) -> None:
    home = tmp_path / "demo"
    result = run_hantu("demo", "--days", "1", "--home", str(home), "--json", timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    summary = json.loads(result.stdout)
    assert summary["failed_jobs"] == []
    day = date.fromisoformat(summary["days"][0])
    sandbox = summary["sandbox"]
    assert sandbox["orders"] > 0 and sandbox["fills"] > 0  # the broker's own record
    assert sandbox["token_issuances"] == 1

    engine = create_engine(f"sqlite:///{home / 'hantu.db'}")
    with Session(engine) as session:
        ok = Counter(r.job for r in session.scalars(select(JobRun).where(JobRun.status == "success")))
        for job in ("data_sync", "screening", "selection", "trading_session", "close_out", "daily_report",
                    "performance", "backtest_refresh"):
            assert ok[job] == 1, job
        screen = session.scalars(select(ScreenRun).where(ScreenRun.run_date == day)).one()
        assert screen.universe >= 2000 and 0 < screen.watchlist_size < screen.universe
        assert session.scalar(select(func.count(WatchlistEntry.id))) == screen.watchlist_size
        assert session.scalars(select(SelectionRun).where(SelectionRun.run_date == day)).one()
        orders = session.scalars(select(TradeOrder).where(TradeOrder.trading_date == day)).all()
        assert len(orders) == sandbox["orders"]  # every order at the sandbox (cancels aside) is in the database
        assert all(o.broker == "kis" and o.broker_order_id for o in orders)
        fills = session.scalars(select(TradeFill).where(TradeFill.trading_date == day)).all()
        assert fills and sum(f.quantity for f in fills) == sum(
            o.filled_quantity for o in orders)
        report = session.scalars(select(DailyReport).where(DailyReport.trading_date == day)).one()
        assert report.trades == len(fills)
        assert report.cash == sandbox["cash"]  # the day's report agrees with the broker
        kinds = Counter(m.kind for m in session.scalars(select(OutboxMessage)))
        for kind in ("scheduler_started", "screening_done", "selection_done", "order_filled", "daily_report"):
            assert kinds[kind] >= 1, kind
    engine.dispose()
    assert summary["report_path"] and Path(summary["report_path"]).is_file()


def test_demo_shadow_day_trades_the_shadow_book_on_the_sandbox_websocket(tmp_path: Path) -> None:
    """`hantu demo --shadow`: the scheduler's session trades the paper book `shadow` on the sandbox's live
    WebSocket prices; the sandbox's account receives no order, and the book's fills are its own."""
    home = tmp_path / "demo"
    result = run_hantu("demo", "--days", "1", "--home", str(home), "--shadow", "--json", timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    summary = json.loads(result.stdout)
    assert summary["mode"] == "shadow" and summary["failed_jobs"] == []
    sandbox = summary["sandbox"]
    assert sandbox["orders_received"] == 0 and sandbox["orders"] == 0  # nothing reached the KIS account
    assert sandbox["ws_connections"] >= 1  # the session streamed the sandbox's live prices
    day = date.fromisoformat(summary["days"][0])
    engine = create_engine(f"sqlite:///{home / 'hantu.db'}")
    with Session(engine) as session:
        ok = Counter(r.job for r in session.scalars(select(JobRun).where(JobRun.status == "success")))
        for job in ("selection", "trading_session", "close_out", "daily_report"):
            assert ok[job] == 1, job
        session_run = session.scalars(select(JobRun).where(JobRun.job == "trading_session")).one()
        assert session_run.figures["feed"] == "StreamingFeed"
        orders = session.scalars(select(TradeOrder).where(TradeOrder.trading_date == day)).all()
        assert orders and all(o.broker == "shadow" for o in orders)
        fills = session.scalars(select(TradeFill).where(TradeFill.trading_date == day)).all()
        assert fills and all(f.broker == "shadow" for f in fills)
        assert sum(f.quantity for f in fills) == sum(o.filled_quantity for o in orders)
        report = session.scalars(select(DailyReport).where(DailyReport.trading_date == day)).one()
        assert report.broker == "shadow" and report.trades == len(fills)
    engine.dispose()
