"""The engine raises the collector's young threshold for a run and puts it back (`hantu.backtest.collector`)."""

from __future__ import annotations

import gc

import pytest

from hantu.backtest.collector import RUN_THRESHOLD, fewer_collections
from hantu.backtest.engine import BacktestEngine
from hantu.backtest.screens import WindowScreens
from hantu.strategy.registry import create_strategy


@pytest.fixture
def default_threshold():
    previous = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*previous)


def test_a_run_collects_less_often_and_puts_the_threshold_back(sample_panel, default_threshold):
    strategy = create_strategy("momentum")
    seen: list[tuple[int, int, int]] = []
    screen = strategy.screen

    def watching(*args, **kwargs):
        seen.append(gc.get_threshold())
        return screen(*args, **kwargs)

    strategy.screen = watching  # type: ignore[method-assign]
    engine = BacktestEngine(strategy, sample_panel, screens=WindowScreens(strategy, sample_panel))
    engine.run(sample_panel.date_at(0), sample_panel.date_at(min(40, sample_panel.shape[0] - 1)))
    assert seen and all(t == (RUN_THRESHOLD, 10, 10) for t in seen)
    assert gc.get_threshold() == (700, 10, 10)


def test_the_threshold_comes_back_after_an_error(default_threshold):
    with pytest.raises(RuntimeError), fewer_collections():
        assert gc.get_threshold()[0] == RUN_THRESHOLD
        raise RuntimeError("a failed run")
    assert gc.get_threshold() == (700, 10, 10)


def test_a_higher_threshold_and_nested_blocks_are_left_alone(default_threshold):
    gc.set_threshold(200_000, 10, 10)
    with fewer_collections():
        assert gc.get_threshold()[0] == 200_000
    gc.set_threshold(700, 10, 10)
    with fewer_collections(), fewer_collections():
        assert gc.get_threshold()[0] == RUN_THRESHOLD
    assert gc.get_threshold() == (700, 10, 10)
