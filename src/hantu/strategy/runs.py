"""Screening and selection as stored runs: what the scheduler (06:30 screen, 08:30 select) and the CLI call.

Dates: `on` is the date a run is for; the strategy sees the market store's data up to and including `on`. At
06:30 on trading day X the store ends at X-1, so `run_screening(..., on=X)` screens on X-1's close and files the
watchlist under X, where `run_selection(..., on=X)` finds it at 08:30. Each run replaces that (date, strategy)'s
previous rows in one transaction, so re-running a date is safe and leaves exactly one result.

Freshness: a run for X on data that ends before X's required close (`calendar.required_close`, the previous
trading day) raises `StaleMarketData` before anything is stored, unless `allow_stale` (research on old data).
"""

from __future__ import annotations

import inspect
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import delete, select

from hantu.clock import Clock, SystemClock
from hantu.market.freshness import check_fresh
from hantu.store.db import Database
from hantu.store.models.strategy import ScreenRun, SelectionCandidate, SelectionRun, WatchlistEntry
from hantu.strategy.base import Candidate, ScreenResult, StockScore, Strategy
from hantu.strategy.registry import create_strategy

log = logging.getLogger(__name__)

TOP_NAMES = 5  # names quoted in the Telegram `screening_done` message


class NoMarketData(RuntimeError):
    """The market store has no data up to the requested date."""


class NoScreening(LookupError):
    """No stored screening for that date and strategy."""


def _resolve(strategy: Strategy | str | None) -> Strategy:
    if strategy is None or isinstance(strategy, str):
        return create_strategy(strategy)
    return strategy


def _today(clock: Clock | None) -> date:
    return (clock or SystemClock()).now().date()


def _failure_kind(reason: str) -> str:
    for key, kind in (("not listed", "not_listed"), ("no trade", "untraded"), ("halted", "halted"),
                      ("administrative", "administrative"), ("SPAC", "spac"), ("preferred", "preferred"),
                      ("history", "history"), ("price", "price"), ("average traded value", "traded_value"),
                      ("below", "score"), ("not enough data", "no_data")):
        if key in reason:
            return kind
    return "rule"


@dataclass(frozen=True)
class ScreeningOutcome:
    """One stored screening: the figures for the notification, the watchlist, and the full result."""

    run_date: date
    data_date: date
    strategy: str
    universe: int
    eligible: int
    passed: int
    watchlist: list[StockScore]
    failures: dict[str, int]  # failed stocks by their first reason
    config_hash: str
    elapsed_s: float
    result: ScreenResult | None = field(default=None, repr=False)
    filters_off: list[str] = field(default_factory=list)  # filters that could not act (no instrument master)

    def figures(self) -> dict[str, Any]:
        """What `screening_done` and the job log need: counts and the top names."""
        return {
            "date": self.run_date.isoformat(), "data_date": self.data_date.isoformat(), "strategy": self.strategy,
            "universe": self.universe, "eligible": self.eligible, "passed": self.passed,
            "watchlist": len(self.watchlist),
            "top": [{"code": s.code, "name": s.name, "score": round(s.score, 1)} for s in self.watchlist[:TOP_NAMES]],
            "failures": dict(self.failures), "elapsed_s": round(self.elapsed_s, 3),
            "filters_off": list(self.filters_off),
        }


@dataclass(frozen=True)
class SelectionOutcome:
    run_date: date
    data_date: date
    strategy: str
    regime: str
    regime_text: str
    max_candidates: int
    candidates: list[Candidate]
    skipped: dict[str, str]
    figures_: dict[str, Any] = field(default_factory=dict)

    def figures(self) -> dict[str, Any]:
        return {
            "date": self.run_date.isoformat(), "data_date": self.data_date.isoformat(), "strategy": self.strategy,
            "regime": self.regime, "regime_text": self.regime_text, "max_candidates": self.max_candidates,
            "candidates": [{"code": c.code, "name": c.name, "entry": c.entry_price, "stop": c.stop_price,
                            "target": c.target_price, "weight": c.weight} for c in self.candidates],
            **self.figures_,
        }


def _instrument_rows(store: Any) -> list[Any] | None:
    try:
        return list(store.instruments())
    except (AttributeError, FileNotFoundError):
        return None


def _accepts_instruments(strategy: Strategy) -> bool:
    try:
        return "instruments" in inspect.signature(strategy.screen).parameters
    except (TypeError, ValueError):
        return False


