"""`KisBroker` (the Broker protocol over the client) against the sandbox."""

from __future__ import annotations

import pytest

from hantu.broker.base import Broker, OrderRequest, OrderStateUnknown
from hantu.broker.kis.broker import KisBroker
from hantu.domain.order_state import OrderStatus
from hantu.domain.orders import OrderType, Side

SAMSUNG = "005930"


@pytest.fixture
def broker_for(make_api):  # type: ignore[no-untyped-def]
    def make(account, **overrides):  # type: ignore[no-untyped-def]
        return KisBroker(make_api(account, **overrides))

    return make


def test_is_a_broker_and_places_orders(sandbox, broker_for, sim_clock) -> None:
    broker = broker_for(sandbox.create_account("virtual", 50_000_000))
    assert isinstance(broker, Broker)
    quote = broker.quote(SAMSUNG)
    assert quote.price > 0 and quote.upper_limit > quote.price
    market = broker.place(OrderRequest("c1", SAMSUNG, Side.BUY, 10, OrderType.MARKET))
    assert market.status is OrderStatus.SUBMITTED and len(market.broker_order_id) == 10
    limit = broker.place(OrderRequest("c2", SAMSUNG, Side.BUY, 5, OrderType.LIMIT, quote.price - 2000))
    sim_clock.advance(60)
    orders = {o.broker_order_id: o for o in broker.orders(sim_clock.today())}
    assert orders[market.broker_order_id].status is OrderStatus.FILLED
    assert orders[market.broker_order_id].client_order_id == "c1"
    assert orders[limit.broker_order_id].status is OrderStatus.SUBMITTED
    assert [o.broker_order_id for o in broker.open_orders()] == [limit.broker_order_id]
    cancelled = broker.cancel(limit)
    assert cancelled.status is OrderStatus.CANCELLED
    assert broker.open_orders() == []
    positions = broker.positions()
    assert [(p.code, p.quantity) for p in positions] == [(SAMSUNG, 10)]
    cash = broker.cash()
    assert cash.orderable == cash.cash < 50_000_000 and cash.equity > cash.cash


def test_limit_orders_queue_and_fill_when_the_price_crosses(sandbox, broker_for, sim_clock) -> None:
    broker = broker_for(sandbox.create_account("virtual", 50_000_000))
    path = sandbox.state.market.path(SAMSUNG, sim_clock.today())
    now_i = path.index_at(sim_clock.now())
    later_low = int(path.prices[now_i + 1:].min())
    order = broker.place(OrderRequest("c", SAMSUNG, Side.BUY, 1, OrderType.LIMIT, later_low))
    assert broker.orders(sim_clock.today())[0].status is OrderStatus.SUBMITTED or later_low >= path.prices[now_i]
    sim_clock.advance(6 * 3600)  # past the close
    final = {o.broker_order_id: o for o in broker.orders(sim_clock.today())}[order.broker_order_id]
    assert final.status is OrderStatus.FILLED and final.avg_fill_price == later_low


def test_unfilled_day_order_expires_at_the_close(sandbox, broker_for, sim_clock) -> None:
    broker = broker_for(sandbox.create_account("virtual", 50_000_000))
    low = broker.quote(SAMSUNG).lower_limit
    order = broker.place(OrderRequest("c", SAMSUNG, Side.BUY, 1, OrderType.LIMIT, low))
    sim_clock.advance(6 * 3600)
    (final,) = [o for o in broker.orders(sim_clock.today()) if o.broker_order_id == order.broker_order_id]
    assert final.status is OrderStatus.EXPIRED and final.filled_quantity == 0
    assert broker.cash().orderable == broker.cash().cash  # reservation released


