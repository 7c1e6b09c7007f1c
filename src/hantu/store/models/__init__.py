"""Every table by name, each class loaded from its area's module on first use.

`from hantu.store.models import TradeOrder` imports `hantu.store.models.trading` only: a command that needs
the strategy tables (`hantu screen`) does not import and map the other two dozen (issue 19: importing and
configuring every mapper was ~0.1 s of the command). Alembic and the schema test need the whole metadata:
they call `all_metadata()`.

Each area keeps its tables in its own module here and adds them to `TABLES` and to the `TYPE_CHECKING`
import below (tests/foundation/test_models_lazy.py keeps the three agreeing).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from hantu.store.base import Base

if TYPE_CHECKING:
    from sqlalchemy import MetaData

    from hantu.store.models.backtest import BacktestRun, BacktestTrade
    from hantu.store.models.control import ControlAction
    from hantu.store.models.core import AuditEntry, Instrument, JobRun, KeyValue
    from hantu.store.models.drift import DriftReport
    from hantu.store.models.notify import ChannelDelivery, OutboxMessage
    from hantu.store.models.research import OptimizationStudy, OptimizationTrial
    from hantu.store.models.scheduler import DailyReport
    from hantu.store.models.strategy import ScreenRun, SelectionCandidate, SelectionRun, WatchlistEntry
    from hantu.store.models.trading import (
        PaperAccount,
        PaperFill,
        PaperHolding,
        PaperOrder,
        Reconciliation,
        TradeAccount,
        TradeFill,
        TradeOrder,
        TradePosition,
    )

# class name -> the module (under hantu.store.models) that declares it
TABLES: dict[str, str] = {
    "BacktestRun": "backtest", "BacktestTrade": "backtest",
    "ControlAction": "control",
    "AuditEntry": "core", "Instrument": "core", "JobRun": "core", "KeyValue": "core",
    "DriftReport": "drift",
    "ChannelDelivery": "notify", "OutboxMessage": "notify",
    "OptimizationStudy": "research", "OptimizationTrial": "research",
    "DailyReport": "scheduler",
    "ScreenRun": "strategy", "SelectionCandidate": "strategy", "SelectionRun": "strategy", "WatchlistEntry": "strategy",
    "PaperAccount": "trading", "PaperFill": "trading", "PaperHolding": "trading", "PaperOrder": "trading",
    "Reconciliation": "trading", "TradeAccount": "trading", "TradeFill": "trading", "TradeOrder": "trading",
    "TradePosition": "trading",
}

__all__ = ["AuditEntry", "BacktestRun", "BacktestTrade", "Base", "ChannelDelivery", "ControlAction", "DailyReport",
           "DriftReport", "Instrument", "JobRun", "KeyValue", "OptimizationStudy", "OptimizationTrial",
           "OutboxMessage", "PaperAccount", "PaperFill", "PaperHolding", "PaperOrder", "Reconciliation",
           "ScreenRun", "SelectionCandidate", "SelectionRun", "TradeAccount", "TradeFill", "TradeOrder",
           "TradePosition", "WatchlistEntry", "all_metadata"]


def __getattr__(name: str) -> Any:
    """A table class, its module imported on first access (PEP 562)."""
    module = TABLES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    table = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = table  # the next access is a plain attribute
    return table


def all_metadata() -> MetaData:
    """`Base.metadata` with every table declared (every model module imported)."""
    for module in sorted(set(TABLES.values())):
        import_module(f"{__name__}.{module}")
    return Base.metadata
