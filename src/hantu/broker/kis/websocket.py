"""The KIS real-time WebSocket client: real-time prices (H0STCNT0) and fill notices (H0STCNI0/H0STCNI9).

KIS allows one live session per app key (a second gets OPSP8996), so only the trading process connects:
`start()` takes an exclusive, non-blocking file lock per app key and fails loudly when another process holds
it. The session runs in a background thread with its own asyncio loop: approval key (`/oauth2/Approval`),
subscriptions (at most 40 per session), PINGPONG echoed unchanged, multi-record frames split, fill notices
decrypted (AES-256-CBC with the key/iv of the subscribe reply). When the server drops the socket the client
reconnects with exponential backoff, re-approves if the key is refused, and restores every subscription;
`connected` tells callers when to fall back to REST polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from hantu.broker.kis.client import KisClient
from hantu.broker.kis.errors import KisError
from hantu.broker.kis.filelock import private_dir
from hantu.broker.kis.models import to_float, to_int, to_time
from hantu.broker.kis.wsfields import (
    FIELD_COUNTS,
    FILL_FIELDS,
    FILL_TRS,
    PINGPONG,
    PRICE_FIELDS,
    TR_FILL_REAL,
    TR_FILL_VIRTUAL,
    TR_PRICE,
    aes_decrypt,
    split_data_frame,
    split_records,
)
from hantu.clock import KST

log = logging.getLogger(__name__)

MAX_SUBSCRIPTIONS = 40


class KisWebSocketError(KisError):
    pass


@dataclass(frozen=True)
class PriceTick:
    code: str
    at: datetime
    price: int
    change: int
    change_rate: float
    volume: int  # this trade's volume (CNTG_VOL)
    cumulative_volume: int
    open: int
    high: int
    low: int
    fields: dict[str, str] = field(repr=False, compare=False, default_factory=dict)


@dataclass(frozen=True)
class FillNotice:
    odno: str
    orig_odno: str
    code: str
    side: str  # "buy" | "sell"
    quantity: int  # filled quantity of this notice (CNTG_YN=2) or the order quantity (ack)
    price: int
    order_quantity: int
    is_fill: bool  # CNTG_YN == "2"; else an order/revise/cancel/reject acknowledgement
    rejected: bool
    at: datetime
    fields: dict[str, str] = field(repr=False, compare=False, default_factory=dict)

    @property
    def fill_key(self) -> str:
        """A key for deduplicating notices (the same execution delivered twice)."""
        return f"{self.odno}-{self.fields.get('STCK_CNTG_HOUR', '')}-{self.quantity}-{self.price}"


def _named(names: tuple[str, ...], values: list[str]) -> dict[str, str]:
    out = dict(zip(names, values, strict=False))
    for i, extra in enumerate(values[len(names):]):  # fields KIS added later: kept, unnamed
        out[f"_EXTRA{i}"] = extra
    return out


def parse_price(values: list[str], day: date) -> PriceTick:
    f = _named(PRICE_FIELDS, values)
    bsop = f.get("BSOP_DATE", "")
    if len(bsop) == 8 and bsop.isdigit():
        day = date(int(bsop[:4]), int(bsop[4:6]), int(bsop[6:]))
    return PriceTick(code=f["MKSC_SHRN_ISCD"], at=datetime.combine(day, to_time(f.get("STCK_CNTG_HOUR")), KST),
                     price=to_int(f.get("STCK_PRPR")), change=to_int(f.get("PRDY_VRSS")),
                     change_rate=to_float(f.get("PRDY_CTRT")), volume=to_int(f.get("CNTG_VOL")),
                     cumulative_volume=to_int(f.get("ACML_VOL")), open=to_int(f.get("STCK_OPRC")),
                     high=to_int(f.get("STCK_HGPR")), low=to_int(f.get("STCK_LWPR")), fields=f)


def parse_fill(values: list[str], day: date) -> FillNotice:
    f = _named(FILL_FIELDS, values)
    return FillNotice(odno=f.get("ODER_NO", "").strip(), orig_odno=f.get("OODER_NO", "").strip(),
                      code=f.get("STCK_SHRN_ISCD", "").strip(),
                      side="sell" if f.get("SELN_BYOV_CLS") == "01" else "buy", quantity=to_int(f.get("CNTG_QTY")),
                      price=to_int(f.get("CNTG_UNPR")), order_quantity=to_int(f.get("ODER_QTY")),
                      is_fill=f.get("CNTG_YN") == "2", rejected=f.get("RFUS_YN") == "1",
                      at=datetime.combine(day, to_time(f.get("STCK_CNTG_HOUR")), KST), fields=f)


@dataclass
class WsStats:
    connects: int = 0
    reconnects: int = 0
    frames: int = 0
    pongs: int = 0
    approvals: int = 0
    errors: list[str] = field(default_factory=list)


class KisWebSocket:
    """One real-time session for one app key. Callbacks run on the session's thread: keep them short."""

    def __init__(self, client: KisClient, on_price: Callable[[PriceTick], None] | None = None,
                 on_fill: Callable[[FillNotice], None] | None = None,
                 on_state: Callable[[bool], None] | None = None, reconnect_initial: float = 0.5,
                 reconnect_max: float = 30.0, path: str = "/tryitout") -> None:
        self.client = client
        self.config = client.config
        self.on_price = on_price
        self.on_fill = on_fill
        self.on_state = on_state
        self.reconnect_initial = reconnect_initial
        self.reconnect_max = reconnect_max
        base = self.config.ws_base
        self.url = base if base.count("/") > 2 else base + path
        self.stats = WsStats()
        self._subscriptions: set[tuple[str, str]] = set()
        self._keys: dict[str, tuple[str, str]] = {}  # tr_id -> (key, iv)
        self._approval: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ws: Any = None
        self._stopping = threading.Event()
        self._connected = threading.Event()
        self._lock_fd: int | None = None
        self._lock = threading.Lock()

    # --- public API ---------------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def subscriptions(self) -> set[tuple[str, str]]:
        with self._lock:
            return set(self._subscriptions)

    def wait_connected(self, timeout: float = 10.0) -> bool:
        return self._connected.wait(timeout)

    def can_decrypt(self, tr_id: str) -> bool:
        """Whether the subscribe reply of `tr_id` (with its AES key and iv) has arrived: from then on the
        server sends that TR's encrypted frames (fill notices) and they can be read."""
        return tr_id in self._keys

    def subscribe_price(self, code: str) -> None:
        self._subscribe(TR_PRICE, code)

    def unsubscribe_price(self, code: str) -> None:
        self._unsubscribe(TR_PRICE, code)

    def subscribe_fills(self, hts_id: str | None = None) -> None:
        hts = hts_id or self.config.hts_id
        if not hts:
            raise KisWebSocketError("fill notices need the HTS ID (KIS_HTS_ID) as tr_key")
        self._subscribe(TR_FILL_VIRTUAL if self.config.is_virtual else TR_FILL_REAL, hts)

    def start(self) -> None:
        """Connect in the background (one session per app key: fails if another process holds it)."""
        if self._thread is not None:
            return
        lock_path = private_dir(self.config.state_dir) / f"ws-{self.config.key_id}.lock"
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise KisWebSocketError("another process already holds the KIS WebSocket session of this app key "
                                    "(KIS allows one): only the trading process connects") from None
        self._lock_fd = fd
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="kis-websocket", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        loop, ws = self._loop, self._ws
        if loop is not None and ws is not None:
            with contextlib.suppress(RuntimeError):
                asyncio.run_coroutine_threadsafe(ws.close(), loop)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    # --- subscriptions --------------------------------------------------------------------------------
    def _subscribe(self, tr_id: str, tr_key: str) -> None:
        with self._lock:
            if (tr_id, tr_key) in self._subscriptions:
                return
            if len(self._subscriptions) >= MAX_SUBSCRIPTIONS:
                raise KisWebSocketError(f"KIS allows {MAX_SUBSCRIPTIONS} subscriptions per session")
            self._subscriptions.add((tr_id, tr_key))
        self._send_soon(tr_id, tr_key, "1")

    def _unsubscribe(self, tr_id: str, tr_key: str) -> None:
        with self._lock:
            if (tr_id, tr_key) not in self._subscriptions:
                return
            self._subscriptions.discard((tr_id, tr_key))
        self._send_soon(tr_id, tr_key, "2")

    def _message(self, tr_id: str, tr_key: str, tr_type: str) -> str:
        return json.dumps({"header": {"approval_key": self._approval or "", "custtype": "P", "tr_type": tr_type,
                                      "content-type": "utf-8"},
                           "body": {"input": {"tr_id": tr_id, "tr_key": tr_key}}})

    def _send_soon(self, tr_id: str, tr_key: str, tr_type: str) -> None:
        loop, ws = self._loop, self._ws
        if loop is None or ws is None or not self.connected:
            return  # sent on (re)connection
        message = self._message(tr_id, tr_key, tr_type)
        with contextlib.suppress(RuntimeError):
            asyncio.run_coroutine_threadsafe(ws.send(message), loop)

    # --- the session ----------------------------------------------------------------------------------
    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._session_loop())
        finally:
            loop.close()
            self._loop = None

    async def _session_loop(self) -> None:
        import websockets

        backoff = self.reconnect_initial
        first = True
        while not self._stopping.is_set():
            try:
                if self._approval is None:
                    self._approval = await asyncio.get_running_loop().run_in_executor(None, self.client.approval_key)
                    self.stats.approvals += 1
                async with websockets.connect(self.url, ping_interval=None, open_timeout=10,
                                              close_timeout=2) as ws:
                    self._ws = ws
                    self.stats.connects += 1
                    if not first:
                        self.stats.reconnects += 1
                    first = False
                    for tr_id, tr_key in sorted(self.subscriptions):
                        await ws.send(self._message(tr_id, tr_key, "1"))
                    self._set_connected(True)
                    backoff = self.reconnect_initial
                    async for message in ws:
                        await self._handle(ws, message if isinstance(message, str) else message.decode())
            except asyncio.CancelledError:
                raise
            except Exception as error:  # network errors, server restarts: reconnect
                if not self._stopping.is_set():
                    log.warning("KIS WebSocket session ended: %s", error)
                    self.stats.errors.append(str(error)[:200])
            finally:
                self._ws = None
                self._set_connected(False)
            if self._stopping.is_set():
                break
            delay = backoff * (0.5 + random.random() / 2)
            backoff = min(backoff * 2, self.reconnect_max)
            await asyncio.sleep(delay)

    def _set_connected(self, value: bool) -> None:
        changed = value != self._connected.is_set()
        if value:
            self._connected.set()
        else:
            self._connected.clear()
        if changed and self.on_state is not None:
            try:
                self.on_state(value)
            except Exception:
                log.exception("on_state callback failed")

    async def _handle(self, ws: Any, text: str) -> None:
        self.stats.frames += 1
        frame = split_data_frame(text)
        if frame is None:
            await self._control(ws, text)
            return
        payload = frame.payload
        if frame.encrypted:
            key_iv = self._keys.get(frame.tr_id)
            if key_iv is None:
                log.warning("encrypted %s frame before its key arrived: dropped", frame.tr_id)
                return
            payload = aes_decrypt(payload, *key_iv)
        today = self.client.clock.today()
        for values in split_records(payload, frame.count, FIELD_COUNTS.get(frame.tr_id)):
            try:
                if frame.tr_id == TR_PRICE and self.on_price is not None:
                    self.on_price(parse_price(values, today))
                elif frame.tr_id in FILL_TRS and self.on_fill is not None:
                    self.on_fill(parse_fill(values, today))
            except Exception:
                log.exception("real-time %s record could not be handled", frame.tr_id)

    async def _control(self, ws: Any, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            log.warning("unreadable WebSocket frame: %.60s", text)
            return
        header = message.get("header") or {}
        if header.get("tr_id") == PINGPONG:
            self.stats.pongs += 1
            await ws.send(text)  # echo unchanged
            return
        body = message.get("body") or {}
        msg_cd = body.get("msg_cd", "")
        tr_id = header.get("tr_id", "")
        output = body.get("output") or {}
        if output.get("key") and output.get("iv"):
            self._keys[tr_id] = (output["key"], output["iv"])
        if msg_cd in ("OPSP0000", "OPSP0001", "OPSP0002"):
            return
        self.stats.errors.append(f"{msg_cd} {body.get('msg1', '')}")
        if msg_cd == "OPSP0011":  # approval key refused: get a new one on reconnect
            self._approval = None
            await ws.close()
        elif msg_cd == "OPSP8996":
            log.error("KIS WebSocket: app key already in use by another session")
        else:
            log.warning("KIS WebSocket %s %s: %s", tr_id, msg_cd, body.get("msg1", ""))
