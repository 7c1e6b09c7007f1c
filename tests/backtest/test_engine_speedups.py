"""The engine's fast paths give the figures of the straightforward code they replace."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backtest.crosscheck import SmaCross as PlainSmaCross
from backtest.crosscheck import ours_config
from backtest.toys import make_panel
from hantu.backtest.engine import BacktestEngine, affordable_quantity
from hantu.broker.fill_model import FillParams, buy_cash_needed
from hantu.market import calendar
from hantu.market.calendar import frozen_overrides
from hantu.strategy.base import ExitsAtOpen
from hantu.strategy.scoring import _rank_within, composite_score, rank_rows


def affordable_by_steps(cash: float, price: int, day: date, market: str, fill: FillParams) -> int:
    """The code `affordable_quantity` replaced: start high, lower the quantity one share at a time."""
    unit = buy_cash_needed(1, price, day, market, fill)
    affordable = int(cash // unit) if unit > 0 else 0
    while affordable > 0 and buy_cash_needed(affordable, price, day, market, fill) > cash:
        affordable -= 1
    return affordable


@settings(max_examples=400, deadline=None)
@given(
    cash=st.one_of(st.integers(0, 5_000_000), st.integers(0, 10**12)),
    price=st.integers(1, 3_000_000),
    rate=st.sampled_from([0.0, 0.00015, 0.0001405, 0.0025, 0.01]),
    market=st.sampled_from(["KOSPI", "KOSDAQ"]),
)
def test_affordable_quantity_is_the_old_loops_answer(
    cash: int, price: int, rate: float, market: str
) -> None:
    fill = FillParams(commission_rate=rate)
    day = date(2025, 3, 4)
    # the old loop walks (cash × commission / price) steps: keep its cases small enough to finish
    if cash // max(price, 1) * (rate or 0.00015) > 20_000:
        cash = int(price * 20_000 / (rate or 0.00015))
    expected = affordable_by_steps(cash, price, day, market, fill)
    got = affordable_quantity(cash, price, day, market, fill)
    assert got == expected
    assert buy_cash_needed(got, price, day, market, fill) <= cash or got == 0
    assert buy_cash_needed(got + 1, price, day, market, fill) > cash


def test_affordable_quantity_at_very_large_cash_is_immediate() -> None:
    """What used to take minutes: 10¹⁵ won at a 100 won price (the old loop would lower ~10⁹ times)."""
    fill = FillParams(commission_rate=0.00015)
    q = affordable_quantity(10**15, 100, date(2025, 3, 4), "KOSPI", fill)
    assert buy_cash_needed(q, 100, date(2025, 3, 4), "KOSPI", fill) <= 10**15
    assert buy_cash_needed(q + 1, 100, date(2025, 3, 4), "KOSPI", fill) > 10**15
    assert q > 9 * 10**12


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 6), st.integers(1, 30), st.integers(0, 2**32 - 1))
def test_rank_rows_is_rank_within_per_row(rows: int, stocks: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 5, (rows, stocks)).astype(float)  # many ties
    values[rng.random(values.shape) < 0.3] = np.nan
    expected = np.vstack([_rank_within(row) for row in values])
    np.testing.assert_array_equal(rank_rows(values), expected)


def test_composite_over_days_equals_one_composite_per_day() -> None:
    """The backtest's one pass per chunk (2-D reference) gives each day's own composite, bit for bit."""
    rng = np.random.default_rng(3)
    days, stocks = 7, 40
    components = {
        "trend": {"a": rng.normal(size=(days, stocks)), "b": rng.integers(0, 4, (days, stocks)) * 1.0},
        "value": {"c": rng.normal(size=stocks)},
    }
    components["trend"]["a"][rng.random((days, stocks)) < 0.2] = np.nan
    eligible = rng.random((days, stocks)) < 0.7
    weights = {"trend": 0.7, "value": 0.3}
    together = composite_score(components, weights, eligible)
    for t in range(days):
        cols = np.flatnonzero(eligible[t])
        day = {
            g: {n: (raw[t] if raw.ndim == 2 else raw)[cols] for n, raw in parts.items()}
            for g, parts in components.items()
        }
        alone = composite_score(day, weights, np.ones(cols.size, dtype=bool))
        np.testing.assert_array_equal(together.score[t, cols], alone.score)
        for group in weights:
            np.testing.assert_array_equal(together.groups[group][t, cols], alone.groups[group])


class SignalSmaCross(PlainSmaCross):
    """The cross-check's strategy, declaring its exits as a daily signal (`ExitsAtOpen`)."""

    def exits_at_open(self) -> dict[str, str]:
        return dict.fromkeys(self.sell_signals, "sma cross down")


