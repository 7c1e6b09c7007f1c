"""One backtest on a loaded market, not stored: what a single run, a sweep's worker and the optimiser all run.

`load_market` loads the panel once (with a warm-up of history before `start`, so the strategy's indicators are
ready on the first day); `run_on_panel` runs the live strategy code on it through the engine.

A store's recorded minute bars (`hantu.market.minutes`, beside the daily blocks) are walked for the stock-days
that have a whole session of them (`MarketData.minutes`); the outcome's `metrics["intraday"]` says how many.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

from hantu.backtest.daypath import RecordedMinutes
from hantu.backtest.engine import BacktestConfig, BacktestEngine, Progress
from hantu.backtest.result import BacktestOutcome
from hantu.backtest.screens import screen_source_for
from hantu.market.minutes import minute_store_beside
from hantu.market.panel import DailyPanel
from hantu.strategy.base import Strategy
from hantu.trading.risk import RiskConfig

WARMUP_CALENDAR_DAYS = 400  # ~270 trading days of history before `start` (indicators up to a year)


def make_strategy(name: str, params: dict[str, Any] | None = None) -> Strategy:
    """A registered strategy (entry-point group `hantu.strategies`) with `params` over its defaults."""
    from hantu.strategy.registry import create_strategy

    return create_strategy(name, params or {})


@dataclass(frozen=True)
class MarketData:
    """A loaded panel and the instrument master rows that go with it (sectors and flags for screening), and the
    store's recorded minute bars (None: every stock-day walks the synthetic path)."""

    panel: DailyPanel
    instruments: list[Any] | None = None
    minutes: RecordedMinutes | None = None


def load_market(store: Any, start: date, end: date, warmup_days: int = WARMUP_CALENDAR_DAYS) -> MarketData:
    """The store's days from `start - warmup_days` to `end` with its instrument master and its recorded minute
    bars (`store` may also be a ready `DailyPanel` or `MarketData`)."""
    if isinstance(store, MarketData):
        return store
    if isinstance(store, DailyPanel):
        return MarketData(store)
    panel = store.load_range(start - timedelta(days=warmup_days), end)
    if panel.shape[0] == 0:
        raise ValueError(f"the market store has no data for {start} … {end}")
    return MarketData(panel, store.instruments(), RecordedMinutes(minute_store_beside(store.root)))


def with_risk_limits(outcome: BacktestOutcome, risk: RiskConfig) -> BacktestOutcome:
    """The outcome with the risk limits it ran with in its metrics (`metrics["risk_limits"]`)."""
    outcome.metrics = {**outcome.metrics, "risk_limits": asdict(risk)}
    return outcome


def run_on_panel(strategy_name: str, market: MarketData, start: date, end: date,
                 params: dict[str, Any] | None = None, config: BacktestConfig | None = None,
                 progress: Progress | None = None, lean: bool = False) -> BacktestOutcome:
    """One backtest, not stored; `lean`: less memory, same result (`screens.screen_source_for`)."""
    config = config or BacktestConfig()
    strategy = make_strategy(strategy_name, params)
    screens = screen_source_for(strategy, market.panel, market.instruments, lean=lean)
    outcome = BacktestEngine(strategy, market.panel, config, screens=screens, progress=progress,
                             minutes=market.minutes).run(start, end)
    return with_risk_limits(outcome, config.risk)
