"""The declared strategy contract: the decision enum, the typed Phase 1 → Phase 2 hand-over, the registry's
load-time check of third-party strategies, and no product code probing a strategy with `getattr`."""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from pathlib import Path

import pytest

import hantu
from hantu.clock import FrozenClock, parse_kst
from hantu.market.store import MarketStore
from hantu.strategy.base import (
    DEFAULT_LOOKBACK_DAYS,
    Decision,
    DecisionAction,
    Handover,
    HandoverError,
    StockScore,
    Strategy,
    handover_of,
)
from hantu.strategy.registry import StrategyContractError, available_strategies, create_strategy, describe
from hantu.strategy.runs import run_screening, run_selection, stored_screen, watchlist_row, watchlist_stock

SRC = Path(hantu.__file__).parent


# --- the decision's action ----------------------------------------------------------------------------------
def test_a_decision_with_an_unknown_action_is_an_error_not_a_dropped_order() -> None:
    with pytest.raises(ValueError, match=r"unknown decision action 'sell'.*one of: buy"):
        Decision("sell", "005930", "take profit")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown decision action"):
        Decision("BUY ", "005930", "typo")  # type: ignore[arg-type]


def test_a_decision_action_given_as_its_string_becomes_the_enum() -> None:
    decision = Decision("buy", "005930", "entry")  # type: ignore[arg-type]
    assert decision.action is DecisionAction.BUY
    assert Decision(DecisionAction.BUY, "005930", "entry") == decision


# --- the hand-over ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Levels(Handover):
    atr: float
    high: float


def test_a_handover_round_trips_through_its_stored_form_with_nan_as_null() -> None:
    levels = Levels(atr=123.5, high=math.nan)
    row = levels.as_row()
    assert row == {"atr": 123.5, "high": None}
    back = Levels.from_row(row)
    assert back.atr == 123.5 and math.isnan(back.high)
    with pytest.raises(HandoverError, match="lacks high"):
        Levels.from_row({"atr": 1.0})


def test_handover_columns_must_be_exactly_the_fields() -> None:
    assert set(Levels.columns(atr=[1.0], high=[2.0])) == {"atr", "high"}
    with pytest.raises(HandoverError, match="missing high; not fields: hgih"):
        Levels.columns(atr=[1.0], hgih=[2.0])


def test_handover_of_names_the_stock_without_one() -> None:
    stock = StockScore("005930", "삼성전자", 80.0, True, ())
    with pytest.raises(HandoverError, match="no Levels from Phase 1 for 005930"):
        handover_of(stock, Levels)
    assert handover_of(StockScore("005930", "x", 1.0, True, (), handover=Levels(1.0, 2.0)), Levels).high == 2.0


@pytest.mark.parametrize("name", ["momentum", "rsi2", "volatility_breakout"])
def test_the_stored_watchlist_hands_phase_2_the_same_typed_levels_as_the_live_screen(
        name: str, database, sample_store_root: Path) -> None:  # type: ignore[no-untyped-def]
    store = MarketStore(sample_store_root)
    on = store.trading_dates()[-1]
    clock = FrozenClock(parse_kst(f"{on}T06:30:00"))
    params = {"rules.trend_days": 20} if name == "rsi2" else {}
    strategy = create_strategy(name, {"filters.min_avg_traded_value": 1e8, **params})
    screened = run_screening(database, store, strategy, on, clock=clock)
    kind = strategy.handover_type
    assert kind is not None and screened.watchlist
    live = {s.code: s.handover for s in screened.watchlist}
    assert all(isinstance(h, kind) for h in live.values())
    _, rows = stored_screen(database, on, name)  # type: ignore[misc]
    assert all(row.handover is not None and set(row.handover) == set(kind.field_names()) for row in rows)
    for row in rows:
        stored = watchlist_stock(row, strategy).handover
        assert stored is not None and stored.as_row() == live[row.code].as_row()  # type: ignore[union-attr]
    # Phase 2 from the stored rows picks what Phase 2 on the live screen picks
    chosen = run_selection(database, store, strategy, on, clock=clock, screen_if_missing=False)
    panel = store.load(strategy.lookback_days, end=on)
    direct = strategy.select(panel, screened.result, on)  # type: ignore[arg-type]
    assert [c.code for c in chosen.candidates] == [c.code for c in direct]
    assert [(c.entry_price, c.stop_price, c.target_price) for c in chosen.candidates] == [
        (c.entry_price, c.stop_price, c.target_price) for c in direct]


