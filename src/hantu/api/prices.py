"""The latest price the system knows for each stock, and the equity at the previous close.

Filled in from the market store and the equity snapshots as those land; both answers may be empty, and the
views then value positions at cost and leave today's P&L unknown rather than invent numbers.
"""

from __future__ import annotations

from sqlalchemy.orm import Session


def latest_prices(session: Session, codes: list[str]) -> dict[str, float]:
    return {}


def previous_equity(session: Session, broker: str) -> float | None:
    return None
