"""Seed data for the API tests, written through the real tables (the same rows the engine and scheduler write)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from hantu.clock import KST
from hantu.store.db import Database
from hantu.store.kv import kv_set
from hantu.store.models import Instrument, JobRun, TradeAccount, TradeFill, TradeOrder, TradePosition

NOW = datetime(2026, 3, 16, 10, 30, tzinfo=KST)  # a Monday, mid-session
TODAY = NOW.date()
CASH = 5_000_000
BOUGHT = {"005930": (10, 70_000.0), "000660": (5, 120_000.0)}  # filled today
HELD_BEFORE = {"035720": (20, 40_000.0)}  # inside the account base (held since 03-11)
POSITIONS = {**BOUGHT, **HELD_BEFORE}
COMMISSIONS = {"005930": 105, "000660": 90}
BASE_CASH = CASH + sum(q * p for q, p in BOUGHT.values()) + sum(COMMISSIONS.values())
CLOSES = {  # the market store's closes (today's close is not in yet)
    date(2026, 3, 11): {"005930": 68_000, "000660": 115_000, "035720": 42_000},
    date(2026, 3, 12): {"005930": 69_000, "000660": 118_000, "035720": 40_000},
    date(2026, 3, 13): {"005930": 70_500, "000660": 121_000, "035720": 41_000},
}
NAMES = {"005930": "삼성전자", "000660": "SK하이닉스", "035720": "카카오"}
OPEN_ORDER = "C-20260316-0003"
API_KEY = "test-key-5f2a9c0e7d1b"


def heartbeat(at: datetime, state: str = "idle") -> dict[str, Any]:
    return {"at": at.isoformat(), "pid": 4242, "clock": "system", "sim_now": at.isoformat(), "state": state,
            "next_jobs": [{"job": "close_out", "at": (at + timedelta(hours=4)).isoformat()}], "running": []}


def seed(database: Database, now: datetime = NOW, with_heartbeat: bool = True) -> None:
    with database.session() as s:
        for code, name in NAMES.items():
            s.add(Instrument(code=code, name=name, market="KOSPI"))
        s.add(TradeAccount(broker="paper", base_cash=BASE_CASH,
                           base_positions={c: [q, p] for c, (q, p) in HELD_BEFORE.items()},
                           base_at=now - timedelta(days=5), cash=CASH, updated_at=now))
        for code, (qty, avg) in POSITIONS.items():
            s.add(TradePosition(broker="paper", code=code, quantity=qty, avg_price=avg, entry_date=TODAY,
                                stop_price=int(avg * 0.95), target_price=int(avg * 1.1), high_since_entry=avg,
                                atr=1000.0, updated_at=now))
        orders = [("C-20260316-0001", "005930", "buy", 10, 70_000, "filled", 10),
                  ("C-20260316-0002", "000660", "buy", 5, 120_000, "filled", 5),
                  (OPEN_ORDER, "035720", "buy", 20, 41_000, "submitted", 0)]
        for i, (cid, code, side, qty, price, status, filled) in enumerate(orders):
            s.add(TradeOrder(client_order_id=cid, broker="paper", broker_order_id=f"B{i + 1:04d}", trading_date=TODAY,
                             code=code, side=side, order_type="limit", quantity=qty, limit_price=price, status=status,
                             filled_quantity=filled, avg_fill_price=float(price if filled else 0), purpose="entry",
                             reason="momentum pick", source="engine", created_at=now - timedelta(minutes=60 - i),
                             sent_at=now - timedelta(minutes=59 - i), updated_at=now, message=""))
        s.flush()
        for i, (code, (qty, avg)) in enumerate(BOUGHT.items()):
            extra = {"amount": int(qty * avg)} if hasattr(TradeFill, "amount") else {}
            s.add(TradeFill(broker="paper", fill_id=f"F{i + 1}", broker_order_id=f"B{i + 1:04d}", order_id=i + 1,
                            trading_date=TODAY, code=code, side="buy", quantity=qty, price=int(avg),
                            commission=COMMISSIONS[code], tax=0, filled_at=now - timedelta(minutes=50 - i),
                            recorded_at=now - timedelta(minutes=50 - i), **extra))
        for job, status, minutes, error in (("data_sync", "success", 150, None), ("screening", "success", 120, None),
                                            ("selection", "failed", 100, "no data for 2026-03-13")):
            start = now - timedelta(minutes=minutes)
            s.add(JobRun(job=job, trading_date=TODAY, status=status, attempt=1, started_at=start,
                         finished_at=start + timedelta(seconds=42), error=error, figures={"rows": 3}, pid=4242))
        seed_strategy(s, now)
        seed_backtest(s, now)
        if with_heartbeat:
            kv_set(s, "scheduler.heartbeat", heartbeat(now - timedelta(seconds=5)))


def seed_strategy(s: Any, now: datetime) -> None:
    from hantu.store.models.strategy import ScreenRun, SelectionCandidate, SelectionRun, WatchlistEntry

    screen = ScreenRun(run_date=TODAY, strategy="momentum", data_date=date(2026, 3, 13), created_at=now,
                       universe=2900, eligible=2100, passed=40, watchlist_size=2, config_hash="abc",
                       params={}, figures={"elapsed_s": 0.2})
    s.add(screen)
    s.flush()
    for rank, (code, score, reasons) in enumerate((("035720", 0.91, ["20일 수익률 상위 5%", "거래량 2.1배"]),
                                                   ("005930", 0.84, ["신고가 근접"])), start=1):
        s.add(WatchlistEntry(run_id=screen.id, rank=rank, code=code, name=NAMES[code], sector=None, score=score,
                             reasons=reasons, factors={"momentum": score}))
    for run_date, data_date, picks in ((TODAY, date(2026, 3, 13), PICKS),
                                       (date(2026, 3, 12), date(2026, 3, 11), [("000660", 0.7, "반등 신호")])):
        run = SelectionRun(run_date=run_date, strategy="momentum", data_date=data_date, created_at=now,
                           regime="bull", max_candidates=5, config_hash="abc", figures={})
        s.add(run)
        s.flush()
        for rank, (code, score, reason) in enumerate(picks, start=1):
            close = CLOSES[data_date][code]
            s.add(SelectionCandidate(run_id=run.id, rank=rank, code=code, name=NAMES[code], sector=None,
                                     entry_price=close, stop_price=int(close * 0.95), target_price=int(close * 1.1),
                                     weight=0.2, score=score, atr=1000.0, reason=reason, extra={}))


PICKS = [("035720", 0.91, "모멘텀 상위 · 거래량 증가"), ("005930", 0.84, "신고가 돌파")]


def seed_backtest(s: Any, now: datetime) -> None:
    from hantu.store.models import BacktestRun, BacktestTrade

    run = BacktestRun(created_at=now, kind="single", parent_id=None, strategy="momentum", params={"top": 5},
                      start_date=date(2025, 1, 2), end_date=date(2025, 12, 30), stocks=2900, days=245,
                      initial_cash=10_000_000, final_equity=11_250_000.0, metrics={"cagr": 0.125, "mdd": 0.08},
                      benchmark={"cagr": 0.05}, equity_curve={"dates": ["2025-01-02", "2025-12-30"],
                                                             "equity": [10_000_000, 11_250_000]},
                      report_path=None, elapsed_s=3.2)
    s.add(run)
    s.flush()
    s.add(BacktestTrade(run_id=run.id, code="005930", name="삼성전자", quantity=10, entry_date=date(2025, 3, 4),
                        entry_price=55_000.0, exit_date=date(2025, 3, 20), exit_price=58_000.0,
                        exit_reason="target", fees=200, taxes=1000, pnl=28_800.0, holding_days=12))


def seed_market(home: Path) -> None:
    """Write the closes through the real market store (the API reads its blocks without numpy)."""
    import numpy as np

    from hantu.market.store import DayBars, MarketStore

    store = MarketStore(home / "market")
    days = []
    for day, closes in CLOSES.items():
        codes = np.array(sorted(closes))
        close = np.array([closes[c] for c in codes], dtype=np.int64)
        days.append(DayBars(day=day, codes=codes, open=close, high=close, low=close, close=close,
                            volume=np.full(len(codes), 1000, dtype=np.int64), amount=close * 1000,
                            names=np.array([NAMES[c] for c in codes]), markets=np.array(["KOSPI"] * len(codes)),
                            shares=np.full(len(codes), 1_000_000, dtype=np.int64)))
    store.write_days(days, source="test")


def write_log(home: Path, process: str, lines: list[dict[str, Any]]) -> Path:
    logs = home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    path = logs / f"{process}.jsonl"
    with open(path, "a", encoding="utf-8") as handle:
        for line in lines:
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
    return path


__all__ = ["API_KEY", "BASE_CASH", "CASH", "CLOSES", "NAMES", "NOW", "OPEN_ORDER", "PICKS", "POSITIONS", "TODAY", "heartbeat",
           "seed", "seed_market", "write_log"]
