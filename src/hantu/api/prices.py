"""Price and equity lookups bound to one market store: the latest close per stock, the previous close's equity."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session

from hantu.api.performance import closes_reader, equity_history


def market_root(hantu_home: Path) -> Path:
    """Where `hantu.market.store.open_market_store` keeps the store (`$HANTU_HOME/market`)."""
    return Path(hantu_home) / "market"


def latest_prices(root: Path) -> Callable[[Session, list[str]], dict[str, float]]:
    reader = closes_reader(root)

    def lookup(_session: Session, codes: list[str]) -> dict[str, float]:
        return {code: float(v) for code, v in reader.last_closes(codes).items()}

    return lookup


def previous_equity(root: Path, today: date) -> Callable[[Session, str], float | None]:
    """Equity at the last close before `today` (None when there is no such day)."""
    reader = closes_reader(root)

    def lookup(session: Session, broker: str) -> float | None:
        history = equity_history(session, broker, reader, today)
        # the day the account's equity is at: today, or a later simulated day (the demo trades tomorrow)
        latest = max(today, history[-1].day) if history else today
        before = [p for p in history if p.day < latest]
        return before[-1].equity if before else None

    return lookup