def test_exits_at_open_shortcut_gives_the_same_run() -> None:
    rng = np.random.default_rng(11)
    closes = np.round(10_000 * np.cumprod(1 + rng.normal(0, 0.03, (120, 12)), axis=0) / 10) * 10
    opens = np.round(closes * (1 + rng.normal(0, 0.01, closes.shape)) / 10) * 10
    panel = make_panel(
        closes, opens=opens, highs=np.maximum(opens, closes) * 1.02, lows=np.minimum(opens, closes) * 0.98
    )
    assert isinstance(SignalSmaCross(), ExitsAtOpen) and not isinstance(PlainSmaCross(), ExitsAtOpen)
    start, end = panel.date_at(0), panel.date_at(panel.shape[0] - 1)
    plain = BacktestEngine(PlainSmaCross(), panel, ours_config(10**9)).run(start, end)
    fast = BacktestEngine(SignalSmaCross(), panel, ours_config(10**9)).run(start, end)
    assert len(plain.fills) > 20
    assert [(f.at, f.code, f.side, f.quantity, f.price, f.reason) for f in fast.fills] == [
        (f.at, f.code, f.side, f.quantity, f.price, f.reason) for f in plain.fills
    ]
    np.testing.assert_array_equal(fast.equity, plain.equity)


class AtrSmaCross(PlainSmaCross):
    """Half the candidates carry an ATR, so an ATR stop (which reads the high since entry) can sell those
    positions and not the others: a held set mixing positions a risk rule reads with ones only the signal sells."""

    def select(self, panel, screen, on):  # type: ignore[no-untyped-def]
        return [replace(c, atr=300.0) if int(c.code) % 2 else c for c in super().select(panel, screen, on)]


class SignalAtrSmaCross(AtrSmaCross):
    def exits_at_open(self) -> dict[str, str]:
        return dict.fromkeys(self.sell_signals, "sma cross down")


def test_exits_at_open_with_risk_rules_on_part_of_the_held_set_gives_the_same_run() -> None:
    """With `ExitsAtOpen` only the positions a risk rule reads keep their high on the object (the others' in
    the engine's array, `_raise_highs`): the ATR stops fire where the general path fires them."""
    rng = np.random.default_rng(5)
    closes = np.round(10_000 * np.cumprod(1 + rng.normal(0, 0.03, (150, 16)), axis=0) / 10) * 10
    opens = np.round(closes * (1 + rng.normal(0, 0.01, closes.shape)) / 10) * 10
    panel = make_panel(
        closes, opens=opens, highs=np.maximum(opens, closes) * 1.03, lows=np.minimum(opens, closes) * 0.97
    )
    config = ours_config(10**9)
    config = replace(config, risk=replace(config.risk, atr_stop_multiple=2.0))
    start, end = panel.date_at(0), panel.date_at(panel.shape[0] - 1)
    plain = BacktestEngine(AtrSmaCross(), panel, config).run(start, end)
    fast = BacktestEngine(SignalAtrSmaCross(), panel, config).run(start, end)
    reasons = {f.reason for f in plain.fills}
    assert "atr_stop" in reasons and "strategy: sma cross down" in reasons
    assert [(f.at, f.code, f.side, f.quantity, f.price, f.reason) for f in fast.fills] == [
        (f.at, f.code, f.side, f.quantity, f.price, f.reason) for f in plain.fills
    ]
    np.testing.assert_array_equal(fast.equity, plain.equity)