def test_a_watchlist_row_without_a_handover_is_skipped_with_the_reason(database, sample_store_root: Path  # type: ignore[no-untyped-def]
                                                                       ) -> None:
    store = MarketStore(sample_store_root)
    on = store.trading_dates()[-1]
    strategy = create_strategy("momentum", {"filters.min_avg_traded_value": 1e8})
    stock = StockScore("005930", "삼성전자", 80.0, True, ("r",), {"atr14": 1.0}, "반도체")
    row = watchlist_row(1, 1, stock)
    assert row.handover is None
    back = watchlist_stock(row, strategy)
    assert back.handover is None and back.factors == {"atr14": 1.0}
    panel = store.load(strategy.lookback_days, end=on)
    screen = strategy.screen(panel, on)
    bare = [StockScore(s.code, s.name, s.score, s.passed, s.reasons, s.factors, s.sector)
            for s in screen.scores if s.code in screen.watchlist]
    from hantu.strategy.base import ScreenResult

    selected = strategy.select_detailed(panel, ScreenResult(on, bare, list(screen.watchlist)), on)
    assert selected.candidates == []
    assert selected.skipped and all("re-run the screening" in why or "regime" in why
                                    for why in selected.skipped.values())


# --- the declared hooks -------------------------------------------------------------------------------------
class Minimal(Strategy):
    name = "minimal"

    def screen(self, panel, on, instruments=None):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    def select(self, panel, screen, on):  # type: ignore[no-untyped-def]
        return []

    def on_price(self, candidate, price, now, day_open):  # type: ignore[no-untyped-def]
        return None

    def exit_reason(self, position, price, now, day_open):  # type: ignore[no-untyped-def]
        return None


def test_every_hook_has_its_declared_default() -> None:
    strategy = Minimal({"x": 1})
    assert strategy.lookback_days == DEFAULT_LOOKBACK_DAYS == 260
    assert strategy.required_history_days == 0
    assert strategy.flatten_at_close is False and strategy.config_hash == ""
    assert strategy.settings() == {"x": 1} and strategy.params == {"x": 1}
    assert strategy.handover_type is None
    assert Minimal.summary() == ""  # no description, no docstring


# --- the registry refuses a broken third-party strategy at load time -----------------------------------------
PLUGINS = '''
from hantu.strategy.base import Strategy


class NotAStrategy:
    name = "duck"

    def __init__(self, params=None):
        self.params = params or {}

    def screen(self, panel, on, instruments=None): ...
    def select(self, panel, screen, on): ...
    def on_price(self, candidate, price, now, day_open): ...
    def exit_reason(self, position, price, now, day_open): ...


class NoExits(Strategy):
    name = "no_exits"

    def screen(self, panel, on, instruments=None): ...
    def select(self, panel, screen, on): ...
    def on_price(self, candidate, price, now, day_open): ...


class OldScreen(NoExits):
    name = "old_screen"

    def screen(self, panel, on): ...
    def exit_reason(self, position, price, now, day_open): ...


class BadLookback(OldScreen):
    name = "bad_lookback"
    lookback_days = "260"

    def screen(self, panel, on, instruments=None): ...
'''


@pytest.fixture
def broken_plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A distribution with four broken strategies registered in the `hantu.strategies` entry-point group."""
    (tmp_path / "broken_plugins.py").write_text(PLUGINS, encoding="utf-8")
    dist = tmp_path / "broken_plugins-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugins\nVersion: 0.1\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text(
        "[hantu.strategies]\nduck = broken_plugins:NotAStrategy\nno_exits = broken_plugins:NoExits\n"
        "old_screen = broken_plugins:OldScreen\nbad_lookback = broken_plugins:BadLookback\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


@pytest.mark.parametrize(("name", "message"), [
    ("duck", r"does not subclass hantu.strategy.base.Strategy"),
    ("no_exits", r"does not implement exit_reason"),
    ("old_screen", r"screen takes no `instruments`"),
    ("bad_lookback", r"lookback_days must be a positive int, not '260'"),
])
def test_a_broken_plugin_is_refused_when_loaded_with_what_is_wrong(broken_plugins: Path, name: str,
                                                                   message: str) -> None:
    assert available_strategies()[name].origin == "broken-plugins"
    with pytest.raises(StrategyContractError, match=message):
        create_strategy(name)
    assert message.replace("\\", "")[:20] in describe(name)["error"]


# --- nothing probes a strategy for a hook -------------------------------------------------------------------
def _probes_a_strategy(node: ast.Call) -> bool:
    if not (isinstance(node.func, ast.Name) and node.func.id in ("getattr", "hasattr") and node.args):
        return False
    target = node.args[0]
    name = target.id if isinstance(target, ast.Name) else target.attr if isinstance(target, ast.Attribute) else ""
    return "strategy" in name.lower() or name in ("runner", "factory")


def test_no_product_module_probes_a_strategy_with_getattr() -> None:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if "sandbox" in path.relative_to(SRC).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and _probes_a_strategy(node):
                found.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert found == []
