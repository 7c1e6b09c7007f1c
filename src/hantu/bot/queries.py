"""Every database read the Telegram commands make, in one place so they are easy to adapt to the tables.

Each function returns the data dict of the matching `cmd_*` template (see `hantu.notify.replies`). Account
figures (cash, positions at market, equity, today's orders and fills) are the account view
(`hantu.trading.account`), the same the CLI and the API show. Screening and selection come from the strategy
tables (`screen_runs`, `selection_runs`, `selection_candidates`), the daily report from the scheduler's
`daily_reports`. Nothing here reads the configuration: `Answers` carries what it needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import desc, select
from sqlalchemy.orm import Session

from hantu.config.settings import Settings
from hantu.notify.kit import Language
from hantu.notify.outbox import outbox_counts
from hantu.notify.templates import render
from hantu.store.models import JobRun
from hantu.store.models.drift import DriftReport
from hantu.store.models.notify import OutboxMessage
from hantu.store.models.scheduler import DailyReport
from hantu.store.models.strategy import ScreenRun, SelectionCandidate, SelectionRun
from hantu.trading.account import AccountService, PositionView
from hantu.trading.halt import halt_state


@dataclass(frozen=True)
class Answers:
    """What the answers need besides the database, passed in by whoever builds the poller (from Settings):
    the account's read service (the configured trading mode's account, the one the CLI and the API show), the
    mode shown in /status and the language of the rendered daily report."""

    account: AccountService
    mode: str  # "paper/virtual", "kis/prod"
    language: Language = "ko"
    logs_dir: Path | None = None  # where /logs reads (`$HANTU_HOME/logs`); None: no logs to show

    @classmethod
    def from_settings(cls, settings: Settings) -> Answers:
        return cls(AccountService.for_home(settings.trading_mode, settings.hantu_home),
                   f"{settings.trading_mode}/{settings.server}", settings.language, settings.logs_dir)


def _holding(p: PositionView) -> dict[str, Any]:
    pct = p.unrealized_pnl_pct
    return {"code": p.code, "name": p.name or p.code, "quantity": p.quantity, "avg_price": p.avg_price,
            "last_price": p.last_price, "pnl": round(p.unrealized_pnl) if p.last_price is not None else None,
            "pnl_pct": None if pct is None else round(pct * 100, 2), "stop_price": p.stop_price,
            "target_price": p.target_price}


def positions(session: Session, answers: Answers, now: datetime) -> dict[str, Any]:
    view = answers.account.view(session, now.date())
    return {"available": True, "positions": [_holding(p) for p in view.positions]}


def balance(session: Session, answers: Answers, now: datetime) -> dict[str, Any]:
    """Cash, the positions at market (the newest stored close) and equity: the CLI's and the API's figures."""
    view = answers.account.view(session, now.date())
    if not view.initialised:
        return {"available": False}
    return {"available": True, "as_of": view.as_of, "cash": view.cash, "positions_value": view.positions_value,
            "equity": view.equity, "source": view.broker, "prices_as_of": view.prices_as_of,
            "realized_pnl_today": view.realized_pnl_today, "positions": [_holding(p) for p in view.positions],
            "fills": view.fills_today, "fees": view.fees_today, "taxes": view.taxes_today}


def orders(session: Session, answers: Answers, now: datetime) -> dict[str, Any]:
    view = answers.account.view(session, now.date())
    return {"available": True, "trading_date": view.trading_date, "orders": [
        {"code": o.code, "name": o.name or o.code, "side": o.side, "quantity": o.quantity,
         "filled_quantity": o.filled_quantity, "price": o.limit_price or (o.avg_fill_price or None),
         "status": o.status.value, "created_at": o.created_at} for o in view.orders_today]}


def status(session: Session, answers: Answers, now: datetime) -> dict[str, Any]:
    halt = halt_state(session)
    jobs = session.scalars(select(JobRun).order_by(desc(JobRun.id)).limit(5)).all()
    view = answers.account.view(session, now.date())
    return {"now": now, "halted": halt.halted, "halt_reason": halt.reason, "halted_by": halt.by,
            "mode": answers.mode, "outbox": outbox_counts(session),
            "positions": len(view.positions), "open_orders": len(view.open_orders),
            "equity": view.equity if view.initialised else None,
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


def today(session: Session, answers: Answers, now: datetime) -> dict[str, Any]:
    day = now.date()
    view = answers.account.view(session, day)
    screening, selection = _strategy_today(session, day)
    missing = []
    if screening is None:
        missing.append("screening")
    if selection is None:
        missing.append("selection")
    return {"trading_date": day, "screening": screening, "selection": selection, "orders": len(view.orders_today),
            "fills": view.fills_today, "fees": view.fees_today, "taxes": view.taxes_today, "missing": missing}


def latest_report(session: Session, answers: Answers) -> dict[str, Any]:
    """The latest daily report of the account (scheduler's `daily_reports` table), rendered with the
    daily_report template; else the last daily report message queued."""
    query = (select(DailyReport).where(DailyReport.broker == answers.account.broker)
             .order_by(desc(DailyReport.trading_date), desc(DailyReport.id)).limit(1))
    row = session.scalars(query).first()
    if row is not None:
        data = {"trading_date": row.trading_date, "realized_pnl": row.realized_pnl,
                "unrealized_pnl": row.unrealized_pnl, "equity": row.equity, "cash": row.cash,
                "positions": list(row.positions or []), "trades": row.trades, "fees": row.fees,
                "taxes": row.taxes, "day_return_pct": row.day_return_pct}
        return {"available": True, "text": render("daily_report", data, answers.language)}
    text = session.scalar(select(OutboxMessage.text).where(OutboxMessage.kind == "daily_report")
                          .order_by(desc(OutboxMessage.id)).limit(1))
    return {"available": text is not None, "text": text}


def drift(session: Session, answers: Answers) -> dict[str, Any]:
    """The newest drift report of the account (`drift_reports`), with the summed drift of every stored day."""
    broker = answers.account.broker
    rows = session.scalars(select(DriftReport).where(DriftReport.broker == broker)
                           .order_by(desc(DriftReport.trading_date))).all()
    if not rows:
        return {"available": False}
    return {"available": True, **rows[0].summary(), "days": len(rows), "cumulative": sum(r.drift for r in rows)}
