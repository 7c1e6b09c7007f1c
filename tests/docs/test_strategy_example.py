"""The worked example of docs/strategies.md runs: registered through its own pyproject's entry point, screened and
selected by the real pipeline, backtested by the real engine. If the framework changes under it, this fails."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from hantu.backtest.screens import PanelScreens, WindowScreens
from hantu.backtest.single import MarketData, run_on_panel
from hantu.market.sample import write_sample_market
from hantu.market.store import MarketStore
from hantu.store.db import Database
from hantu.store.migrate import ensure_schema
from hantu.strategy.base import Strategy
from hantu.strategy.registry import available_strategies, create_strategy
from hantu.strategy.runs import run_screening, run_selection, stored_candidates

from helpers import REPO_ROOT, run_hantu

EXAMPLE = REPO_ROOT / "docs" / "examples" / "my_strategy"
NAME = "near_high"


def _install_as_distribution(root: Path) -> None:
    """What `pip install -e docs/examples/my_strategy` leaves behind, made from the example's own pyproject:
    a `*.dist-info` with its entry points, next to the package source."""
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    dist = root / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n",
                                   encoding="utf-8")
    lines = [f"[{group}]\n" + "".join(f"{name} = {target}\n" for name, target in entries.items())
             for group, entries in project["entry-points"].items()]
    (dist / "entry_points.txt").write_text("\n".join(lines), encoding="utf-8")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("site")
    _install_as_distribution(site)
    return site


@pytest.fixture
def plugin_on_path(installed: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.syspath_prepend(str(EXAMPLE / "src"))
    monkeypatch.syspath_prepend(str(installed))
    yield installed


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> MarketStore:
    """A small deterministic sample market (300 stocks × 200 trading days)."""
    store = MarketStore(tmp_path_factory.mktemp("market") / "market")
    write_sample_market(store, stocks=300, days=200, seed=3, end=date(2026, 1, 30))
    return store


def test_the_example_is_registered_by_its_entry_point(plugin_on_path: Path) -> None:
    info = available_strategies()[NAME]
    assert info.origin == "my-strategy"
    strategy = create_strategy(NAME, {"rules.max_gap": 0.03})
    assert isinstance(strategy, Strategy)
    assert strategy.settings()["rules.max_gap"] == 0.03
    assert strategy.settings()["indicators.high_days"] == 20  # from the package's own defaults.toml


def test_strategy_list_shows_the_example(plugin_on_path: Path) -> None:
    result = run_hantu("strategy", "list", "--json",
                       env={"PYTHONPATH": f"{plugin_on_path}:{EXAMPLE / 'src'}"}, timeout=60)
    assert result.returncode == 0, result.stderr
    entry = {e["name"]: e for e in json.loads(result.stdout)}[NAME]
    assert "error" not in entry, entry
    assert entry["origin"] == "my-strategy" and entry["settings"]["rules.stop_atr"] == 2.0


def test_the_example_screens_and_selects_through_the_stored_pipeline(plugin_on_path: Path, tmp_path: Path,
                                                                     market: MarketStore) -> None:
    database = Database(f"sqlite:///{tmp_path / 'hantu.db'}")
    ensure_schema(database)
    day = market.trading_dates()[-1]
    screening = run_screening(database, market, NAME, on=day)
    assert screening.strategy == NAME and screening.universe > 250  # listed stocks of the 300
    assert screening.passed > 0 and screening.watchlist, screening.figures()
    failed = [s for s in screening.result.scores if not s.passed]
    assert any("under the 20-day high" in " ".join(s.reasons) for s in failed)  # the rule's own reasons
    selection = run_selection(database, market, NAME, on=day)
    assert selection.candidates, selection.figures()
    for candidate in selection.candidates:
        assert candidate.stop_price < candidate.entry_price < candidate.target_price
        assert 0 < candidate.weight <= 0.20
    # what the 09:00 trading session reads back
    assert [c.code for c in stored_candidates(database, day, NAME) or []] == [c.code for c in selection.candidates]


def test_the_backtest_pass_matches_the_live_screen(plugin_on_path: Path, market: MarketStore) -> None:
    """The whole-panel pass a backtest uses and the live window screen choose the same stocks: the factors take
    their rows with `at_day` and read no row after the decision day."""
    strategy = create_strategy(NAME)
    dates = market.trading_dates()
    panel = market.load_range(dates[0], dates[-1])
    whole, window = PanelScreens(strategy, panel), WindowScreens(strategy, panel)  # type: ignore[arg-type]
    chosen = 0
    for row in range(100, panel.shape[0], 20):
        live = [c.code for c in window.candidates_after(row)]
        assert [c.code for c in whole.candidates_after(row)] == live, f"row {row}"
        chosen += len(live)
    assert chosen > 0


def test_the_example_backtests(plugin_on_path: Path, market: MarketStore) -> None:
    dates = market.trading_dates()
    data = MarketData(market.load_range(dates[0], dates[-1]), market.instruments())
    outcome = run_on_panel(NAME, data, dates[80], dates[-1])
    assert outcome.strategy == NAME
    assert outcome.trades and outcome.fills, "the example should trade on the sample market"
    assert len(outcome.equity) == len(outcome.dates) == len(dates) - 80
    # as in the live session: the risk rules sell at the candidate's stop/target, the strategy's own
    # `exit_reason` sells the rest (here: the time exit)
    reasons = {t.exit_reason for t in outcome.trades if t.exit_reason}
    assert {"stop_loss", "take_profit"} <= reasons, reasons
    assert any(r.startswith("strategy: time: held") for r in reasons), reasons
