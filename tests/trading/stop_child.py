"""The engine process of the broker-held stop crash test: buy, set a stop, rest it at the broker (KIS real,
sandbox), say so, then wait to be SIGKILLed. `--adopt`: a restarted engine that reconciles and records fills."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--kis", required=True)
    parser.add_argument("--now", required=True)
    parser.add_argument("--code", required=True)
    parser.add_argument("--stop", type=int, default=0)
    parser.add_argument("--adopt", action="store_true")
    args = parser.parse_args()

    from hantu.broker.kis.api import KisApi
    from hantu.broker.kis.broker import KisBroker
    from hantu.broker.kis.client import KisClient
    from hantu.broker.kis.config import KisConfig
    from hantu.clock import FrozenClock
    from hantu.domain.orders import OrderType, Side
    from hantu.store.db import Database
    from hantu.store.models import TradePosition
    from hantu.trading.book import OrderBook
    from hantu.trading.reconcile import reconcile
    from hantu.trading.session import SessionConfig, TradingSession

    clock = FrozenClock(datetime.fromisoformat(args.now))
    values = json.loads(args.kis)
    values["home"] = Path(values["home"])
    broker = KisBroker(KisApi(KisClient(KisConfig(**values), clock)))
    database = Database(args.db)
    session = TradingSession(database, broker, clock, None, SessionConfig(), home=values["home"])
    day = clock.today()
    report = reconcile(database, broker, clock, day)
    if args.adopt:
        session.engine.orders.sync(day)
        print("ADOPTED " + json.dumps(report.as_dict(), default=str), flush=True)
        return
    bought = session.engine.submit(args.code, Side.BUY, 10, OrderType.MARKET, None, "entry", "test entry", "engine")
    assert bought.ok, bought
    clock.advance(60)
    session.engine.orders.sync(day)
    with database.session() as db:
        position = db.get(TradePosition, (broker.name, args.code))
        assert position is not None and position.quantity == 10, position
        OrderBook(db, broker.name).set_exit_levels(position, args.stop, None, 0.0)
    sent = session.place_broker_stops()
    print(f"GUARDED {sent}", flush=True)
    while True:  # wait for the SIGKILL
        time.sleep(1)


if __name__ == "__main__":
    sys.exit(main())
