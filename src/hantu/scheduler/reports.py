"""The figures of the daily report, the selection review and the weekly summary, from recorded fills.

Realized P&L uses the average-cost method over the account's fills in time order (the same average the ledger
keeps): a sell realizes `(price − average cost) × quantity`; every fee and tax paid that day is subtracted from
the day's realized P&L. Unrealized P&L is `(last price − average cost) × quantity` of what is held.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hantu.clock import to_kst
from hantu.domain.orders import Side
from hantu.market import calendar
from hantu.store.models import DailyReport, Instrument, TradeAccount, TradeFill


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


def names_of(session: Session, codes: list[str]) -> dict[str, str]:
    if not codes:
        return {}
    rows = session.execute(select(Instrument.code, Instrument.name).where(Instrument.code.in_(codes)))
    return {code: name for code, name in rows}


def daily_figures(session: Session, broker: str, day: date, cash: int, holdings: Mapping[str, tuple[int, float]],
                  prices: Mapping[str, float]) -> dict[str, Any]:
    """Everything the `daily_report` template and the `daily_reports` row need."""
    pnl = realized_for(session, broker, day, day)
    names = names_of(session, list(holdings))
    positions = []
    unrealized = 0
    market_value = 0
    for code, (quantity, avg_price) in sorted(holdings.items()):
        last = float(prices.get(code, avg_price))
        gain = round((last - avg_price) * quantity)
        unrealized += gain
        market_value += round(last * quantity)
        positions.append({"code": code, "name": names.get(code, code), "quantity": quantity,
                          "avg_price": round(avg_price, 2), "last_price": last, "pnl": gain,
                          "pnl_pct": round((last / avg_price - 1) * 100, 2) if avg_price else 0.0})
    equity = cash + market_value
    previous = session.scalars(select(DailyReport).where(DailyReport.broker == broker,
                                                         DailyReport.trading_date < day)
                               .order_by(DailyReport.trading_date.desc()).limit(1)).first()
    account = session.get(TradeAccount, broker)
    base_value = None
    if account is not None and account.base_cash:
        base_value = account.base_cash + sum(int(q) * float(a) for q, a in (account.base_positions or {}).values())
    start_equity = previous.equity if previous else None
    if start_equity is None and base_value and account is not None \
            and to_kst(account.base_at).date() >= calendar.previous_trading_day(day):
        start_equity = base_value  # the first day: measured from the account's starting value
    figures: dict[str, Any] = {
        "trading_date": day.isoformat(), "realized_pnl": pnl.realized, "unrealized_pnl": unrealized,
        "equity": equity, "cash": cash, "positions": positions, "trades": pnl.trades, "buys": pnl.buys,
        "sells": pnl.sells, "fees": pnl.fees, "taxes": pnl.taxes,
    }
    if start_equity:
        figures["day_return_pct"] = round((equity / start_equity - 1) * 100, 3)
    if base_value is not None:
        figures["total_return_pct"] = round((equity / base_value - 1) * 100, 3)
    return figures


def save_daily_report(session: Session, broker: str, day: date, figures: Mapping[str, Any], now: datetime) -> None:
    """Insert or replace the day's row (the job is idempotent per date)."""
    row = session.scalars(select(DailyReport).where(DailyReport.trading_date == day,
                                                    DailyReport.broker == broker)).first()
    values = {"equity": int(figures["equity"]), "cash": int(figures["cash"]),
              "realized_pnl": int(figures["realized_pnl"]), "unrealized_pnl": int(figures["unrealized_pnl"]),
              "fees": int(figures["fees"]), "taxes": int(figures["taxes"]), "trades": int(figures["trades"]),
              "day_return_pct": figures.get("day_return_pct"), "positions": list(figures["positions"]),
              "created_at": now}
    if row is None:
        session.add(DailyReport(trading_date=day, broker=broker, **values))
    else:
        for key, value in values.items():
            setattr(row, key, value)


def weekly_figures(session: Session, broker: str, week_end: date) -> dict[str, Any] | None:
    """The week (Monday..`week_end`) from its daily reports, or None when no trading day was reported."""
    week_start = week_end - timedelta(days=week_end.weekday())
    rows = session.scalars(select(DailyReport).where(DailyReport.broker == broker,
                                                     DailyReport.trading_date >= week_start,
                                                     DailyReport.trading_date <= week_end)
                           .order_by(DailyReport.trading_date)).all()
    if not rows:
        return None
    before = session.scalars(select(DailyReport).where(DailyReport.broker == broker,
                                                       DailyReport.trading_date < week_start)
                             .order_by(DailyReport.trading_date.desc()).limit(1)).first()
    pnl = realized_for(session, broker, week_start, week_end)
    names = names_of(session, list(pnl.by_code))
    closed = pnl.wins + pnl.losses
    figures: dict[str, Any] = {
        "week_start": week_start.isoformat(), "week_end": week_end.isoformat(),
        "start_equity": before.equity if before else rows[0].equity - rows[0].realized_pnl - rows[0].unrealized_pnl,
        "end_equity": rows[-1].equity, "realized_pnl": pnl.realized, "trades": pnl.trades, "fees": pnl.fees,
        "taxes": pnl.taxes, "trading_days": len(rows),
    }
    if closed:
        figures["win_rate"] = round(pnl.wins / closed, 4)
    if pnl.by_code:
        best = max(pnl.by_code.items(), key=lambda kv: kv[1])
        worst = min(pnl.by_code.items(), key=lambda kv: kv[1])
        figures["best"] = {"code": best[0], "name": names.get(best[0], best[0]), "pnl": best[1]}
        figures["worst"] = {"code": worst[0], "name": names.get(worst[0], worst[0]), "pnl": worst[1]}
    return figures
