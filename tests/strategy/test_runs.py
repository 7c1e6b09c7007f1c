"""Stored runs on SQLite and PostgreSQL: one per (date, strategy), re-runs replace it in one transaction."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from hantu.clock import FrozenClock, parse_kst
from hantu.market.store import MarketStore
from hantu.store.models.strategy import ScreenRun, SelectionCandidate, SelectionRun, WatchlistEntry
from hantu.strategy.registry import create_strategy
from hantu.strategy.runs import (
    NoMarketData,
    NoScreening,
    run_screening,
    run_selection,
    stored_candidates,
    stored_screen,
)


def _count(db, model) -> int:  # type: ignore[no-untyped-def]
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)))


def test_screen_and_select_are_stored_once_per_date(database, sample_store_root) -> None:  # type: ignore[no-untyped-def]
    store = MarketStore(sample_store_root)
    days = store.trading_dates()
    on = days[-1]
    clock = FrozenClock(parse_kst(f"{on}T06:30:00"))
    strategy = create_strategy("momentum", {"filters.min_avg_traded_value": 1e8})
    first = run_screening(database, store, strategy, on, clock=clock)
    assert first.universe == len(store.load(strategy.lookback_days, end=on).codes)
    assert 0 < len(first.watchlist) < first.universe and first.data_date == on
    figures = first.figures()
    assert figures["top"][0]["code"] == first.watchlist[0].code and figures["watchlist"] == len(first.watchlist)
    assert sum(figures["failures"].values()) == first.universe - first.passed
    run, rows = stored_screen(database, on, "momentum")  # type: ignore[misc]
    assert [r.code for r in rows] == [s.code for s in first.watchlist] and run.universe == first.universe
    assert rows[0].name == first.watchlist[0].name and rows[0].reasons

    again = run_screening(database, store, strategy, on, clock=clock)  # idempotent: replaced, not duplicated
    assert [s.code for s in again.watchlist] == [s.code for s in first.watchlist]
    assert _count(database, ScreenRun) == 1 and _count(database, WatchlistEntry) == len(first.watchlist)
    run_screening(database, store, strategy, days[-2], clock=clock)
    assert _count(database, ScreenRun) == 2

    chosen = run_selection(database, store, strategy, on, clock=clock)
    assert 0 < len(chosen.candidates) <= chosen.max_candidates and chosen.regime in ("bull", "neutral", "bear")
    sectors = [c.sector for c in chosen.candidates]
    assert all(sectors.count(s) <= 2 for s in sectors)  # the Phase 2 sector cap
    run_selection(database, store, strategy, on, clock=clock)
    assert _count(database, SelectionRun) == 1 and _count(database, SelectionCandidate) == len(chosen.candidates)
    assert stored_candidates(database, on, "momentum") == chosen.candidates
    assert stored_candidates(database, days[0], "momentum") is None


def test_selection_without_a_screen(database, sample_store_root) -> None:  # type: ignore[no-untyped-def]
    store = MarketStore(sample_store_root)
    on = store.trading_dates()[-1]
    strategy = create_strategy("momentum", {"filters.min_avg_traded_value": 1e8})
    with pytest.raises(NoScreening, match="hantu screen"):
        run_selection(database, store, strategy, on, screen_if_missing=False)
    outcome = run_selection(database, store, strategy, on)  # screens first when allowed
    assert outcome.candidates and stored_screen(database, on, "momentum") is not None


def test_no_data_is_a_clear_error(database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NoMarketData, match="hantu data"):
        run_screening(database, MarketStore(tmp_path / "empty"), "momentum", date(2024, 2, 13))
