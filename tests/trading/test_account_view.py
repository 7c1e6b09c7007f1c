"""The account read model's rules, each once: which account, which positions, which price, which orders."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np

from hantu.clock import KST
from hantu.domain.order_state import OPEN, OrderStatus
from hantu.market.closes import ClosesReader, Mark
from hantu.market.store import DayBars, MarketStore
from hantu.store.models import Instrument, TradeAccount, TradeOrder, TradePosition
from hantu.trading.account import AccountService

NOW = datetime(2026, 3, 16, 10, 0, tzinfo=KST)
TODAY = NOW.date()
CLOSE_DAY = date(2026, 3, 13)


def _seed(database) -> None:  # type: ignore[no-untyped-def]
    with database.session() as s:
        s.add(Instrument(code="005930", name="삼성전자", market="KOSPI"))
        for broker, cash in (("paper", 1_000_000), ("kis", 9_999_999)):
            s.add(TradeAccount(broker=broker, base_cash=cash, base_positions={}, base_at=NOW - timedelta(days=3),
                               cash=cash, updated_at=NOW - timedelta(days=3) if broker == "paper" else NOW))
        for broker, code, quantity, avg in (("paper", "005930", 10, 70_000.0), ("paper", "000660", 2, 100_000.0),
                                            ("paper", "035720", 0, 40_000.0), ("kis", "005930", 99, 1.0)):
            s.add(TradePosition(broker=broker, code=code, quantity=quantity, avg_price=avg, entry_date=TODAY,
                                high_since_entry=avg, updated_at=NOW))
        for i, (broker, day, status) in enumerate((("paper", TODAY, "submitted"), ("paper", TODAY, "filled"),
                                                   ("paper", TODAY - timedelta(days=3), "submitted"),
                                                   ("kis", TODAY, "unknown"), ("paper", TODAY, "new"))):
            s.add(TradeOrder(client_order_id=f"c{i}", broker=broker, trading_date=day, code="005930", side="buy",
                             order_type="limit", quantity=1, limit_price=70_000, status=status, filled_quantity=0,
                             avg_fill_price=0.0, purpose="entry", reason="", source="engine", message="",
                             created_at=NOW, updated_at=NOW))


def test_the_configured_account_nonzero_positions_newest_close_and_open_orders(database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _seed(database)
    store = MarketStore(tmp_path / "market")
    codes = np.array(["005930"])  # 000660 has no close: valued at cost
    for day, price in ((date(2026, 3, 12), 69_000), (CLOSE_DAY, 71_000)):
        close = np.array([price], dtype=np.int64)
        store.write_days([DayBars(day=day, codes=codes, open=close, high=close, low=close, close=close,
                                  volume=np.array([1]), amount=close)], source="test")
    service = AccountService("paper", ClosesReader(tmp_path / "market"))
    with database.session() as s:
        view = service.view(s, TODAY)
    # the configured mode's account, although "kis" was updated more recently
    assert (view.broker, view.cash, view.initialised) == ("paper", 1_000_000, True)
    assert [(p.code, p.quantity) for p in view.positions] == [("000660", 2), ("005930", 10)]  # 035720 is flat
    samsung = view.positions[1]
    assert (samsung.name, samsung.last_price, samsung.last_price_date) == ("삼성전자", 71_000, CLOSE_DAY)
    assert samsung.unrealized_pnl == 10_000
    hynix = view.positions[0]
    assert (hynix.name, hynix.last_price, hynix.market_value) == (None, None, 200_000)
    assert view.priced is False and view.prices_as_of == CLOSE_DAY
    assert view.equity == 1_000_000 + 710_000 + 200_000
    assert [o.client_order_id for o in view.orders_today] == ["c0", "c1", "c4"]
    assert [o.client_order_id for o in view.open_orders] == ["c0", "c4"]
    assert view.realized_pnl_today == 0 and view.fills_today == 0


def test_a_live_price_source_replaces_the_stored_closes(database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _seed(database)

    class Live:
        def marks(self, codes: list[str]) -> dict[str, Mark]:
            return {code: Mark(75_000.0, TODAY) for code in codes if code == "005930"}

    with database.session() as s:
        view = AccountService("paper", ClosesReader(tmp_path / "none"), live=Live()).view(s, TODAY)
    assert [(p.code, p.last_price) for p in view.positions] == [("000660", None), ("005930", 75_000)]
    assert view.prices_as_of == TODAY and view.equity == 1_000_000 + 750_000 + 200_000


def test_an_account_not_seen_yet_is_empty(database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with database.session() as s:
        view = AccountService("paper", ClosesReader(tmp_path / "none")).view(s, TODAY)
    assert (view.initialised, view.cash, view.positions, view.equity, view.realized_pnl_today) == (
        False, 0, (), 0, None)


def test_open_statuses_are_the_non_terminal_ones() -> None:
    assert set(OPEN) == {s for s in OrderStatus if not s.is_terminal}


def test_positions_say_which_mechanism_guards_their_stop(database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A live stop-limit at the broker guards 005930 ("broker", with its trigger); 000660 has a stop level only
    (the engine's own stop); 035720's zero quantity is not shown."""
    _seed(database)
    with database.session() as s:
        s.get(TradePosition, ("paper", "000660")).stop_price = 95_000  # type: ignore[union-attr]
        s.add(TradeOrder(client_order_id="stop", broker="paper", trading_date=TODAY, code="005930", side="sell",
                         order_type="stop_limit", quantity=10, limit_price=64_000, trigger_price=66_000,
                         status="submitted", filled_quantity=0, avg_fill_price=0.0, purpose="stop", reason="",
                         source="engine", message="", created_at=NOW, updated_at=NOW))
    service = AccountService("paper", ClosesReader(tmp_path / "market"))
    with database.session() as s:
        view = service.view(s, TODAY)
    guards = {p.code: (p.guard, p.guard_trigger) for p in view.positions}
    assert guards == {"005930": ("broker", 66_000), "000660": ("engine", None)}
