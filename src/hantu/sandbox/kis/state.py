"""Everything the KIS sandbox remembers while it runs: clock, market, accounts, orders, tokens, approval keys,
rate-limit windows, faults, WebSocket sessions and the request statistics the tests read."""

from __future__ import annotations

import secrets
import string
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hantu.clock import Clock
from hantu.sandbox.kis.accounts import Account, AccountBook
from hantu.sandbox.kis.exchange import Exchange, FillRecord, Order
from hantu.sandbox.kis.faults import FaultBook
from hantu.sandbox.kis.market import MarketReplay

TOKEN_LIFETIME = timedelta(days=1)
SAME_TOKEN_WITHIN = timedelta(hours=6)  # KIS returns the same token when asked again within 6 h
ISSUE_INTERVAL = timedelta(seconds=60)  # one issuance a minute per app key (EGW00133)
MAX_LOG = 200_000  # request records kept for the stats


@dataclass
class SandboxOptions:
    rate_limits: dict[str, float] = field(default_factory=lambda: {"prod": 20.0, "virtual": 2.0})
    balance_page: dict[str, int] = field(default_factory=lambda: {"prod": 50, "virtual": 20})
    ccld_page: dict[str, int] = field(default_factory=lambda: {"prod": 100, "virtual": 15})
    participation: float = 0.2  # share of a minute's volume one order can take
    ping_interval: float = 10.0  # seconds between PINGPONG frames
    tick_interval: float = 0.25  # seconds between real-time price pushes
    max_subscriptions: int = 40
    seed: int = 20240101



def max_in_window(times: list[float], window: float = 1.0) -> int:
    """The most requests stamped within any `window` seconds: how the rate-limit tests and bench judge pacing."""
    times = sorted(times)
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - window:
            j += 1
        best = max(best, i - j + 1)
    return best


@dataclass
class TokenRecord:
    value: str
    app_key: str
    issued_at: datetime
    expires_at: datetime
    revoked: bool = False


class WsSession:
    """One WebSocket connection: its app key, subscriptions, AES key/iv and pending frames."""

    def __init__(self, session_id: int) -> None:
        self.id = session_id
        self.app_key = ""
        self.subscriptions: set[tuple[str, str]] = set()
        self.aes_key = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
        self.aes_iv = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(16))
        self.pending_notices: deque[list[str]] = deque()  # fill-notice records (fields)
        self.last_sent: dict[str, tuple[int, int]] = {}  # code -> (minute, price) last pushed
        self.drop = False  # the server is to close this session (fault)
        self.pongs = 0


