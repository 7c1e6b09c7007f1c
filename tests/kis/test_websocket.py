"""The real-time WebSocket client against the sandbox: prices, encrypted fill notices, PINGPONG, the
40-subscription cap, one session per app key, and reconnection after a dropped socket."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from hantu.broker.kis.websocket import KisWebSocket, KisWebSocketError
from hantu.broker.kis.wsfields import split_records

SAMSUNG, HYNIX, KAKAO = "005930", "000660", "035720"


def wait_until(predicate, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


@pytest.fixture
def socket_for(make_api):  # type: ignore[no-untyped-def]
    made: list[KisWebSocket] = []

    def make(account, **kwargs):  # type: ignore[no-untyped-def]
        ws = KisWebSocket(make_api(account).client, reconnect_initial=0.05, reconnect_max=0.2, **kwargs)
        made.append(ws)
        return ws

    yield make
    for ws in made:
        ws.stop()


def test_prices_and_encrypted_fill_notices(sandbox, socket_for, make_api, sim_clock) -> None:
    account = sandbox.create_account("virtual", 50_000_000)
    ticks, notices = [], []
    ws = socket_for(account, on_price=ticks.append, on_fill=notices.append)
    for code in (SAMSUNG, HYNIX, KAKAO):
        ws.subscribe_price(code)
    ws.subscribe_fills()
    ws.start()
    assert ws.wait_connected()
    assert wait_until(lambda: {t.code for t in ticks} == {SAMSUNG, HYNIX, KAKAO})
    snap = sandbox.state.market.snapshot(SAMSUNG, sim_clock.now())
    assert [t.price for t in ticks if t.code == SAMSUNG][-1] == snap.price
    ack = make_api(account).order_cash("buy", SAMSUNG, 3)
    assert wait_until(lambda: any(n.is_fill for n in notices))
    fills = [n for n in notices if n.is_fill]
    assert fills[0].odno == ack.odno and fills[0].side == "buy" and fills[0].quantity == 3 and fills[0].price > 0
    assert any(not n.is_fill and n.odno == ack.odno for n in notices)  # the acceptance notice (CNTG_YN=1)
    # several price records in one frame: one minute later all three codes move at once
    ticks.clear()
    sim_clock.advance(60)
    assert wait_until(lambda: len({t.code for t in ticks}) == 3)
    assert ws.stats.frames >= 3


def test_pingpong_is_echoed(sandbox, socket_for) -> None:
    account = sandbox.create_account("virtual")
    ws = socket_for(account)
    ws.subscribe_price(SAMSUNG)
    ws.start()
    assert wait_until(lambda: ws.stats.pongs >= 1)
    assert wait_until(lambda: any(s["pongs"] >= 1 for s in sandbox.stats()["ws_sessions"]))


def test_forty_subscription_cap(sandbox, socket_for, kis_panel) -> None:
    ws = socket_for(sandbox.create_account("virtual"))
    codes = [str(c) for c in kis_panel.codes[:41]]
    for code in codes[:40]:
        ws.subscribe_price(code)
    with pytest.raises(KisWebSocketError, match="40"):
        ws.subscribe_price(codes[40])


def test_server_enforces_the_cap_and_one_session_per_key(sandbox, make_api, kis_panel) -> None:
    import websockets

    account = sandbox.create_account("virtual")
    approval = make_api(account).client.approval_key()

    def sub(code: str) -> str:
        return json.dumps({"header": {"approval_key": approval, "custtype": "P", "tr_type": "1",
                                      "content-type": "utf-8"}, "body": {"input": {"tr_id": "H0STCNT0",
                                                                                     "tr_key": code}}})

    async def scenario() -> tuple[list[str], str]:
        codes = [str(c) for c in kis_panel.codes[:41]]
        replies = []
        async with websockets.connect(sandbox.ws_url + "/tryitout", ping_interval=None) as first:
            for code in codes:
                await first.send(sub(code))
                while True:
                    text = await first.recv()
                    if not text.startswith("{"):
                        continue  # a data frame (prices of the codes already subscribed)
                    message = json.loads(text)
                    if message.get("body"):
                        replies.append(message["body"]["msg_cd"])
                        break
            async with websockets.connect(sandbox.ws_url + "/tryitout", ping_interval=None) as second:
                await second.send(sub(SAMSUNG))
                text = await second.recv()
                other = json.loads(text)["body"]["msg_cd"]
        return replies, other

    async def guarded() -> tuple[list[str], str]:
        return await asyncio.wait_for(scenario(), 20)

    replies, other = asyncio.run(guarded())
    assert replies[:40] == ["OPSP0000"] * 40 and replies[40] == "OPSP0008"
    assert other == "OPSP8996"


def test_one_process_holds_the_session(sandbox, socket_for) -> None:
    account = sandbox.create_account("virtual")
    first = socket_for(account)
    first.start()
    with pytest.raises(KisWebSocketError, match="another process"):
        socket_for(account).start()


def test_dropped_socket_reconnects_and_resubscribes(sandbox, socket_for, sim_clock) -> None:
    account = sandbox.create_account("virtual")
    states: list[bool] = []
    ticks = []
    ws = socket_for(account, on_price=ticks.append, on_state=states.append)
    ws.subscribe_price(SAMSUNG)
    ws.subscribe_fills()
    ws.start()
    assert ws.wait_connected()
    assert wait_until(lambda: any(s["subscriptions"] for s in sandbox.stats()["ws_sessions"]))
    sandbox.add_fault("drop_socket", 1, app_key=account.app_key)
    assert wait_until(lambda: ws.stats.reconnects >= 1)
    # The reconnect is counted before the state callback says so: wait for the callback, not the counter.
    assert wait_until(lambda: bool(states) and states[-1] is True)
    assert False in states
    assert wait_until(lambda: any(len(s["subscriptions"]) == 2 for s in sandbox.stats()["ws_sessions"]))
    ticks.clear()
    sim_clock.advance(60)
    assert wait_until(lambda: bool(ticks))  # prices flow again on the new session
    assert sandbox.stats()["ws_connections"] == 2


def test_multi_record_payload_split() -> None:
    values = [f"v{i}" for i in range(46 * 3)]
    records = split_records("^".join(values), 3, 46)
    assert len(records) == 3 and records[1][0] == "v46"
    grown = split_records("^".join([*values, "x", "y", "z"]), 3, 46)  # a server that added one field each
    assert [len(r) for r in grown] == [47, 47, 47]


def test_stop_releases_the_session_lock(sandbox, socket_for) -> None:
    account = sandbox.create_account("virtual")
    first = socket_for(account)
    first.start()
    first.stop()
    second = socket_for(account)
    second.start()
    assert second.wait_connected()
