"""The figures of the daily report, the selection review and the weekly summary, from recorded fills.

Realized P&L is `hantu.trading.pnl.realized_for` (the average-cost replay of the fills, fees and taxes
subtracted). Unrealized P&L is `(last price − average cost) × quantity` of what is held.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hantu.clock import to_kst
from hantu.market import calendar
from hantu.market.names import display_names
from hantu.store.models import DailyReport, TradeAccount
from hantu.trading.pnl import realized_for


def daily_figures(session: Session, broker: str, day: date, cash: int, holdings: Mapping[str, tuple[int, float]],
                  prices: Mapping[str, float]) -> dict[str, Any]:
    """Everything the `daily_report` template and the `daily_reports` row need."""
    pnl = realized_for(session, broker, day, day)
    names = display_names(session, holdings)
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
    base_value: float | None = None
    if account is not None and account.base_cash:
        base_value = account.base_cash + sum(int(q) * float(a) for q, a in (account.base_positions or {}).values())
    start_equity: float | None = previous.equity if previous else None
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
    names = display_names(session, pnl.by_code)
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