class SandboxState:
    def __init__(self, market: MarketReplay, clock: Clock, options: SandboxOptions | None = None) -> None:
        self.market = market
        self.clock = clock
        self.options = options or SandboxOptions()
        self.accounts = AccountBook()
        self.faults = FaultBook()
        self.exchange = Exchange(market, self.options.participation, notify=self._on_order_event,
                                 faults=self.faults)
        self.lock = threading.RLock()
        self.tokens: dict[str, TokenRecord] = {}
        self.latest_token: dict[str, TokenRecord] = {}
        self.approvals: dict[str, str] = {}  # approval key -> app key
        self.windows: dict[str, deque[float]] = defaultdict(deque)  # app key -> recent wall times
        self.requests: deque[dict[str, Any]] = deque(maxlen=MAX_LOG)
        self.issuances: list[dict[str, Any]] = []
        self.order_requests: list[dict[str, Any]] = []
        self.ws_sessions: dict[int, WsSession] = {}
        self.ws_connections = 0
        self._session_ids = iter(range(1, 1 << 62))
        self._warm_up()

    def _warm_up(self) -> None:
        """Load the calendar data now, not inside the first request (it takes a second)."""
        from hantu.market import calendar

        day = self.now().date()
        calendar.is_trading_day(day)
        if calendar.is_trading_day(day):
            calendar.session(day)

    # --- time -------------------------------------------------------------------------------------
    def now(self) -> datetime:
        return self.clock.now()

    def advance(self) -> datetime:
        """Bring the order book up to the clock; returns the time used."""
        now = self.now()
        with self.lock:
            self.exchange.advance(now)
        return now

    # --- tokens -------------------------------------------------------------------------------------
    def issue_token(self, account: Account) -> TokenRecord | None:
        """A token for the account, or None when one was issued less than a minute ago (EGW00133)."""
        now = self.now()
        with self.lock:
            latest = self.latest_token.get(account.app_key)
            if latest is not None and now - latest.issued_at < ISSUE_INTERVAL:
                return None
            if (latest is not None and not latest.revoked and now - latest.issued_at < SAME_TOKEN_WITHIN
                    and now < latest.expires_at):
                record = TokenRecord(latest.value, account.app_key, now, latest.expires_at)
            else:
                value = "sbx." + secrets.token_urlsafe(48)
                record = TokenRecord(value, account.app_key, now, now + TOKEN_LIFETIME)
            self.tokens[record.value] = record
            self.latest_token[account.app_key] = record
            self.issuances.append({"t": time.time(), "at": now.isoformat(), "app_key": account.app_key,
                                   "new": latest is None or latest.value != record.value})
            return record

    def revoke_token(self, value: str) -> bool:
        with self.lock:
            record = self.tokens.get(value)
            if record is None:
                return False
            record.revoked = True
            return True

    def token_state(self, value: str, app_key: str) -> str:
        """"ok", "expired" or "invalid" for a bearer token presented with `app_key`."""
        record = self.tokens.get(value)
        if record is None or record.app_key != app_key:
            return "invalid"
        if record.revoked or self.now() >= record.expires_at:
            return "expired"
        return "ok"

    # --- rate limits ------------------------------------------------------------------------------------
    def rate_limit_for(self, account: Account) -> float:
        return account.rate_limit or self.options.rate_limits[account.server]

    def admit(self, account: Account, wall: float) -> bool:
        """Count a request at wall time `wall`; False when the key exceeded its rate in the last second."""
        with self.lock:
            window = self.windows[account.app_key]
            window.append(wall)
            while window and window[0] <= wall - 1.0:
                window.popleft()
            return len(window) <= self.rate_limit_for(account)

    def record(self, entry: dict[str, Any]) -> None:
        """Log a request (the dict may be completed later with its status)."""
        self.requests.append(entry)

    # --- WebSocket sessions ---------------------------------------------------------------------------
    def new_session(self) -> WsSession:
        with self.lock:
            session = WsSession(next(self._session_ids))
            self.ws_sessions[session.id] = session
            self.ws_connections += 1
            return session

    def end_session(self, session: WsSession) -> None:
        with self.lock:
            self.ws_sessions.pop(session.id, None)

    def _on_order_event(self, order: Order, fill: FillRecord | None, event: str) -> None:
        """Queue a fill notice (H0STCNI0/H0STCNI9) for the sessions subscribed to the account's HTS ID."""
        from hantu.sandbox.kis.wsframes import fill_notice_fields

        account = order.account
        tr_id = "H0STCNI9" if account.is_virtual else "H0STCNI0"
        fields = fill_notice_fields(order, fill, event, self.market)
        for session in list(self.ws_sessions.values()):
            if (tr_id, account.hts_id) in session.subscriptions and session.app_key == account.app_key:
                session.pending_notices.append(fields)

    # --- stats ----------------------------------------------------------------------------------------
    def stats(self, app_key: str | None = None) -> dict[str, Any]:
        with self.lock:
            requests = [r for r in self.requests if app_key is None or r.get("app_key") == app_key]
            by_key: dict[str, int] = defaultdict(int)
            for r in requests:
                by_key[r.get("app_key", "")] += 1
            return {
                "requests": requests,
                "requests_by_app_key": dict(by_key),
                "token_issuances": [i for i in self.issuances if app_key is None or i["app_key"] == app_key],
                "orders_received": len([o for o in self.order_requests
                                        if app_key is None or o["app_key"] == app_key]),
                "order_requests": [o for o in self.order_requests if app_key is None or o["app_key"] == app_key],
                "ws_connections": self.ws_connections,
                "ws_sessions": [{"id": s.id, "app_key": s.app_key, "subscriptions": sorted(s.subscriptions),
                                 "pongs": s.pongs} for s in self.ws_sessions.values()],
                "faults": self.faults.to_list(),
            }

    def reset_stats(self) -> None:
        with self.lock:
            self.requests.clear()
            self.issuances.clear()
            self.order_requests.clear()
            self.windows.clear()
