"""Phase 1 on a synthetic market with planted stocks, the composite score, the watchlist and the config."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hantu.strategy.builtin.momentum import MomentumStrategy
from hantu.strategy.config import StrategyConfigError
from hantu.strategy.scoring import build_watchlist, percentile_rank

from .synthetic import CHEAP, HALTED, IDEAL, ILLIQUID, PREFERRED, SPAC, UNTRADED, synthetic_market


@pytest.fixture(scope="module")
def market():  # type: ignore[no-untyped-def]
    return synthetic_market()


def _strategy(**params) -> MomentumStrategy:  # type: ignore[no-untyped-def]
    # the synthetic stocks trade 10억 a day at most: a lower bar so that ordinary ones are eligible
    return MomentumStrategy(params={"filters.min_avg_traded_value": 5e8, **params}, use_settings=False)


def test_ideal_stock_passes_and_planted_bad_ones_fail_with_reasons(market) -> None:  # type: ignore[no-untyped-def]
    panel, rows = market
    on = panel.date_at(panel.shape[0] - 1)
    result = _strategy().screen(panel, on, instruments=rows)
    by_code = {s.code: s for s in result.scores}
    assert len(result.scores) == panel.shape[1]  # every stock gets a score, pass/fail and reasons
    assert all(s.reasons for s in result.scores)
    ideal = by_code[IDEAL]
    assert ideal.passed and ideal.score >= 80, ideal
    assert IDEAL in result.watchlist[:5]
    assert any("vs SMA20" in r for r in ideal.reasons)
    expected = {HALTED: "halted", ILLIQUID: "average traded value", UNTRADED: "no trade on", SPAC: "SPAC",
                PREFERRED: "preferred", CHEAP: "price"}
    for code, words in expected.items():
        stock = by_code[code]
        assert not stock.passed, code
        assert any(words in r for r in stock.reasons), (code, stock.reasons)
        assert code not in result.watchlist
    # the halted stock is as ideal as IDEAL by its data: only the master's flag fails it
    assert by_code[HALTED].score > 70
    assert 0 < len(result.watchlist) < len(result.scores)
    assert result.figures["universe"] == panel.shape[1] and result.figures["eligible"] < panel.shape[1]


def test_filters_can_be_switched_off(market) -> None:  # type: ignore[no-untyped-def]
    panel, rows = market
    on = panel.date_at(panel.shape[0] - 1)
    result = _strategy(exclude_halted=False, exclude_spac=False).screen(panel, on, instruments=rows)
    by_code = {s.code: s for s in result.scores}
    assert by_code[HALTED].passed and by_code[SPAC].passed


def test_same_data_and_config_give_an_identical_watchlist(market) -> None:  # type: ignore[no-untyped-def]
    panel, rows = market
    on = panel.date_at(panel.shape[0] - 1)
    first = _strategy().screen(panel, on, instruments=rows)
    second = _strategy().screen(panel, on, instruments=rows)
    assert first.watchlist == second.watchlist
    assert [s.score for s in first.scores] == [s.score for s in second.scores]
    assert _strategy(**{"weights.volume": 0.9}).screen(panel, on, instruments=rows).watchlist != first.watchlist


def test_no_look_ahead(market) -> None:  # type: ignore[no-untyped-def]
    panel, rows = market
    on = panel.date_at(panel.shape[0] - 5)
    full = _strategy().screen(panel, on, instruments=rows)
    cut = _strategy().screen(panel.upto(on), on, instruments=rows)
    assert full.watchlist == cut.watchlist and full.figures["data_date"] == on.isoformat()


def test_sector_cap_and_top_n(market) -> None:  # type: ignore[no-untyped-def]
    panel, rows = market
    on = panel.date_at(panel.shape[0] - 1)
    result = _strategy(**{"watchlist.max_per_sector": 2, "watchlist.min_score": 0, "watchlist.top_n": 50}).screen(
        panel, on, instruments=rows)
    sectors = [next(s.sector for s in result.scores if s.code == c) for c in result.watchlist]
    assert max(sectors.count(s) for s in set(sectors)) == 2 and len(result.watchlist) == 2 * len(set(sectors))
    uncapped = _strategy(**{"watchlist.max_per_sector": 0, "watchlist.min_score": 0, "watchlist.top_n": 7}).screen(
        panel, on, instruments=rows)
    assert len(uncapped.watchlist) == 7


def test_percentile_rank_is_deterministic_with_ties() -> None:
    ref = np.array([1.0, 2.0, 2.0, 3.0, np.nan])
    ranks = percentile_rank(np.array([2.0, 3.0, 0.0, np.nan]), ref)
    assert ranks[:3].tolist() == [0.5, 0.875, 0.0] and np.isnan(ranks[3])


def test_build_watchlist_orders_by_score_then_code() -> None:
    from hantu.strategy.base import StockScore

    scores = [StockScore("000020", "b", 70, True, ()), StockScore("000010", "a", 70, True, ()),
              StockScore("000030", "c", 90, True, ()), StockScore("000040", "d", 99, False, ())]
    assert build_watchlist(scores, 10, 0) == ["000030", "000010", "000020"]


def test_config_errors_are_clear_and_complete(tmp_path: Path) -> None:
    with pytest.raises(StrategyConfigError) as error:
        MomentumStrategy(params={"weights.trend": -1, "watchlist.top": 3, "min_price": "cheap"}, use_settings=False)
    text = str(error.value)
    assert "momentum.weights.trend" in text and "greater than or equal to 0" in text
    assert "watchlist.top: no such setting" in text and "momentum.filters.min_price" in text
    with pytest.raises(StrategyConfigError, match="ambiguous"):
        MomentumStrategy(params={"max_per_sector": 1}, use_settings=False)
    with pytest.raises(StrategyConfigError, match="sma_short"):
        MomentumStrategy(params={"sma_short": 30}, use_settings=False)
    user = tmp_path / "mine.toml"
    user.write_text("[momentum.watchlist]\ntop_n = 12\n[momentum.weights]\nbogus = 1\n", encoding="utf-8")
    with pytest.raises(StrategyConfigError, match=r"momentum.weights.bogus: unknown setting"):
        MomentumStrategy(config_path=user)
    user.write_text("[momentum.watchlist]\ntop_n = 12\n", encoding="utf-8")
    assert MomentumStrategy(config_path=user).config.watchlist.top_n == 12
    user.write_text("[momentum.watchlist\n", encoding="utf-8")
    with pytest.raises(StrategyConfigError, match="not valid TOML"):
        MomentumStrategy(config_path=user)


def test_user_config_from_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hantu.config import reset_settings_cache

    user = tmp_path / "strategy.toml"
    user.write_text("[momentum.filters]\nmin_price = 2500\n", encoding="utf-8")
    monkeypatch.setenv("HANTU_STRATEGY_CONFIG", str(user))
    reset_settings_cache()
    strategy = MomentumStrategy(params={"watchlist.top_n": "7"})
    assert strategy.config.filters.min_price == 2500 and strategy.config.watchlist.top_n == 7
    assert strategy.config_hash != MomentumStrategy(use_settings=False).config_hash
