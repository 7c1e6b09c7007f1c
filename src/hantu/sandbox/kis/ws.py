"""The sandbox's real-time WebSocket: approval keys, subscribe replies (with AES key/iv), price ticks
(H0STCNT0, several records per frame), encrypted fill notices (H0STCNI0/H0STCNI9), PINGPONG, the
40-subscription cap, one session per app key, and the `drop_socket` fault."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from hantu.broker.kis.wsfields import (
    FILL_TRS,
    PINGPONG,
    SEP,
    TR_FILL_REAL,
    TR_FILL_VIRTUAL,
    TR_ORDERBOOK,
    TR_PRICE,
    aes_encrypt,
)
from hantu.sandbox.kis.state import SandboxState, WsSession
from hantu.sandbox.kis.wsframes import price_record

SUPPORTED_TRS = frozenset({TR_PRICE, TR_ORDERBOOK, TR_FILL_REAL, TR_FILL_VIRTUAL})


def _reply(tr_id: str, tr_key: str, rt_cd: str, msg_cd: str, msg1: str,
           output: dict[str, str] | None = None) -> str:
    body: dict[str, Any] = {"rt_cd": rt_cd, "msg_cd": msg_cd, "msg1": msg1}
    if output is not None:
        body["output"] = output
    return json.dumps({"header": {"tr_id": tr_id, "tr_key": tr_key, "encrypt": "N"}, "body": body},
                      ensure_ascii=False)


class _Close(Exception):
    pass


def build_ws_router(state: SandboxState) -> APIRouter:
    router = APIRouter()

    def handle_text(session: WsSession, text: str) -> list[str]:
        """Replies to one client frame; raises `_Close` when the session must end."""
        try:
            message = json.loads(text)
            header = message.get("header", {})
        except (ValueError, AttributeError):
            return [_reply("", "", "1", "OPSP9999", "JSON PARSING ERROR : invalid json format")]
        if header.get("tr_id") == PINGPONG:
            session.pongs += 1
            return []
        body_input = (message.get("body") or {}).get("input") or {}
        tr_id, tr_key = str(body_input.get("tr_id", "")), str(body_input.get("tr_key", ""))
        app_key = state.approvals.get(str(header.get("approval_key", "")))
        if app_key is None:
            return [_reply(tr_id, tr_key, "1", "OPSP0011", "invalid approval : NOT FOUND")]
        with state.lock:
            in_use = any(s.app_key == app_key and s.id != session.id for s in state.ws_sessions.values())
        if in_use:
            raise _Close(_reply(tr_id, tr_key, "1", "OPSP8996", "ALREADY IN USE appkey"))
        session.app_key = app_key
        account = state.accounts.by_key(app_key)
        if tr_id not in SUPPORTED_TRS:
            return [_reply(tr_id, tr_key, "1", "OPSP0003", "invalid tr_id")]
        if tr_id in FILL_TRS and account is not None and (tr_id == TR_FILL_VIRTUAL) != account.is_virtual:
            return [_reply(tr_id, tr_key, "1", "OPSP0003", "invalid tr_id for this server")]
        key = (tr_id, tr_key)
        tr_type = str(header.get("tr_type", "1"))
        if tr_type == "2":
            session.subscriptions.discard(key)
            return [_reply(tr_id, tr_key, "0", "OPSP0001", "UNSUBSCRIBE SUCCESS")]
        if key in session.subscriptions:
            return [_reply(tr_id, tr_key, "0", "OPSP0002", "ALREADY IN SUBSCRIBE")]
        if len(session.subscriptions) >= state.options.max_subscriptions:
            return [_reply(tr_id, tr_key, "1", "OPSP0008", "MAX SUBSCRIBE OVER")]
        if tr_id in (TR_PRICE, TR_ORDERBOOK) and not state.market.has(tr_key):
            return [_reply(tr_id, tr_key, "1", "OPSP0003", "invalid tr_key")]
        session.subscriptions.add(key)
        return [_reply(tr_id, tr_key, "0", "OPSP0000", "SUBSCRIBE SUCCESS",
                       {"iv": session.aes_iv, "key": session.aes_key})]

    def outgoing(session: WsSession) -> list[str]:
        """Frames due now: fill notices (encrypted, one per frame) and one multi-record price frame."""
        frames: list[str] = []
        now = state.advance()
        while session.pending_notices:
            fields = session.pending_notices.popleft()
            account = state.accounts.by_key(session.app_key)
            tr_id = TR_FILL_VIRTUAL if account is not None and account.is_virtual else TR_FILL_REAL
            frames.append(f"1|{tr_id}|001|{aes_encrypt(SEP.join(fields), session.aes_key, session.aes_iv)}")
        records: list[list[str]] = []
        for tr_id, code in sorted(session.subscriptions):
            if tr_id != TR_PRICE:
                continue
            snap = state.market.snapshot(code, now)
            if snap.minute < 0:
                continue
            mark = (snap.minute, snap.price)
            if session.last_sent.get(code) == mark:
                continue
            session.last_sent[code] = mark
            path = state.market.path(code, now.date())
            last_volume = int(path.volumes[snap.minute]) if len(path) > snap.minute >= 0 else 0
            records.append(price_record(snap, now, last_volume))
        if records:
            payload = SEP.join(SEP.join(r) for r in records)
            frames.append(f"0|{TR_PRICE}|{len(records):03d}|{payload}")
        return frames

    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        session = state.new_session()
        closed = asyncio.Event()

        async def receive() -> None:
            try:
                while True:
                    text = await websocket.receive_text()
                    try:
                        replies = handle_text(session, text)
                    except _Close as close:
                        await websocket.send_text(str(close.args[0]))
                        await websocket.close(code=1000)
                        break
                    for reply in replies:
                        await websocket.send_text(reply)
            except (WebSocketDisconnect, RuntimeError):
                pass
            finally:
                closed.set()

        receiver = asyncio.create_task(receive())
        last_ping = time.monotonic()
        try:
            while not closed.is_set():
                if session.app_key and state.faults.take(("drop_socket",), "ws", "", session.app_key):
                    await websocket.close(code=1011)
                    break
                for frame in outgoing(session):
                    await websocket.send_text(frame)
                if time.monotonic() - last_ping >= state.options.ping_interval:
                    last_ping = time.monotonic()
                    await websocket.send_text(json.dumps({"header": {
                        "tr_id": PINGPONG, "datetime": state.now().strftime("%Y%m%d%H%M%S")}}))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(closed.wait(), timeout=state.options.tick_interval)
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass
        finally:
            receiver.cancel()
            with contextlib.suppress(BaseException):
                await receiver
            state.end_session(session)

    for path in ("/", "/tryitout", "/tryitout/{tr}", "/websocket"):
        router.add_api_websocket_route(path, endpoint)
    return router
