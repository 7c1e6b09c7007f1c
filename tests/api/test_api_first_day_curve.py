"""The equity curve after an account's first trading day starts at the account's base (the starting cash).

The demo's account is first seen on the morning of its first day, so the base and the first fills share a date:
the curve must still begin at the starting cash, or the return reads 0.00 % and the day's P&L is missing."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from hantu.clock import KST, FrozenClock

DAY = date(2026, 3, 16)  # a Monday: the previous trading day is Friday 2026-03-13
EVENING = datetime(2026, 3, 16, 16, 0, tzinfo=KST)
BASE_CASH = 30_000_000
QTY, PRICE, FEE, CLOSE = 100, 10_000, 150, 10_500
END_EQUITY = BASE_CASH - QTY * PRICE - FEE + QTY * CLOSE  # 30,049,850


@pytest.fixture(params=[EVENING, EVENING - timedelta(days=3)], ids=["that-evening", "wall-clock-behind"])
def clock(request: pytest.FixtureRequest) -> FrozenClock:
    """The evening of the day, and (as after `hantu demo`, which simulates the next trading day) a wall clock
    still on the day before it."""
    return FrozenClock(request.param)


@pytest.fixture
def first_day(database, isolated_env):  # type: ignore[no-untyped-def]
    import numpy as np

    from hantu.market.store import DayBars, MarketStore
    from hantu.store.models import DailyReport, TradeAccount, TradeFill, TradeOrder, TradePosition

    morning = datetime(2026, 3, 16, 8, 35, tzinfo=KST)
    filled = datetime(2026, 3, 16, 9, 5, tzinfo=KST)
    cash = BASE_CASH - QTY * PRICE - FEE
    with database.session() as s:
        s.add(TradeAccount(broker="paper", base_cash=BASE_CASH, base_positions={}, base_at=morning, cash=cash,
                           updated_at=filled))
        s.add(TradeOrder(client_order_id="C-1", broker="paper", broker_order_id="B1", trading_date=DAY,
                         code="005930", side="buy", order_type="limit", quantity=QTY, limit_price=PRICE,
                         status="filled", filled_quantity=QTY, avg_fill_price=float(PRICE), purpose="entry",
                         reason="pick", source="engine", created_at=filled - timedelta(minutes=1),
                         sent_at=filled - timedelta(minutes=1), updated_at=filled, message=""))
        s.flush()
        s.add(TradeFill(broker="paper", fill_id="F1", broker_order_id="B1", order_id=1, trading_date=DAY,
                        code="005930", side="buy", quantity=QTY, price=PRICE, amount=QTY * PRICE, commission=FEE,
                        tax=0, filled_at=filled, recorded_at=filled, in_base=False))
        s.add(TradePosition(broker="paper", code="005930", quantity=QTY, avg_price=float(PRICE), entry_date=DAY,
                            stop_price=9_500, target_price=11_000, high_since_entry=float(CLOSE), atr=100.0,
                            updated_at=filled))
        s.add(DailyReport(trading_date=DAY, broker="paper", equity=END_EQUITY, cash=cash, realized_pnl=-FEE,
                          unrealized_pnl=QTY * (CLOSE - PRICE), fees=FEE, taxes=0, trades=1, day_return_pct=None,
                          positions=[], created_at=EVENING))
    codes = np.array(["005930"])
    close = np.array([CLOSE], dtype=np.int64)
    MarketStore(isolated_env / "market").write_days(
        [DayBars(day=DAY, codes=codes, open=close, high=close, low=close, close=close,
                 volume=np.array([1000], dtype=np.int64), amount=close * 1000, names=np.array(["삼성전자"]),
                 markets=np.array(["KOSPI"]))], source="test")
    return database


def test_first_day_curve_starts_at_the_base_cash(first_day, make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client()
    body = client.get("/api/v1/performance").json()
    assert [(p["date"], p["equity"]) for p in body["points"]] == [("2026-03-13", BASE_CASH),
                                                                   ("2026-03-16", END_EQUITY)]
    assert body["points"][1]["pnl"] == END_EQUITY - BASE_CASH
    assert abs(body["total_return"] - (END_EQUITY / BASE_CASH - 1)) < 1e-12
    assert body["total_return"] > 0.0016
    assert body["day_pnl"] == END_EQUITY - BASE_CASH == 49_850
    assert body["max_drawdown"] == 0
    account = client.get("/api/v1/account").json()
    assert account["equity"] == END_EQUITY
    assert account["day_pnl"] == END_EQUITY - BASE_CASH