def load_decision_panel(store: Any, strategy: Strategy, on: date, allow_stale: bool = False,
                        what: str = "a decision") -> Any:
    """The strategy's window of the store up to `on`, refused (`StaleMarketData`) when it ends before `on`'s
    required close unless `allow_stale`; `NoMarketData` when there is nothing at all."""
    days = int(getattr(strategy, "lookback_days", 0) or 260)
    panel = store.load(days, end=on)
    if panel.shape[0] == 0:
        raise NoMarketData(f"the market store has no data on or before {on} "
                           "(run `hantu data sample` or `hantu data import krx-csv FILE`)")
    if not allow_stale:
        check_fresh(panel.date_at(panel.shape[0] - 1), on, what)
    return panel


def screen_panel(store: Any, strategy: Strategy, on: date, allow_stale: bool = False) -> tuple[Any, ScreenResult]:
    """Load the strategy's window from the store and screen it (no storage). Returns (panel, result)."""
    panel = load_decision_panel(store, strategy, on, allow_stale, what=f"the {strategy.name} screening")
    if _accepts_instruments(strategy):
        result = strategy.screen(panel, on, instruments=_instrument_rows(store))  # type: ignore[call-arg]
    else:
        result = strategy.screen(panel, on)
    return panel, result


def run_screening(db: Database, store: Any, strategy: Strategy | str | None = None, on: date | None = None,
                  clock: Clock | None = None, allow_stale: bool = False) -> ScreeningOutcome:
    """Phase 1 for `on` (default: today), stored with its watchlist, replacing that date's previous run.
    `StaleMarketData` (nothing stored) when the data ends before `on`'s required close, unless `allow_stale`."""
    strategy = _resolve(strategy)
    on = on or _today(clock)
    started = time.perf_counter()
    panel, result = screen_panel(store, strategy, on, allow_stale)
    elapsed = time.perf_counter() - started
    data_date = panel.date_at(panel.shape[0] - 1)
    by_code = {s.code: s for s in result.scores}
    watchlist = [by_code[c] for c in result.watchlist]
    failures = Counter(_failure_kind(s.reasons[0]) for s in result.scores if not s.passed and s.reasons)
    eligible = int(result.figures.get("eligible", sum(1 for s in result.scores if s.passed)))
    outcome = ScreeningOutcome(
        run_date=on, data_date=data_date, strategy=strategy.name, universe=len(result.scores), eligible=eligible,
        passed=sum(s.passed for s in result.scores), watchlist=watchlist, failures=dict(sorted(failures.items())),
        config_hash=str(result.figures.get("config_hash", "")), elapsed_s=elapsed, result=result,
        filters_off=list(result.figures.get("filters_off", [])),
    )
    if outcome.filters_off:
        log.warning("%s screening for %s without an instrument master (`hantu data sync --master`): filters off: %s",
                    strategy.name, on, "; ".join(outcome.filters_off))
    now = (clock or SystemClock()).now()
    with db.session() as session:
        old = select(ScreenRun.id).where(ScreenRun.run_date == on, ScreenRun.strategy == strategy.name)
        session.execute(delete(WatchlistEntry).where(WatchlistEntry.run_id.in_(old)))
        session.execute(delete(ScreenRun).where(ScreenRun.run_date == on, ScreenRun.strategy == strategy.name))
        run = ScreenRun(run_date=on, strategy=strategy.name, data_date=data_date, created_at=now,
                        universe=outcome.universe, eligible=outcome.eligible, passed=outcome.passed,
                        watchlist_size=len(watchlist), config_hash=outcome.config_hash,
                        params=dict(strategy.params), figures=outcome.figures())
        session.add(run)
        session.flush()
        session.add_all(WatchlistEntry(run_id=run.id, rank=rank, code=s.code, name=s.name[:100], sector=s.sector,
                                       score=s.score, reasons=list(s.reasons), factors=dict(s.factors))
                        for rank, s in enumerate(watchlist, start=1))
    return outcome


def stored_screen(db: Database, on: date, strategy: str) -> tuple[ScreenRun, list[WatchlistEntry]] | None:
    """The stored screening run for (on, strategy) and its watchlist rows (rank order), or None."""
    with db.session() as session:
        run = session.scalars(select(ScreenRun).where(ScreenRun.run_date == on, ScreenRun.strategy == strategy)).first()
        if run is None:
            return None
        rows = list(session.scalars(select(WatchlistEntry).where(WatchlistEntry.run_id == run.id)
                                    .order_by(WatchlistEntry.rank)))
        session.expunge_all()
        return run, rows


def latest_screen_date(db: Database, strategy: str) -> date | None:
    with db.session() as session:
        return session.scalars(select(ScreenRun.run_date).where(ScreenRun.strategy == strategy)
                               .order_by(ScreenRun.run_date.desc()).limit(1)).first()


