"""Orders the market would not take as asked right now, held back by the engine (`TradingEngine.submit`).

A market order into a VI auction would fill at whatever the 2-minute single-price auction decides; a halted stock
takes no order; a market buy into an upper-limit lock waits behind a queue of buyers with no sellers. The engine
sends none of these: it alerts once per episode (`order_held`, in the caller's words: code, side, quantity,
why) and returns a refusal; the session loop asks again on its next iteration, and the order that then goes says
in its reason what it waited for ("… (sent after static VI auction, held 2 min)").

Holds live in memory, per engine: after a restart the loop simply meets the VI again (one more alert at most).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime

from hantu.broker.base import Quote
from hantu.domain.orders import OrderType, Side
from hantu.store.db import Database
from hantu.trading.alerts import alert

log = logging.getLogger(__name__)

# What the later order's reason says it waited for, by status kind.
_WAITED = {"halted": "trading halt", "upper_lock": "upper-limit lock"}


@dataclass
class Hold:
    kind: str  # halted | vi | upper_lock
    what: str  # "static VI auction", "trading halt", ...
    since: datetime
    checks: int = 1


class MarketHolds:
    """The orders one engine is holding back, by (code, side)."""

    def __init__(self, database: Database, broker_name: str) -> None:
        self.database = database
        self.broker_name = broker_name
        self._holds: dict[tuple[str, str], Hold] = {}

    def check(self, code: str, side: Side, quantity: int, order_type: OrderType, purpose: str, reason: str,
              quote: Quote, now: datetime) -> str | None:
        """The reason to hold this order now (and the alert, once per episode), or None when it may go."""
        status = quote.status
        why = status.hold_reason(order_type, side)
        if why is None:
            return None
        key = (code, side.value)
        what = _WAITED.get(status.kind) or why.split(":", 1)[0]
        hold = self._holds.get(key)
        if hold is not None and hold.kind == status.kind:
            hold.checks += 1
            return why
        self._holds[key] = hold = Hold(status.kind, what, now)
        log.info("holding %s %s x%d (%s): %s", side.value, code, quantity, order_type.value, why)
        with self.database.session() as session:
            alert(session, "order_held", {
                "code": code, "side": side.value, "quantity": quantity, "order_type": order_type.value,
                "status": status.kind, "vi": status.vi, "reason": why, "order_reason": reason, "purpose": purpose,
                "price": quote.price or None, "since": now.isoformat(timespec="seconds"),
            }, priority="high", dedupe_key=f"held:{self.broker_name}:{code}:{side.value}:{status.kind}:"
                                           f"{now.isoformat(timespec='minutes')}")
        return why

    def released(self, code: str, side: Side, reason: str, now: datetime) -> str:
        """`reason` of an order that may go now, noting the hold it waited out (if any)."""
        hold = self._holds.pop((code, side.value), None)
        if hold is None:
            return reason
        minutes = max(1, math.ceil((now - hold.since).total_seconds() / 60))
        return f"{reason} (sent after {hold.what}, held {minutes} min)"[:200]

    def holding(self, code: str, side: Side) -> Hold | None:
        return self._holds.get((code, side.value))