def test_frozen_overrides_read_the_file_once(isolated_env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    isolated_env.mkdir(parents=True, exist_ok=True)
    override = isolated_env / "calendar_overrides.toml"
    override.write_text('closed = ["2027-03-03"]\n')
    calendar.is_trading_day(date(2027, 3, 3))  # settings loaded before counting
    stats = []
    real_stat = calendar.os.stat

    def counting_stat(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if str(path) == str(override):
            stats.append(path)
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(calendar.os, "stat", counting_stat)
    with frozen_overrides():
        for _ in range(50):
            assert not calendar.is_trading_day(date(2027, 3, 3))
            calendar.trading_days(date(2027, 3, 1), date(2027, 3, 10))
    frozen = len(stats)
    assert 1 <= frozen <= 2  # at entry only (the existence check and the mtime)
    # outside the block the file is watched again, call by call
    calendar.is_trading_day(date(2027, 3, 3))
    calendar.is_trading_day(date(2027, 3, 3))
    assert len(stats) >= frozen + 2


def test_no_prefetch_thread_when_memory_is_short(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """On the 1 GB VM (or under the scheduler unit's MemoryHigh) the second chunk is not computed ahead."""
    from hantu.backtest import screens
    from hantu.strategy.registry import create_strategy

    rng = np.random.default_rng(2)
    closes = np.round(10_000 * np.cumprod(1 + rng.normal(0, 0.02, (30, 5)), axis=0) / 10) * 10
    panel = make_panel(closes)
    real = screens.memory_available
    assert real() > 0
    monkeypatch.setattr(screens.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(screens, "memory_available", lambda: 600 << 20)
    assert not screens.PanelScreens(create_strategy("momentum"), panel).prefetch
    monkeypatch.setattr(screens, "memory_available", lambda: 8 << 30)
    assert screens.PanelScreens(create_strategy("momentum"), panel).prefetch


def _run_fingerprint(outcome):  # type: ignore[no-untyped-def]
    return [(f.at, f.code, f.side, f.quantity, f.price, f.commission, f.tax, f.reason) for f in outcome.fills]


@pytest.mark.parametrize("name", ["momentum", "rsi2"])
def test_lean_screens_and_factor_blocks_give_the_same_run(name, sample_store, sample_panel, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`--lean` (no prefetching thread) and factors computed over blocks of stocks: the same fills and equity
    as the default pass (blocks of 37 stocks here, so the blocks are joined on every chunk)."""
    from hantu.backtest import screens
    from hantu.strategy.registry import create_strategy

    params = {"rsi2": {"rules.trend_days": 50}}.get(name)
    instruments = sample_store.instruments()
    start, end = sample_panel.date_at(70), sample_panel.date_at(sample_panel.shape[0] - 1)
    strategy = create_strategy(name, params)
    plain = BacktestEngine(strategy, sample_panel,
                           screens=screens.screen_source_for(strategy, sample_panel, instruments)).run(start, end)
    monkeypatch.setattr(screens, "FACTOR_BLOCK", 37)
    strategy = create_strategy(name, params)
    lean_source = screens.screen_source_for(strategy, sample_panel, instruments, lean=True)
    assert isinstance(lean_source, screens.PanelScreens) and not lean_source.prefetch
    lean = BacktestEngine(strategy, sample_panel, screens=lean_source).run(start, end)
    assert len(plain.fills) > 0
    assert _run_fingerprint(lean) == _run_fingerprint(plain)
    np.testing.assert_array_equal(lean.equity, plain.equity)


def test_benchmarks_by_blocks_of_days_equal_one_pass(sample_panel, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The benchmark indices computed a few days at a time are the whole-panel figures, bit for bit (gaps,
    untraded days and the carry of the last close included)."""
    from hantu.backtest import benchmark

    rng = np.random.default_rng(4)
    close = sample_panel.close.copy()
    close[rng.random(close.shape) < 0.05] = np.nan  # untraded days
    dates = sample_panel.dates.copy()
    dates[120:] = dates[120:] + np.timedelta64(40, "D")  # a gap in the data before row 120
    panel = replace(sample_panel, close=close, dates=dates)
    assert panel.segment_starts()[120]

    def figures():  # type: ignore[no-untyped-def]
        out = [benchmark.equal_weight_returns(panel)]
        out += [benchmark.cap_weighted_returns(panel, m) for m in benchmark.MARKETS]
        return out

    monkeypatch.setattr(benchmark, "ROWS_PER_BLOCK", 10**6)
    whole = figures()
    monkeypatch.setattr(benchmark, "ROWS_PER_BLOCK", 7)
    blocks = figures()
    assert whole[1] is not None and np.any(whole[0] != 0)
    for a, b in zip(whole, blocks, strict=True):
        np.testing.assert_array_equal(a, b)


def _carried(close: np.ndarray, step: np.ndarray | None) -> np.ndarray:
    """The whole-panel carry-forward `_Marks` replaced."""
    out = close.astype(float, copy=True)
    for t in range(1, out.shape[0]):
        missing = np.isnan(out[t])
        out[t][missing] = out[t - 1][missing] * (step[t][missing] if step is not None else 1.0)
    return out


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 30), st.integers(1, 8), st.integers(0, 2**32 - 1), st.booleans())
def test_marks_made_row_by_row_equal_the_whole_carry(days: int, stocks: int, seed: int, with_step: bool) -> None:
    from hantu.backtest.engine import _Marks

    rng = np.random.default_rng(seed)
    close = rng.integers(100, 10_000, (days, stocks)).astype(float)
    close[rng.random(close.shape) < 0.4] = np.nan
    step = np.where(rng.random(close.shape) < 0.1, 0.5, 1.0) if with_step else None
    expected = _carried(close, step)
    marks = _Marks(close, step)
    for t in range(days):
        np.testing.assert_array_equal(marks.at(t), expected[t])
        if t:
            np.testing.assert_array_equal(marks.at(t - 1), expected[t - 1])
    with pytest.raises(ValueError):
        marks.at(days - 3) if days >= 3 else marks.at(-2)


@settings(max_examples=400, deadline=None)
@given(base=st.one_of(st.integers(1, 5_000_000), st.floats(1, 5_000_000)),
       day=st.sampled_from([date(2022, 5, 2), date(2023, 1, 25), date(2025, 3, 4)]),
       market=st.sampled_from(["KOSPI", "KOSDAQ"]))
def test_limit_prices_in_integers_equal_the_decimal_figures(base: float, day: date, market: str) -> None:
    from decimal import ROUND_FLOOR, Decimal

    from hantu.market import rules

    upper_raw = int((Decimal(base) * (1 + rules.PRICE_LIMIT)).to_integral_value(ROUND_FLOOR))
    lower_raw = int(-((-(Decimal(base) * (1 - rules.PRICE_LIMIT))).to_integral_value(ROUND_FLOOR)))
    assert rules.limit_prices(base, day, market) == (rules.round_to_tick(lower_raw, "up", day, market),
                                                     rules.round_to_tick(upper_raw, "down", day, market))


def test_composite_without_ranks_kept_has_the_same_scores() -> None:
    """`keep_ranks=False` (the backtest's chunks) changes what is kept, not the scores or group figures."""
    rng = np.random.default_rng(5)
    components = {"trend": {"a": rng.normal(size=(6, 30)), "b": rng.integers(0, 3, (6, 30)) * 1.0},
                  "value": {"c": rng.normal(size=30)}}
    eligible = rng.random((6, 30)) < 0.6
    kept = composite_score(components, {"trend": 0.6, "value": 0.4}, eligible)
    lean = composite_score(components, {"trend": 0.6, "value": 0.4}, eligible, keep_ranks=False)
    assert lean.components == {} and set(kept.components) == {"trend.a", "trend.b", "value.c"}
    np.testing.assert_array_equal(lean.score, kept.score)
    for group in kept.groups:
        np.testing.assert_array_equal(lean.groups[group], kept.groups[group])


@pytest.mark.parametrize("name", ["momentum", "rsi2"])
def test_factor_blocks_joined_in_place_equal_one_block(name, sample_store, sample_panel, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A chunk's factor table made over blocks of stocks (written straight into the joined arrays) is the
    one-block table, array for array and bit for bit (indicators, components, rule, hand-over)."""
    from hantu.backtest import screens
    from hantu.strategy.registry import create_strategy

    strategy = create_strategy(name, {"rsi2": {"rules.trend_days": 50}}.get(name))
    source = screens.PanelScreens(strategy, sample_panel, sample_store.instruments(), prefetch=False)
    first = source._chunk_first(sample_panel.shape[0] - 1)
    base = max(0, first - source.lookback + 1)
    view = sample_panel.slice_days(base, sample_panel.shape[0])
    prices = screens.adjusted_prices(view)
    eligibility = screens.eligibility_series(view, prices, source.flags, source.config.filters, source.lookback)
    columns = np.flatnonzero(eligibility.eligible[first - base:].any(axis=0))
    assert columns.size > 2 * 37
    whole = source._traded_factors(strategy, view, prices, eligibility, columns, first - base)
    monkeypatch.setattr(screens, "FACTOR_BLOCK", 37)
    joined = source._traded_factors(strategy, view, prices, eligibility, columns, first - base)
    assert joined.indicators.keys() == whole.indicators.keys() and joined.handover.keys() == whole.handover.keys()
    for key, values in whole.indicators.items():
        assert joined.indicators[key].dtype == np.asarray(values).dtype
        np.testing.assert_array_equal(joined.indicators[key], values)
    for group, parts in whole.components.items():
        for part, values in parts.items():
            np.testing.assert_array_equal(joined.components[group][part], values)
    for key, values in whole.handover.items():
        np.testing.assert_array_equal(joined.handover[key], values)
    if whole.rule_passed is None:
        assert joined.rule_passed is None
    else:
        np.testing.assert_array_equal(joined.rule_passed, whole.rule_passed)
    assert list(joined.rule_reasons) == list(whole.rule_reasons)
