"""The whole-panel screening pass runs the strategies' own code: it matches the live screen day by day and
never reads a row after the decision day."""

from __future__ import annotations

import numpy as np
import pytest

from hantu.backtest.screens import PanelScreens, WindowScreens, screen_source_for
from hantu.market.panel import DailyPanel
from hantu.strategy.registry import create_strategy

STRATEGIES = ["momentum", "volatility_breakout", "rsi2"]
# the sample market here is 200 days long: rsi2's 200-day trend filter is shortened, as its defaults suggest
PARAMS = {"rsi2": {"rules.trend_days": 50}}


@pytest.mark.parametrize("name", STRATEGIES)
def test_panel_pass_matches_the_live_screen(name: str, sample_store, sample_panel) -> None:  # type: ignore[no-untyped-def]
    """Watchlists and candidates of the whole-panel pass against `screen` + `select` on the live window.

    Indicators over plain windows (SMA, returns, highs, volume, traded value) are identical; EMA/Wilder ones have
    more warm-up in the whole-panel pass (RSI/ATR move by a fraction of a point), which may reorder near-ties or
    swap a stock at the edge of a ranking on some days."""
    strategy = create_strategy(name, PARAMS.get(name))
    instruments = sample_store.instruments()
    fast = PanelScreens(strategy, sample_panel, instruments, chunk_days=50)
    rows = range(80, sample_panel.shape[0], 9)
    overlaps, same_days, candidates_same = [], 0, 0
    compared = 0
    for row in rows:
        day = sample_panel.date_at(row)
        live = strategy.screen(sample_panel, day, instruments)
        ours = fast.screen_at(row)
        live_set, ours_set = set(live.watchlist), set(ours.watchlist)
        if not live_set and not ours_set:
            continue
        compared += 1
        overlaps.append(len(live_set & ours_set) / max(len(live_set | ours_set), 1))
        same_days += live_set == ours_set
        live_pick = [c.code for c in strategy.select(sample_panel, live, day)]
        candidates_same += live_pick == [c.code for c in fast.candidates_after(row)]
        # the stocks both passed get the same composite score from the same ranks, up to warm-up effects
        live_scores = {s.code: s.score for s in live.scores}
        for stock in ours.scores:
            assert abs(stock.score - live_scores[stock.code]) < 5.0, (day, stock.code)
    assert compared >= 5
    assert np.mean(overlaps) >= 0.9, overlaps
    assert same_days >= compared // 2 and candidates_same >= compared // 2, (same_days, candidates_same, compared)


def _with_future(panel: DailyPanel, after: int, seed: int) -> DailyPanel:
    """The same panel with every row after `after` replaced by noise (a planted, wildly different future)."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for field in ("open", "high", "low", "close", "volume", "amount"):
        values = getattr(panel, field).copy()
        values[after + 1:] *= rng.uniform(0.5, 3.0, size=values[after + 1:].shape)
        arrays[field] = values
    arrays["high"] = np.fmax.reduce([arrays["open"], arrays["high"], arrays["low"], arrays["close"]])
    arrays["low"] = np.fmin.reduce([arrays["open"], arrays["high"], arrays["low"], arrays["close"]])
    return DailyPanel(dates=panel.dates, codes=panel.codes, names=panel.names, markets=panel.markets, **arrays)


@pytest.mark.parametrize("name", STRATEGIES)
def test_panel_pass_never_reads_the_future(name: str, sample_store, sample_panel) -> None:  # type: ignore[no-untyped-def]
    k = 130
    future = _with_future(sample_panel, k, seed=5)
    instruments = sample_store.instruments()
    plain = PanelScreens(create_strategy(name, PARAMS.get(name)), sample_panel, instruments, chunk_days=60)
    planted = PanelScreens(create_strategy(name, PARAMS.get(name)), future, instruments, chunk_days=60)
    for row in range(100, k + 1):
        assert plain.candidates_after(row) == planted.candidates_after(row), row
    # ...while the planted future does change later decisions
    later = [plain.screen_at(r).watchlist != planted.screen_at(r).watchlist for r in range(k + 1, k + 30)]
    assert any(later)


def test_framework_strategies_get_the_panel_pass_others_the_window() -> None:
    from backtest.toys import ToyBreakout, make_panel

    panel = make_panel(np.full((5, 2), 1_000.0))
    assert isinstance(screen_source_for(ToyBreakout(), panel), WindowScreens)
    assert isinstance(screen_source_for(create_strategy("momentum"), panel), PanelScreens)


def test_regime_series_equals_the_live_regime_day_by_day(sample_panel) -> None:  # type: ignore[no-untyped-def]
    from hantu.strategy.indicators import prepared
    from hantu.strategy.regime import market_regime, market_regimes

    selection = create_strategy("momentum").config.selection
    p = sample_panel
    prices = prepared(p.open, p.high, p.low, p.close, p.volume, p.amount)
    series = market_regimes(prices, selection)
    names = set()
    for row in range(0, p.shape[0], 7):
        window = p.slice_days(max(0, row - 59), row + 1)
        live = market_regime(prepared(window.open, window.high, window.low, window.close, window.volume,
                                      window.amount), selection)
        ours = series[row]
        names.add(live.name)
        assert (ours.name, ours.max_candidates) == (live.name, live.max_candidates), row
        np.testing.assert_allclose([ours.breadth, ours.index_trend], [live.breadth, live.index_trend],
                                   rtol=1e-9, atol=1e-12)
    assert len(names) >= 2  # the check saw more than one kind of market


def test_composite_fast_path_ranks_exactly_like_percentile_rank() -> None:
    """The whole-reference fast path of `composite_score` (used by the whole-panel pass) gives the ranks of
    `percentile_rank`, ties and NaNs included."""
    from hantu.strategy.scoring import _rank_within, composite_score, percentile_rank

    rng = np.random.default_rng(3)
    for _ in range(50):
        values = np.round(rng.normal(size=rng.integers(1, 400)), int(rng.integers(0, 3)))
        values[rng.random(values.size) < 0.1] = np.nan
        np.testing.assert_array_equal(_rank_within(values), percentile_rank(values, values))
    parts = {"a": {"x": np.array([3.0, 1.0, np.nan, 1.0]), "y": np.array([0.5, 0.5, 0.2, np.nan])}}
    fast = composite_score(parts, {"a": 1.0}, np.ones(4, dtype=bool))
    np.testing.assert_array_equal(fast.components["a.x"], percentile_rank(parts["a"]["x"], parts["a"]["x"]))
    np.testing.assert_array_equal(fast.components["a.y"], percentile_rank(parts["a"]["y"], parts["a"]["y"]))
