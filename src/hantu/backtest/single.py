"""One backtest on a loaded market, not stored: what a single run, a sweep's worker and the optimiser all run.

`load_market` loads the panel once (with a warm-up of history before `start`, so the strategy's indicators are
ready on the first day); `run_on_panel` runs the live strategy code on it through the engine.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

from hantu.backtest.engine import BacktestConfig, BacktestEngine, Progress
from hantu.backtest.result import BacktestOutcome
from hantu.backtest.screens import screen_source_for
from hantu.market.panel import DailyPanel
from hantu.trading.risk import RiskConfig

WARMUP_CALENDAR_DAYS = 400  # ~270 trading days of history before `start` (indicators up to a year)


def make_strategy(name: str, params: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
    """A registered strategy (entry-point group `hantu.strategies`) with `params` over its defaults."""
    from hantu.strategy.registry import create_strategy

    return create_strategy(name, params or {})


@dataclass(frozen=True)
class MarketData:
    """A loaded panel and the instrument master rows that go with it (sectors and flags for screening)."""

    panel: DailyPanel
    instruments: list[Any] | None = None


def load_market(store: Any, start: date, end: date, warmup_days: int = WARMUP_CALENDAR_DAYS) -> MarketData:
    """The store's days from `start - warmup_days` to `end` with its instrument master (`store` may also be a
    ready `DailyPanel` or `MarketData`)."""
    if isinstance(store, MarketData):
        return store
    if isinstance(store, DailyPanel):
        return MarketData(store)
    panel = store.load_range(start - timedelta(days=warmup_days), end)
    if panel.shape[0] == 0:
        raise ValueError(f"the market store has no data for {start} … {end}")
    return MarketData(panel, store.instruments())


def with_risk_limits(outcome: BacktestOutcome, risk: RiskConfig) -> BacktestOutcome:
    """The outcome with the risk limits it ran with in its metrics (`metrics["risk_limits"]`)."""
    outcome.metrics = {**outcome.metrics, "risk_limits": asdict(risk)}
    return outcome


def run_on_panel(strategy_name: str, market: MarketData, start: date, end: date,
                 params: dict[str, Any] | None = None, config: BacktestConfig | None = None,
                 progress: Progress | None = None) -> BacktestOutcome:
    """One backtest, not stored."""
    config = config or BacktestConfig()
    strategy = make_strategy(strategy_name, params)
    screens = screen_source_for(strategy, market.panel, market.instruments)
    outcome = BacktestEngine(strategy, market.panel, config, screens=screens, progress=progress).run(start, end)
    return with_risk_limits(outcome, config.risk)
