"""Screening results (watchlist with reasons) and daily selections, read from the strategy area's tables."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hantu.api.queries import paged
from hantu.api.schemas import (
    ScreeningOut,
    ScreenRunOut,
    SelectionItem,
    SelectionOutcome,
    SelectionRunOut,
    SelectionsOut,
    WatchItem,
)
from hantu.market.closes import ClosesReader
from hantu.notify.i18n import reason
from hantu.notify.kit import Language
from hantu.store.models.strategy import ScreenRun, SelectionCandidate, SelectionRun, WatchlistEntry


def _latest(session: Session, model: Any, on: date | None, strategy: str | None) -> Any | None:
    query = select(model)
    if on is not None:
        query = query.where(model.run_date <= on)
    if strategy:
        query = query.where(model.strategy == strategy)
    return session.scalar(query.order_by(model.run_date.desc(), model.id.desc()).limit(1))


def _watch_item(row: WatchlistEntry, lang: Language) -> WatchItem:
    item = WatchItem.model_validate(row)
    return item.model_copy(update={"reasons_text": [reason(r, lang) for r in item.reasons]})


def _selection_item(row: SelectionCandidate, lang: Language) -> SelectionItem:
    item = SelectionItem.model_validate(row)
    return item.model_copy(update={"reason_text": reason(item.reason, lang)})


def screening(session: Session, on: date | None, strategy: str | None, lang: Language = "ko") -> ScreeningOut:
    """The newest screening run on or before `on` with its watchlist, best first."""
    run = _latest(session, ScreenRun, on, strategy)
    if run is None:
        return ScreeningOut(run=None, items=[])
    rows = session.scalars(select(WatchlistEntry).where(WatchlistEntry.run_id == run.id)
                           .order_by(WatchlistEntry.rank))
    return ScreeningOut(run=ScreenRunOut.model_validate(run), items=[_watch_item(r, lang) for r in rows])


def screen_runs(session: Session, limit: int, offset: int) -> tuple[list[ScreenRunOut], int]:
    rows, total = paged(session, select(ScreenRun).order_by(ScreenRun.run_date.desc(), ScreenRun.id.desc()),
                        limit, offset)
    return [ScreenRunOut.model_validate(r) for r in rows], total


def selections(session: Session, on: date | None, strategy: str | None, lang: Language = "ko") -> SelectionsOut:
    """The newest selection on or before `on` with its candidates in rank order."""
    run = _latest(session, SelectionRun, on, strategy)
    if run is None:
        return SelectionsOut(date=None, run=None, items=[])
    rows = session.scalars(select(SelectionCandidate).where(SelectionCandidate.run_id == run.id)
                           .order_by(SelectionCandidate.rank))
    return SelectionsOut(date=run.run_date, run=SelectionRunOut.model_validate(run),
                         items=[_selection_item(r, lang) for r in rows])


def selection_runs(session: Session, limit: int, offset: int) -> tuple[list[SelectionRunOut], int]:
    rows, total = paged(session, select(SelectionRun).order_by(SelectionRun.run_date.desc(),
                                                               SelectionRun.id.desc()), limit, offset)
    return [SelectionRunOut.model_validate(r) for r in rows], total


def selection_outcomes(session: Session, reader: ClosesReader, since: date, until: date) -> list[SelectionOutcome]:
    """How each selection since `since` did: its close on the data date (the price it was picked at) against
    the latest close. Newest first."""
    rows = session.execute(
        select(SelectionRun.run_date, SelectionRun.data_date, SelectionCandidate.code, SelectionCandidate.name,
               SelectionCandidate.rank, SelectionCandidate.entry_price)
        .join(SelectionCandidate, SelectionCandidate.run_id == SelectionRun.id)
        .where(SelectionRun.run_date >= since, SelectionRun.run_date <= until)
        .order_by(SelectionRun.run_date.desc(), SelectionCandidate.rank)).all()
    if not rows:
        return []
    codes = sorted({r.code for r in rows})
    closes = reader.closes(codes, since=min(r.data_date for r in rows))
    latest: dict[str, float] = {}
    for _day, values in sorted(closes.items()):
        latest.update(values)
    out = []
    for r in rows:
        then = closes.get(r.data_date, {}).get(r.code) or (float(r.entry_price) if r.entry_price else None)
        now = latest.get(r.code)
        out.append(SelectionOutcome(date=r.run_date, code=r.code, name=r.name, rank=r.rank, price_then=then,
                                    price_now=now,
                                    return_pct=(now / then - 1) if then and now is not None else None))
    return out
