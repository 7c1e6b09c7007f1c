"""SIGKILL of the engine while it holds a position guarded by a broker-held stop (KIS real, `CNDT_PRIC`): the
sandbox still executes the stop when its trigger trades; the restarted engine adopts the fill exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import date, datetime, time
from pathlib import Path

import pytest
from sqlalchemy import select

from hantu.clock import KST
from hantu.domain.orders import OrderType, Side
from hantu.market import rules
from hantu.store.db import Database
from hantu.store.migrate import upgrade
from hantu.store.models import TradeFill, TradeOrder, TradePosition

CHILD = Path(__file__).parents[1] / "trading" / "stop_child.py"
SAMSUNG = "005930"
DAY = date(2024, 1, 8)


def _at(hhmm: str) -> datetime:
    hour, minute = (int(x) for x in hhmm.split(":"))
    return datetime.combine(DAY, time(hour, minute), tzinfo=KST)


def _child(args: list[str], home: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, HANTU_HOME=str(home))
    return subprocess.Popen([sys.executable, str(CHILD), *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_broker_stop_fires_while_the_engine_is_dead_and_is_adopted_once(sandbox, sim_clock, tmp_path) -> None:
    account = sandbox.create_account("prod", 100_000_000)
    home = tmp_path / "home"
    kis = {"app_key": account.app_key, "app_secret": account.app_secret, "server": "prod",
           "account": account.cano + account.product_code, "hts_id": account.hts_id,
           "base_url": sandbox.base_url, "ws_url": sandbox.ws_url, "rate_limit": 1000.0, "home": str(home),
           "timeout": 5.0, "backoff_initial": 0.01, "backoff_max": 0.05, "real_trading_enabled": True}
    db_url = f"sqlite:///{tmp_path / 'stop.db'}"
    database = Database(db_url)
    upgrade(database)
    sim_clock.set(_at("09:10"))
    path = sandbox.state.market.path(SAMSUNG, DAY)
    now_i = path.index_at(sim_clock.now())
    stop_level = rules.round_to_tick(int(path.prices[now_i + 30:].min()) + 1, "up", DAY, "KOSPI")
    assert stop_level < int(path.prices[now_i]), "the replayed day must fall through the stop later"
    common = ["--db", db_url, "--kis", json.dumps(kis), "--code", SAMSUNG]

    engine = _child([*common, "--now", _at("09:10").isoformat(), "--stop", str(stop_level)], home)
    try:
        assert engine.stdout is not None
        line = engine.stdout.readline()
        assert line.startswith("GUARDED 1"), (line, engine.stderr.read() if engine.poll() is not None else "")
        os.kill(engine.pid, signal.SIGKILL)
        assert engine.wait(30) == -signal.SIGKILL
    finally:
        if engine.poll() is None:
            engine.kill()
    with database.session() as session:
        (stop_intent,) = session.scalars(select(TradeOrder).where(
            TradeOrder.order_type == OrderType.STOP_LIMIT.value)).all()
        assert stop_intent.side == Side.SELL.value and stop_intent.trigger_price == stop_level
        assert stop_intent.broker_order_id and stop_intent.quantity == 10

    # The engine is dead; the market trades through the trigger: the sandbox executes the stop on its own.
    sim_clock.set(_at("15:31"))
    sandbox.state.exchange.advance(sim_clock.now())
    held = sandbox.state.exchange.get(stop_intent.broker_order_id, DAY)
    assert held is not None and held.filled == 10 and held.triggered_at is not None
    first_through = next(i for i in range(now_i + 1, len(path)) if path.prices[i] <= stop_level)
    assert held.fills[0].price == int(path.prices[first_through])
    assert account.positions[SAMSUNG].quantity == 0

    for _ in range(2):  # the restarted engine, twice: the fill is recorded once
        adopt = _child([*common, "--now", _at("15:32").isoformat(), "--adopt"], home)
        out, err = adopt.communicate(timeout=120)
        assert adopt.returncode == 0 and "ADOPTED" in out, err[-3000:]
    with database.session() as session:
        fills = session.scalars(select(TradeFill).where(TradeFill.side == Side.SELL.value)).all()
        assert sum(f.quantity for f in fills) == 10 and len({f.fill_id for f in fills}) == len(fills)
        assert {f.broker_order_id for f in fills} == {stop_intent.broker_order_id}
        position = session.get(TradePosition, ("kis", SAMSUNG))
        assert position is None or position.quantity == 0
        order = session.get(TradeOrder, stop_intent.id)
        assert order is not None and order.status == "filled" and order.filled_quantity == 10
        sells = session.scalars(select(TradeOrder).where(TradeOrder.side == Side.SELL.value)).all()
        assert len(sells) == 1  # nothing sent twice
    assert len([r for r in sandbox.state.order_requests if r.get("side") == "sell"]) == 1
