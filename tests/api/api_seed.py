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
POSITIONS = {"005930": (10, 70_000.0), "000660": (5, 120_000.0)}
NAMES = {"005930": "삼성전자", "000660": "SK하이닉스", "035720": "카카오"}
OPEN_ORDER = "C-20260316-0003"


def heartbeat(at: datetime, state: str = "idle") -> dict[str, Any]:
    return {"at": at.isoformat(), "pid": 4242, "clock": "system", "sim_now": at.isoformat(), "state": state,
            "next_jobs": [{"job": "close_out", "at": (at + timedelta(hours=4)).isoformat()}], "running": []}


def seed(database: Database, now: datetime = NOW, with_heartbeat: bool = True) -> None:
    with database.session() as s:
        for code, name in NAMES.items():
            s.add(Instrument(code=code, name=name, market="KOSPI"))
        s.add(TradeAccount(broker="paper", base_cash=CASH, base_positions={}, base_at=now - timedelta(days=5),
                           cash=CASH, updated_at=now))
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
        for i, (code, (qty, avg)) in enumerate(POSITIONS.items()):
            s.add(TradeFill(broker="paper", fill_id=f"F{i + 1}", broker_order_id=f"B{i + 1:04d}", order_id=i + 1,
                            trading_date=TODAY, code=code, side="buy", quantity=qty, price=int(avg),
                            commission=int(qty * avg * 0.00015), tax=0, filled_at=now - timedelta(minutes=50 - i),
                            recorded_at=now - timedelta(minutes=50 - i)))
        for job, status, minutes, error in (("data_sync", "success", 150, None), ("screening", "success", 120, None),
                                            ("selection", "failed", 100, "no data for 2026-03-13")):
            start = now - timedelta(minutes=minutes)
            s.add(JobRun(job=job, trading_date=TODAY, status=status, attempt=1, started_at=start,
                         finished_at=start + timedelta(seconds=42), error=error, figures={"rows": 3}, pid=4242))
        if with_heartbeat:
            kv_set(s, "scheduler.heartbeat", heartbeat(now - timedelta(seconds=5)))


def write_log(home: Path, process: str, lines: list[dict[str, Any]]) -> Path:
    logs = home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    path = logs / f"{process}.jsonl"
    with open(path, "a", encoding="utf-8") as handle:
        for line in lines:
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
    return path


__all__ = ["CASH", "NAMES", "NOW", "OPEN_ORDER", "POSITIONS", "TODAY", "date", "heartbeat", "seed", "write_log"]
