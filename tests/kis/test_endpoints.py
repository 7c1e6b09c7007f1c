"""The client against the sandbox over loopback, one test per endpoint family (real and virtual servers)."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from hantu.broker.kis.errors import KisInvalidInputError, KisNotInVirtualError, KisOrderRejected
from hantu.market.rules import tick_size

SAMSUNG = "005930"


def test_current_price_matches_the_replayed_market(sandbox, make_api, sim_clock) -> None:
    api = make_api(sandbox.create_account("virtual"))
    info = api.price(SAMSUNG)
    snap = sandbox.state.market.snapshot(SAMSUNG, sim_clock.now())
    assert info.price == snap.price > 0
    assert info.lower_limit < info.price < info.upper_limit
    assert info.tick == tick_size(info.price, sim_clock.today(), "KOSPI")  # the band of the 2023 tick table
    assert info.volume == snap.volume > 0
    assert not info.halted


def test_price_before_the_open_is_the_previous_close(sandbox, make_api, sim_clock, kis_panel) -> None:
    api = make_api(sandbox.create_account("virtual"))
    from hantu.clock import parse_kst

    sim_clock.set(parse_kst("2024-01-08 08:40"))  # Monday, before the open
    info = api.price(SAMSUNG)
    col = kis_panel.column(SAMSUNG)
    assert info.price == int(kis_panel.close[kis_panel.row(date(2024, 1, 5)), col])
    assert info.volume == 0


def test_unknown_stock_is_a_clear_invalid_input_error(sandbox, make_api) -> None:
    api = make_api(sandbox.create_account("virtual"))
    with pytest.raises(KisInvalidInputError, match="OPSQ2001"):
        api.price("999999")


def test_daily_chart_pages_past_100_rows(long_panel, fast_options, isolated_env) -> None:
    from hantu.broker.kis.api import KisApi
    from hantu.broker.kis.client import KisClient
    from hantu.broker.kis.config import KisConfig
    from hantu.clock import FrozenClock, parse_kst
    from hantu.sandbox.kis.app import start_kis_sandbox

    clock = FrozenClock(parse_kst("2024-02-13 16:00"))
    code = str(long_panel.codes[0])
    with start_kis_sandbox(long_panel, clock, fast_options) as sandbox:
        account = sandbox.create_account("virtual")
        api = KisApi(
            KisClient(
                KisConfig(
                    app_key=account.app_key,
                    app_secret=account.app_secret,
                    account=account.account_number,
                    base_url=sandbox.base_url,
                    home=isolated_env,
                    rate_limit=1000,
                ),
                clock,
            )
        )
        bars = api.daily_chart(code, date(2023, 1, 1), date(2024, 2, 13))
        expected = [
            long_panel.date_at(i)
            for i in range(len(long_panel.dates))
            if long_panel.date_at(i) >= date(2023, 1, 1)
        ]
        assert [b.day for b in bars] == expected and len(bars) > 200
        chart_calls = [r for r in sandbox.stats()["requests"] if r["tr_id"] == "FHKST03010100"]
        assert len(chart_calls) == 3  # 100 + 100 + the rest, by date window
        last30 = api.daily_prices(code)
        assert len(last30) == 30 and last30[-1].day == date(2024, 2, 13)
        api.close()


def test_daily_prices_include_todays_partial_bar(sandbox, make_api, sim_clock) -> None:
    api = make_api(sandbox.create_account("virtual"))
    bars = api.daily_prices(SAMSUNG)
    assert bars[-1].day == date(2024, 1, 5)
    assert bars[-1].close == api.price(SAMSUNG).price  # the bar so far, no look-ahead


def test_minute_bars_page_back_to_the_open(sandbox, make_api, sim_clock) -> None:
    api = make_api(sandbox.create_account("virtual"))
    bars = api.minute_bars(SAMSUNG)
    path = sandbox.state.market.path(SAMSUNG, sim_clock.today())
    assert len(bars) == 61  # 09:00 .. 10:00 inclusive, 30 rows a call
    assert bars[0].at.time() == time(9, 0) and bars[-1].at.time() == time(10, 0)
    assert [b.price for b in bars] == [int(p) for p in path.prices[:61]]
    assert sum(b.volume for b in bars) == int(path.volumes[:61].sum())


def test_orderbook_has_ten_levels_around_the_price(sandbox, make_api) -> None:
    api = make_api(sandbox.create_account("virtual"))
    book = api.orderbook(SAMSUNG)
    price = api.price(SAMSUNG).price
    assert len(book.asks) == 10 and len(book.bids) == 10
    assert book.asks[0][0] > price - 1 and book.bids[0][0] <= price
    assert all(q > 0 for _, q in book.asks + book.bids)


def test_real_only_endpoints_on_the_real_server_and_refused_on_virtual(sandbox, make_api, sim_clock) -> None:
    real = make_api(sandbox.create_account("prod"))
    ranks = real.volume_rank()
    assert len(ranks) == 30 and ranks[0].rank == 1
    assert ranks[0].volume >= ranks[-1].volume > 0
    days = real.holidays(date(2024, 1, 5))
    assert len(days) == 30  # three pages of ten, via tr_cont + CTX_AREA_NK
    assert real.is_market_open(date(2024, 1, 5)) is True
    assert real.is_market_open(date(2024, 1, 6)) is False  # Saturday
    assert real.is_market_open(date(2024, 2, 9)) is False  # 설날 연휴
    virtual = make_api(sandbox.create_account("virtual"))
    with pytest.raises(KisNotInVirtualError):
        virtual.volume_rank()
    with pytest.raises(KisNotInVirtualError):
        virtual.holidays(date(2024, 1, 5))
    with pytest.raises(KisNotInVirtualError):
        virtual.revisable_orders()


def test_virtual_tr_ids_are_required_on_the_virtual_server(sandbox, make_api) -> None:
    account = sandbox.create_account("virtual")
    api = make_api(account)
    api.balance()
    sent = {r["tr_id"] for r in sandbox.stats()["requests"]}
    assert "VTTC8434R" in sent
    # A virtual account sending the real form is refused, as KIS does.
    wrong = make_api(account, server="prod")
    with pytest.raises(KisNotInVirtualError):
        wrong.balance()


def test_orders_balance_buyable_and_daily_orders(sandbox, make_api, sim_clock) -> None:
    account = sandbox.create_account("virtual", 100_000_000)
    api = make_api(account)
    quote = api.price(SAMSUNG)
    price, tick = quote.price, quote.tick
    buyable = api.buyable(SAMSUNG, price, "00")
    assert buyable.orderable_cash == 100_000_000
    # the most shares whose cost with the commission (0.015 %) fits the cash
    assert buyable.max_buy_qty * price * 1.00015 <= 100_000_000 < (buyable.max_buy_qty + 1) * price * 1.00015
    market = api.order_cash("buy", SAMSUNG, 10)
    assert len(market.odno) == 10 and market.odno.isdigit() and market.org_no
    resting = api.order_cash("buy", SAMSUNG, 5, price - 20 * tick)
    sim_clock.advance(60)
    orders = {o.odno: o for o in api.daily_orders(sim_clock.today(), sim_clock.today())}
    assert orders[market.odno].filled_quantity == 10 and orders[market.odno].price == 0
    assert orders[resting.odno].filled_quantity == 0 and orders[resting.odno].remaining == 5
    balance = api.balance()
    assert [(h.code, h.quantity) for h in balance.holdings] == [(SAMSUNG, 10)]
    assert balance.summary.d2_cash < 100_000_000 - 10 * price * 0.99  # the deposit itself moves at T+2
    assert balance.summary.cash == 100_000_000
    # revise the resting order's price, then cancel the revision
    revised = api.revise_or_cancel(
        resting.org_no, resting.odno, cancel=False, price=price - 30 * tick, all_quantity=True
    )
    cancelled = api.revise_or_cancel(revised.org_no, revised.odno, cancel=True)
    rows = {o.odno: o for o in api.daily_orders(sim_clock.today(), sim_clock.today())}
    assert rows[revised.odno].orig_odno == resting.odno and rows[revised.odno].price == price - 30 * tick
    assert rows[cancelled.odno].cancelled and rows[cancelled.odno].orig_odno == revised.odno
    assert rows[revised.odno].remaining == 0
    with pytest.raises(KisOrderRejected):
        api.revise_or_cancel(revised.org_no, revised.odno, cancel=True)  # nothing left to cancel


def test_balance_and_daily_orders_paginate_with_virtual_page_sizes(
    sandbox, make_api, sim_clock, kis_panel
) -> None:
    import numpy as np

    row = kis_panel.row(date(2024, 1, 5))
    traded = [str(c) for c in kis_panel.codes[np.argsort(-np.nan_to_num(kis_panel.volume[row]))][:25]]
    account = sandbox.create_account("virtual", 500_000_000, holdings={code: 3 for code in traded})
    api = make_api(account)
    balance = api.balance()
    assert len(balance.holdings) == 25 and balance.pages == 2  # 20 a page on the virtual server
    for code in traded[:20]:
        api.order_cash("sell", code, 1)
    orders = api.daily_orders(sim_clock.today(), sim_clock.today())
    assert len(orders) == 20
    ccld_calls = [r for r in sandbox.stats()["requests"] if r["tr_id"] == "VTTC0081R"]
    assert len(ccld_calls) == 2  # 15 a page on the virtual server
    real = sandbox.create_account("prod", 10_000_000, holdings={code: 1 for code in traded})
    assert make_api(real).balance().pages == 1  # 50 a page on the real server


def test_order_rejections_are_typed(sandbox, make_api) -> None:
    api = make_api(sandbox.create_account("virtual", 100_000))
    with pytest.raises(KisOrderRejected, match="APBK0952"):
        api.order_cash("buy", SAMSUNG, 100)  # more than the cash
    with pytest.raises(KisOrderRejected, match="APBK0400"):
        api.order_cash("sell", SAMSUNG, 1)  # nothing held
    price = api.price(SAMSUNG).price
    with pytest.raises(KisOrderRejected, match="APBK1681"):
        api.order_cash("buy", SAMSUNG, 1, price + 1)  # off the tick grid
    assert sandbox.stats()["orders_received"] == 3


def test_hashkey_is_sent_and_checked(sandbox, make_api) -> None:
    api = make_api(sandbox.create_account("virtual"), use_hashkey=True)
    ack = api.order_cash("buy", SAMSUNG, 1)
    assert ack.odno
    assert api.client.hashkey({"A": "1"}) != api.client.hashkey({"A": "2"})


def test_orders_outside_market_hours_are_rejected(sandbox, make_api, sim_clock) -> None:
    api = make_api(sandbox.create_account("virtual"))
    sim_clock.advance(timedelta(hours=6))  # 16:00
    with pytest.raises(KisOrderRejected, match="APBK0919"):
        api.order_cash("buy", SAMSUNG, 1)
