"""Realized P&L of an account over a date range, from its recorded fills (the average-cost method).

A sell realizes `(price − average cost) × quantity`, with the average the ledger keeps (every fill replayed in
time order from the account base); every fee and tax paid in the range is subtracted. The daily report, the
weekly summary, the 17:00 performance job and the account view (`hantu.trading.account`) all use this one replay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from hantu.domain.orders import Side
from hantu.store.models import TradeAccount, TradeFill


@dataclass(frozen=True)
class DayPnl:
    realized: int
    fees: int
    taxes: int
    trades: int
    buys: int
    sells: int
    wins: int
    losses: int
    by_code: dict[str, int]  # realized per code (before fees)


def realized_for(session: Session, broker: str, start: date, end: date) -> DayPnl:
    """Realized P&L, fees and taxes of fills dated `start`..`end`, replaying every fill for the average cost."""
    account = session.get(TradeAccount, broker)
    qty: dict[str, int] = {}
    avg: dict[str, float] = {}
    for code, (q, a) in ((account.base_positions or {}) if account else {}).items():
        qty[code], avg[code] = int(q), float(a)
    realized = fees = taxes = trades = buys = sells = wins = losses = 0
    by_code: dict[str, int] = {}
    fills = session.scalars(select(TradeFill).where(TradeFill.broker == broker, TradeFill.in_base.is_(False))
                            .order_by(TradeFill.filled_at, TradeFill.id)).all()
    for fill in fills:
        in_window = start <= fill.trading_date <= end
        held = qty.get(fill.code, 0)
        if fill.side == Side.BUY.value:
            total = held + fill.quantity
            avg[fill.code] = (avg.get(fill.code, 0.0) * held + fill.price * fill.quantity) / total
            qty[fill.code] = total
        else:
            gain = round((fill.price - avg.get(fill.code, fill.price)) * fill.quantity)
            qty[fill.code] = held - fill.quantity
            if in_window:
                realized += gain
                by_code[fill.code] = by_code.get(fill.code, 0) + gain
                wins += gain > 0
                losses += gain < 0
        if in_window:
            fees += fill.commission
            taxes += fill.tax
            trades += 1
            buys += fill.side == Side.BUY.value
            sells += fill.side == Side.SELL.value
    return DayPnl(realized - fees - taxes, fees, taxes, trades, buys, sells, wins, losses, by_code)
