"""Every database read the Telegram commands make, in one place so they are easy to adapt to the tables.

Each function returns the data dict of the matching `cmd_*` template (see `hantu.notify.replies`). Trading
figures come from the trading engine's tables (`trade_accounts`, `trade_positions`, `trade_orders`,
`trade_fills`); positions are valued at cost (there is no price table in the database). Screening and
selection come from the strategy tables (`screen_runs`, `selection_runs`, `selection_candidates`), the daily
report from the scheduler's `daily_reports`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import desc, func, select
from sqlalchemy.orm import Session

from hantu.notify.outbox import outbox_counts
from hantu.notify.templates import render
from hantu.store.models import Instrument, JobRun
from hantu.store.models.notify import OutboxMessage
from hantu.store.models.scheduler import DailyReport
from hantu.store.models.strategy import ScreenRun, SelectionCandidate, SelectionRun
from hantu.store.models.trading import TradeAccount, TradeFill, TradeOrder, TradePosition
from hantu.trading.halt import halt_state

OPEN_ORDER_STATES = ("new", "submitted", "partially_filled", "unknown")


def _names(session: Session, codes: list[str]) -> dict[str, str]:
    if not codes:
        return {}
    rows = session.execute(select(Instrument.code, Instrument.name).where(Instrument.code.in_(codes))).all()
    return {code: name for code, name in rows}


def _broker(session: Session) -> str | None:
    """The broker whose account we report: the configured trading mode when it has rows, else any."""
    from hantu.config import get_settings

    wanted = get_settings().trading_mode
    brokers = list(session.scalars(select(TradeAccount.broker)))
    if not brokers:
        brokers = list(session.scalars(select(TradePosition.broker).distinct()))
    if wanted in brokers:
        return wanted
    return brokers[0] if brokers else None


def positions(session: Session) -> dict[str, Any]:
    broker = _broker(session)
    if broker is None:
        return {"available": True, "positions": []}
    rows = session.scalars(select(TradePosition).where(TradePosition.broker == broker, TradePosition.quantity != 0)
                           .order_by(TradePosition.code)).all()
    names = _names(session, [r.code for r in rows])
    return {"available": True, "positions": [
        {"code": r.code, "name": names.get(r.code, r.code), "quantity": r.quantity, "avg_price": r.avg_price,
         "stop_price": r.stop_price, "target_price": r.target_price} for r in rows]}


def balance(session: Session, now: datetime) -> dict[str, Any]:
    broker = _broker(session)
    account = session.get(TradeAccount, broker) if broker else None
    if account is None:
        return {"available": False}
    held = session.scalars(select(TradePosition).where(TradePosition.broker == broker)).all()
    at_cost = sum(float(p.quantity) * float(p.avg_price) for p in held)
    return {"available": True, "as_of": account.updated_at, "cash": account.cash, "positions_value": at_cost,
            "equity": account.cash + at_cost, "source": broker,
            **_fills_today(session, broker, now.date())}


def _fills_today(session: Session, broker: str | None, day: date) -> dict[str, Any]:
    query = select(func.count(TradeFill.id), func.coalesce(func.sum(TradeFill.commission), 0),
                   func.coalesce(func.sum(TradeFill.tax), 0)).where(TradeFill.trading_date == day)
    if broker:
        query = query.where(TradeFill.broker == broker)
    count, fees, taxes = session.execute(query).one()
    return {"fills": int(count), "fees": int(fees), "taxes": int(taxes)}


def orders(session: Session, now: datetime) -> dict[str, Any]:
    day = now.date()
    rows = session.scalars(select(TradeOrder).where(TradeOrder.trading_date == day).order_by(TradeOrder.id)).all()
    names = _names(session, sorted({r.code for r in rows}))
    return {"available": True, "trading_date": day, "orders": [
        {"code": r.code, "name": names.get(r.code, r.code), "side": r.side, "quantity": r.quantity,
         "filled_quantity": r.filled_quantity, "price": r.limit_price or (r.avg_fill_price or None),
         "status": r.status, "created_at": r.created_at} for r in rows]}


def status(session: Session, now: datetime) -> dict[str, Any]:
    from hantu.config import get_settings

    halt = halt_state(session)
    jobs = session.scalars(select(JobRun).order_by(desc(JobRun.id)).limit(5)).all()
    broker = _broker(session)
    held = session.scalar(select(func.count()).select_from(TradePosition)
                          .where(TradePosition.quantity != 0, *( [TradePosition.broker == broker] if broker else [])))
    open_orders = session.scalar(select(func.count()).select_from(TradeOrder)
                                 .where(TradeOrder.status.in_(OPEN_ORDER_STATES)))
    settings = get_settings()
    return {"now": now, "halted": halt.halted, "halt_reason": halt.reason, "halted_by": halt.by,
            "mode": f"{settings.trading_mode}/{settings.server}", "outbox": outbox_counts(session),
            "positions": int(held or 0), "open_orders": int(open_orders or 0),
            "jobs": [{"job": j.job, "status": j.status, "trading_date": j.trading_date,
                      "finished_at": j.finished_at} for j in jobs]}


def _strategy_today(session: Session, day: date) -> tuple[dict[str, Any] | None, list[dict[str, Any]] | None]:
    """(screening summary, selection) of the latest runs for `day` from the strategy tables."""
    screen = session.scalars(select(ScreenRun).where(ScreenRun.run_date == day)
                             .order_by(desc(ScreenRun.id)).limit(1)).first()
    screening = {"universe_size": screen.universe, "passed": screen.passed} if screen is not None else None
    run = session.scalars(select(SelectionRun).where(SelectionRun.run_date == day)
                          .order_by(desc(SelectionRun.id)).limit(1)).first()
    selection = None
    if run is not None:
        rows = session.scalars(select(SelectionCandidate).where(SelectionCandidate.run_id == run.id)
                               .order_by(SelectionCandidate.rank)).all()
        selection = [{"code": r.code, "name": r.name} for r in rows]
    return screening, selection


def today(session: Session, now: datetime) -> dict[str, Any]:
    day = now.date()
    broker = _broker(session)
    order_count = session.scalar(select(func.count()).select_from(TradeOrder).where(TradeOrder.trading_date == day))
    screening, selection = _strategy_today(session, day)
    missing = []
    if screening is None:
        missing.append("screening")
    if selection is None:
        missing.append("selection")
    fills = _fills_today(session, broker, day)
    return {"trading_date": day, "screening": screening, "selection": selection, "orders": int(order_count or 0),
            "fills": fills["fills"], "fees": fills["fees"], "taxes": fills["taxes"], "missing": missing}


def latest_report(session: Session) -> dict[str, Any]:
    """The latest daily report (scheduler's `daily_reports` table), rendered with the daily_report template;
    else the last daily report message queued."""
    from hantu.config import get_settings

    broker = _broker(session)
    query = select(DailyReport).order_by(desc(DailyReport.trading_date), desc(DailyReport.id)).limit(1)
    if broker:
        query = query.where(DailyReport.broker == broker)
    row = session.scalars(query).first()
    if row is not None:
        data = {"trading_date": row.trading_date, "realized_pnl": row.realized_pnl,
                "unrealized_pnl": row.unrealized_pnl, "equity": row.equity, "cash": row.cash,
                "positions": list(row.positions or []), "trades": row.trades, "fees": row.fees,
                "taxes": row.taxes, "day_return_pct": row.day_return_pct}
        return {"available": True, "text": render("daily_report", data, get_settings().language)}
    text = session.scalar(select(OutboxMessage.text).where(OutboxMessage.kind == "daily_report")
                          .order_by(desc(OutboxMessage.id)).limit(1))
    return {"available": text is not None, "text": text}
