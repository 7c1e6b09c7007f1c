"""Fault injection: "the next N requests matching X fail in way Y", set per test over the control API."""

from __future__ import annotations

import itertools
import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

FaultKind = Literal[
    "rate_limit",  # EGW00201 instead of processing
    "token_expired",  # EGW00123, and the token is revoked: the client must re-issue
    "token_invalid",  # EGW00121, likewise
    "server_error",  # HTTP 500 (EGW00500); with after=true the request is processed first
    "timeout",  # no answer for `delay` seconds, request not processed
    "drop_response",  # processed (an order is accepted), then no answer for `delay` seconds
    "malformed",  # HTTP 200 with a body that is not JSON
    "drop_socket",  # the WebSocket session is closed by the server
    "token_issue_limit",  # /oauth2/tokenP answers EGW00133
    "fill_worse",  # the next order (path = its stock code, "" = any) fills `ticks` ticks against it
    "drop_fill",  # the next order (path = its stock code) is accepted but never fills (its liquidity is gone)
]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)


@dataclass
class Fault:
    id: int
    kind: str
    remaining: int
    path: str = ""  # substring of the request path ("" = any)
    tr_id: str = ""  # exact TR ID ("" = any)
    app_key: str = ""  # exact app key ("" = any)
    delay: float = 3.0  # seconds, for timeout / drop_response
    after: bool = False  # server_error only: process the request, then answer 500
    ticks: int = 2  # fill_worse only: how many ticks worse than the sandbox's own price
    hits: int = 0

    def matches(self, kind: str, path: str, tr_id: str, app_key: str) -> bool:
        return (self.remaining > 0 and self.kind == kind and (not self.path or self.path in path)
                and (not self.tr_id or self.tr_id == tr_id) and (not self.app_key or self.app_key == app_key))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FaultBook:
    faults: list[Fault] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, count: int = 1, **match: Any) -> Fault:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {', '.join(FAULT_KINDS)}")
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            fault = Fault(id=next(self._ids), kind=kind, remaining=count, **match)
            self.faults.append(fault)
            return fault

    def take(self, kinds: tuple[str, ...], path: str, tr_id: str = "", app_key: str = "") -> Fault | None:
        """The first armed fault of one of `kinds` matching the request, consumed once; None if none."""
        with self._lock:
            for fault in self.faults:
                if any(fault.matches(kind, path, tr_id, app_key) for kind in kinds):
                    fault.remaining -= 1
                    fault.hits += 1
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()

    def to_list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.to_dict() for f in self.faults]