def _screen_result_from_rows(on: date, rows: list[WatchlistEntry]) -> ScreenResult:
    scores = [StockScore(code=r.code, name=r.name, score=r.score, passed=True, reasons=tuple(r.reasons),
                         factors=dict(r.factors), sector=r.sector) for r in rows]
    return ScreenResult(on=on, scores=scores, watchlist=[r.code for r in rows])


def run_selection(db: Database, store: Any, strategy: Strategy | str | None = None, on: date | None = None,
                  clock: Clock | None = None, screen_if_missing: bool = True,
                  allow_stale: bool = False) -> SelectionOutcome:
    """Phase 2 for `on` from the stored watchlist of `on` (screened first when missing and allowed), stored,
    replacing that date's previous selection. Stale data is refused as in `run_screening`."""
    strategy = _resolve(strategy)
    on = on or _today(clock)
    panel = load_decision_panel(store, strategy, on, allow_stale, what=f"the {strategy.name} selection")
    stored = stored_screen(db, on, strategy.name)
    if stored is None:
        if not screen_if_missing:
            raise NoScreening(f"no {strategy.name} screening stored for {on}: run `hantu screen --date {on}` first")
        run_screening(db, store, strategy, on, clock, allow_stale)
        stored = stored_screen(db, on, strategy.name)
        assert stored is not None
    run, rows = stored
    screen = _screen_result_from_rows(on, rows)
    detailed = getattr(strategy, "select_detailed", None)
    if callable(detailed):
        chosen = detailed(panel, screen, on)
        candidates, skipped = chosen.candidates, chosen.skipped
        regime, regime_text, max_candidates = chosen.regime.name, chosen.regime.describe(), chosen.regime.max_candidates
        regime_figures = {"breadth": _json_float(chosen.regime.breadth),
                          "index_trend": _json_float(chosen.regime.index_trend)}
    else:
        candidates, skipped = list(strategy.select(panel, screen, on)), {}
        regime, regime_text, max_candidates, regime_figures = "n/a", "n/a", len(candidates), {}
    data_date = panel.date_at(panel.shape[0] - 1)
    figures = {**regime_figures, "skipped": skipped, "screen_config_hash": run.config_hash,
               "config_hash": str(getattr(strategy, "config_hash", ""))}
    outcome = SelectionOutcome(run_date=on, data_date=data_date, strategy=strategy.name, regime=regime,
                               regime_text=regime_text, max_candidates=max_candidates, candidates=candidates,
                               skipped=skipped, figures_=figures)
    now = (clock or SystemClock()).now()
    with db.session() as session:
        old = select(SelectionRun.id).where(SelectionRun.run_date == on, SelectionRun.strategy == strategy.name)
        session.execute(delete(SelectionCandidate).where(SelectionCandidate.run_id.in_(old)))
        session.execute(delete(SelectionRun).where(SelectionRun.run_date == on,
                                                   SelectionRun.strategy == strategy.name))
        stored_run = SelectionRun(run_date=on, strategy=strategy.name, data_date=data_date, created_at=now,
                                  regime=regime, max_candidates=max_candidates,
                                  config_hash=figures["config_hash"], figures=outcome.figures())
        session.add(stored_run)
        session.flush()
        session.add_all(SelectionCandidate(
            run_id=stored_run.id, rank=c.rank, code=c.code, name=c.name[:100], sector=c.sector,
            entry_price=int(c.entry_price), stop_price=int(c.stop_price), target_price=int(c.target_price),
            weight=float(c.weight), score=float(c.score), atr=float(c.atr), reason=c.reason,
            extra={k: float(v) for k, v in c.extra.items()}) for c in candidates)
    return outcome


def selection_data_date(db: Database, on: date, strategy: str) -> date | None:
    """The data date of the selection stored for (on, strategy), or None."""
    with db.session() as session:
        return session.scalars(select(SelectionRun.data_date).where(SelectionRun.run_date == on,
                                                                    SelectionRun.strategy == strategy)).first()


def stored_candidates(db: Database, on: date, strategy: str) -> list[Candidate] | None:
    """The candidates stored for (on, strategy), rank order — what the trading session trades — or None."""
    with db.session() as session:
        run = session.scalars(select(SelectionRun).where(SelectionRun.run_date == on,
                                                         SelectionRun.strategy == strategy)).first()
        if run is None:
            return None
        rows = session.scalars(select(SelectionCandidate).where(SelectionCandidate.run_id == run.id)
                               .order_by(SelectionCandidate.rank)).all()
        return [Candidate(code=r.code, name=r.name, rank=r.rank, entry_price=r.entry_price, stop_price=r.stop_price,
                          target_price=r.target_price, weight=r.weight, reason=r.reason, score=r.score, atr=r.atr,
                          sector=r.sector, extra=dict(r.extra or {})) for r in rows]


def _json_float(value: float) -> float | None:
    return None if value != value else round(float(value), 6)