def test_fills_are_cumulative_per_order_with_ids_from_the_broker_alone(sandbox, broker_for, sim_clock,
                                                                        isolated_env) -> None:
    """One cumulative fill per order, id `<date>-<ODNO>-<cumulative>`: the same for every caller and after a
    restart with `$HANTU_HOME/kis/` deleted (no local ledger), so the engine's recording is idempotent."""
    import shutil

    sandbox.state.exchange.participation = 0.0001  # a few shares a minute: partial fills
    account = sandbox.create_account("virtual", 500_000_000)
    broker = broker_for(account)
    order = broker.place(OrderRequest("c", SAMSUNG, Side.BUY, 400, OrderType.MARKET))
    (first,) = broker.fills(sim_clock.today())
    assert first.cumulative and first.broker_order_id == order.broker_order_id and 0 < first.quantity < 400
    assert first.fill_id == f"{sim_clock.today():%Y%m%d}-{order.broker_order_id}-{first.quantity}"
    sim_clock.advance(120)
    (second,) = broker.fills(sim_clock.today())
    assert second.quantity > first.quantity and second.fill_id != first.fill_id
    broker.close()
    shutil.rmtree(isolated_env / "kis")
    restarted = broker_for(account)  # a new process without the state directory
    assert [f.fill_id for f in restarted.fills(sim_clock.today())] == [second.fill_id]
    sim_clock.advance(6 * 3600)
    (final,) = restarted.fills(sim_clock.today())
    (row,) = [o for o in restarted.orders(sim_clock.today()) if o.broker_order_id == order.broker_order_id]
    assert final.quantity == row.filled_quantity
    assert final.value == pytest.approx(row.filled_quantity * row.avg_fill_price, rel=1e-3)
    from hantu.market.rules import costs

    assert (final.commission, final.tax) == (costs(Side.BUY, final.value, "KOSPI", sim_clock.today()).commission, 0)


def test_place_resolves_a_lost_response_by_lookup(sandbox, broker_for) -> None:
    account = sandbox.create_account("virtual", 50_000_000)
    broker = broker_for(account, timeout=0.8)
    broker.api.client.access_token()
    sandbox.add_fault("drop_response", 1, path="order-cash", delay=2.0)
    order = broker.place(OrderRequest("c", SAMSUNG, Side.BUY, 2, OrderType.MARKET))
    assert order.status in (OrderStatus.FILLED, OrderStatus.SUBMITTED, OrderStatus.PARTIALLY_FILLED)
    assert order.client_order_id == "c"
    assert sandbox.stats(account.app_key)["orders_received"] == 1


def test_place_raises_order_state_unknown_when_lookup_finds_nothing(sandbox, broker_for) -> None:
    account = sandbox.create_account("virtual", 50_000_000)
    broker = broker_for(account, timeout=0.8)
    broker.api.client.access_token()
    sandbox.add_fault("timeout", 1, path="order-cash", delay=2.0)
    with pytest.raises(OrderStateUnknown):
        broker.place(OrderRequest("c", SAMSUNG, Side.BUY, 2, OrderType.MARKET))
    assert len([r for r in sandbox.stats()["requests"] if r["tr_id"] == "VTTC0012U"]) == 1


def test_sell_applies_fees_and_tax(sandbox, broker_for, sim_clock) -> None:
    account = sandbox.create_account("virtual", 0, holdings={SAMSUNG: {"quantity": 10, "avg_price": 70000}})
    broker = broker_for(account)
    broker.place(OrderRequest("c", SAMSUNG, Side.SELL, 10, OrderType.MARKET))
    (fill,) = broker.fills(sim_clock.today())
    from hantu.market.rules import costs

    expected = costs(Side.SELL, fill.quantity * fill.price, "KOSPI", sim_clock.today())
    assert (fill.commission, fill.tax) == (expected.commission, expected.tax) and fill.tax > 0
    assert account.cash == fill.quantity * fill.price - expected.total  # the sandbox account agrees
    assert broker.positions() == []


def test_cash_is_the_d2_figure_while_the_deposit_settles_t_plus_2(sandbox, broker_for, make_api, sim_clock) -> None:
    """KIS's deposit (`dnca_tot_amt`) moves at settlement (T+2); `prvs_rcdl_excc_amt` holds every execution at
    once. The broker's cash (what reconciliation compares with the book) is the D+2 figure."""
    from datetime import timedelta

    from hantu.market.calendar import next_trading_day, settlement_day

    account = sandbox.create_account("virtual", 50_000_000)
    broker = broker_for(account)
    broker.place(OrderRequest("c", SAMSUNG, Side.BUY, 10, OrderType.MARKET))
    sim_clock.advance(60)
    spent = 50_000_000 - account.cash
    assert spent > 0
    trade_day = sim_clock.today()

    def fields() -> tuple[int, int, int]:
        summary = make_api(account).balance().summary
        return summary.cash, summary.next_day_cash, summary.d2_cash

    assert fields() == (50_000_000, 50_000_000, 50_000_000 - spent)
    assert broker.cash().cash == 50_000_000 - spent
    day_1 = next_trading_day(trade_day)
    sim_clock.advance(timedelta(days=(day_1 - trade_day).days))
    assert fields() == (50_000_000, 50_000_000 - spent, 50_000_000 - spent)
    settled = settlement_day(trade_day)
    sim_clock.advance(timedelta(days=(settled - day_1).days))
    assert fields() == (50_000_000 - spent,) * 3
