"""The KIS sandbox's market status over the wire (issue #20): VIs replayed from KRX's thresholds and injected
halts / upper-limit locks / circuit breakers, as the KIS client reads them (`vi_cls_code`, `temp_stop_yn`, the
H0STCNT0 record's `HOUR_CLS_CODE`/`TRHT_YN`), and their matching (a market order sent into a VI auction fills at
the auction price when it uncrosses)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import httpx
import pytest

from hantu.broker.kis.broker import KisBroker
from hantu.broker.kis.errors import KisOrderRejected
from hantu.broker.kis.websocket import KisWebSocket
from hantu.clock import KST
from hantu.market.status import VI_BOTH

pytest.importorskip("hantu.sandbox.kis.app")

CODE = "005930"


def day_of(sandbox) -> datetime:  # type: ignore[no-untyped-def]
    return sandbox.state.now()


def hhmm(base: datetime, text: str) -> datetime:
    hh, mm = (int(x) for x in text.split(":"))
    return base.replace(hour=hh, minute=mm, second=0, microsecond=0).astimezone(KST)


def test_a_forced_vi_shows_in_the_quote_and_a_market_order_fills_at_the_auction_price(
        sandbox, make_api, sim_clock) -> None:  # type: ignore[no-untyped-def]
    now = sim_clock.now()  # 10:00
    sandbox.state.market.status.add("vi", now.date(), "10:05", code=CODE, vi="static")
    account = sandbox.create_account("virtual", 50_000_000)
    api = make_api(account)
    broker = KisBroker(api)
    assert broker.quote(CODE).vi == ""
    sim_clock.set(hhmm(now, "10:05") + timedelta(seconds=20))
    quote = broker.quote(CODE)
    assert quote.vi == "static" and quote.status.hold_reason is not None and not quote.halted
    ack = api.order_cash("buy", CODE, 2)  # a market order into the auction: accepted, not filled
    order = sandbox.state.exchange.get(ack.odno, now.date())
    assert order is not None and order.filled == 0
    sim_clock.set(hhmm(now, "10:06") + timedelta(seconds=50))
    sandbox.state.advance()
    assert order.filled == 0  # still in the auction
    sim_clock.set(hhmm(now, "10:07") + timedelta(seconds=5))
    sandbox.state.advance()
    window = sandbox.state.market.status.day_status(CODE, now.date()).windows[0]
    assert order.filled == 2 and order.fills[0].price == window.auction_price
    assert order.fills[0].at == hhmm(now, "10:07")  # the uncross
    assert broker.quote(CODE).vi == ""


def test_replayed_vis_follow_the_thresholds_and_show_in_the_real_time_feed(
        sandbox, make_api, sim_clock) -> None:  # type: ignore[no-untyped-def]
    now = sim_clock.now()
    loaded = sandbox.load_scenario("vi-cascade", now.date(), [CODE, "000660", "035720"])
    assert loaded["codes"] == [CODE, "000660", "035720"]
    status = sandbox.state.market.status
    sandbox.state.market.path(CODE, now.date())
    windows = status.day_status(CODE, now.date()).windows
    first = windows[0]  # the 09:30 jump of +11 %: past the dynamic band at least (static too from near the open)
    assert first.start == 30 and first.kind in ("dynamic", VI_BOTH) and first.end == 32
    assert abs(first.trigger_price / first.reference - 1) >= 0.06
    static = [w for w in windows if "static" in w.kind]
    assert all(abs(w.trigger_price / w.reference - 1) >= 0.10 for w in static)
    # during a VI the socket's records say so (HOUR_CLS_CODE C) and the quote's vi_cls_code too
    account = sandbox.create_account("virtual", 10_000_000)
    ticks: list = []
    ws = KisWebSocket(make_api(account).client, on_price=ticks.append, reconnect_initial=0.05, reconnect_max=0.2)
    try:
        ws.subscribe_price("035720")
        ws.start()
        assert ws.wait_connected()
        sandbox.state.market.path("035720", now.date())
        third = status.day_status("035720", now.date()).windows[0]  # the 13:00 jump of 7 %: a dynamic VI
        assert third.kind == "dynamic"
        start = hhmm(now, "09:00") + timedelta(minutes=third.start, seconds=10)
        sim_clock.set(start)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(t.fields.get("HOUR_CLS_CODE") == "C" for t in ticks):
            time.sleep(0.05)
        assert any(t.fields.get("HOUR_CLS_CODE") == "C" for t in ticks)
    finally:
        ws.stop()
    assert KisBroker(make_api(account)).quote("035720").vi == "dynamic"


def test_halt_refuses_orders_and_upper_lock_starves_buyers(sandbox, make_api, sim_clock) -> None:  # type: ignore[no-untyped-def]
    now = sim_clock.now()
    base = f"{sandbox.base_url}/_sandbox"
    response = httpx.post(f"{base}/events", json={"kind": "halt", "start": "10:02", "minutes": 5, "code": CODE})
    assert response.status_code == 200, response.text
    assert httpx.post(f"{base}/events", json={"kind": "halt", "start": "10:02"}).status_code == 400  # no code
    assert httpx.post(f"{base}/events", json={"kind": "upper_lock", "start": "10:10", "code": "000660"}
                      ).status_code == 200
    account = sandbox.create_account("virtual", 50_000_000, holdings={"000660": 10})
    api = make_api(account)
    broker = KisBroker(api)
    sim_clock.set(hhmm(now, "10:03"))
    assert broker.quote(CODE).halted
    assert httpx.get(f"{base}/status/{CODE}").json()["status"] == "halted"
    with pytest.raises(KisOrderRejected, match="매매정지"):
        api.order_cash("buy", CODE, 1)
    sim_clock.set(hhmm(now, "10:11"))
    assert not broker.quote(CODE).halted
    locked = broker.quote("000660")
    assert locked.price == locked.upper_limit and locked.status.upper_locked
    buy = api.order_cash("buy", "000660", 1, locked.upper_limit)
    sell = api.order_cash("sell", "000660", 3)
    sim_clock.set(hhmm(now, "10:20"))
    sandbox.state.advance()
    assert sandbox.state.exchange.get(buy.odno, now.date()).filled == 0  # no sellers at the lock
    sold = sandbox.state.exchange.get(sell.odno, now.date())
    assert sold.filled == 3 and sold.fills[0].price == locked.upper_limit


def test_the_control_api_lists_and_loads_scenarios(sandbox, sim_clock) -> None:  # type: ignore[no-untyped-def]
    base = f"{sandbox.base_url}/_sandbox"
    names = {s["name"] for s in httpx.get(f"{base}/scenarios").json()}
    assert names == {"circuit-breaker", "afternoon-crash", "halt", "vi-cascade"}
    assert httpx.post(f"{base}/scenario", json={"name": "nope"}).status_code == 400
    loaded = httpx.post(f"{base}/scenario", json={"name": "circuit-breaker"}).json()
    assert loaded["day"] == sim_clock.now().date().isoformat()
    sim_clock.set(hhmm(sim_clock.now(), "12:10"))
    status = httpx.get(f"{base}/status/{CODE}").json()
    assert status["status"] == "halted" and status["halted"] is True
    assert [e["kind"] for e in status["market"]] == ["circuit_breaker"]
    sim_clock.set(hhmm(sim_clock.now(), "12:30"))
    assert httpx.get(f"{base}/status/{CODE}").json()["status"] == "reopen_auction"
    assert httpx.delete(f"{base}/events").json() == {"cleared": True}
    assert httpx.get(f"{base}/events").json() == {"scenario": None, "events": []}
