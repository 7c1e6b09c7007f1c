"""Screening and selection on every real KRX window (29-33 trading days each), from stores filled by the market
area's own importer. The default filters need 20 days of history, so they work on windows this short."""

from __future__ import annotations

import pytest

from hantu.market.store import MarketStore
from hantu.strategy.registry import create_strategy


def _last_day(root):  # type: ignore[no-untyped-def]
    return MarketStore(root).trading_dates()[-1]


def test_momentum_watchlist_is_neither_empty_nor_the_universe_on_every_window(krx_stores) -> None:  # type: ignore[no-untyped-def]
    assert len(krx_stores) == 4
    for name, root in krx_stores:
        store = MarketStore(root)
        strategy = create_strategy("momentum")
        on = _last_day(root)
        panel = store.load(strategy.lookback_days, end=on)
        result = strategy.screen(panel, on, instruments=store.instruments())
        universe = len(result.scores)
        assert universe > 2000, name
        assert 0 < len(result.watchlist) < universe, name
        passed = [s for s in result.scores if s.passed]
        assert 0 < len(passed) < universe
        assert all(s.reasons for s in result.scores)
        # the filters really bite on real data, each with its reason
        reasons = " ".join(r for s in result.scores if not s.passed for r in s.reasons)
        for words in ("average traded value", "preferred share", "SPAC", "price"):
            assert words in reasons, (name, words)
        # same data, same config: the identical watchlist
        again = create_strategy("momentum").screen(panel, on, instruments=store.instruments())
        assert again.watchlist == result.watchlist
        candidates = strategy.select(panel, result, on)
        assert 1 <= len(candidates) <= 5, name
        for c in candidates:
            assert c.stop_price < c.entry_price < c.target_price
            assert 0 < c.weight <= 0.2 and c.code in result.watchlist


@pytest.mark.parametrize("name, params", [("volatility_breakout", {}), ("rsi2", {"rules.trend_days": 20})])
def test_other_builtins_screen_and_select_on_a_real_window(krx_stores, name, params) -> None:  # type: ignore[no-untyped-def]
    _, root = krx_stores[-1]
    store = MarketStore(root)
    strategy = create_strategy(name, params)
    on = _last_day(root)
    panel = store.load(strategy.lookback_days, end=on)
    result = strategy.screen(panel, on, instruments=store.instruments())
    assert 0 < len(result.watchlist) < len(result.scores)
    candidates = strategy.select(panel, result, on)
    assert candidates and all(c.stop_price < c.entry_price for c in candidates)


def test_rsi2_with_its_classic_200_day_filter_says_why_nothing_passes_on_a_short_window(krx_stores) -> None:  # type: ignore[no-untyped-def]
    _, root = krx_stores[0]
    store = MarketStore(root)
    strategy = create_strategy("rsi2")
    on = _last_day(root)
    result = strategy.screen(store.load(strategy.lookback_days, end=on), on)
    assert result.watchlist == []
    eligible_reasons = [s.reasons[0] for s in result.scores if s.reasons and "SMA200" in s.reasons[0]]
    assert eligible_reasons and "no SMA200 yet" in eligible_reasons[0]
