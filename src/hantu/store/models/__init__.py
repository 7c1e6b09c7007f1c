"""Every table, imported in one place so that Alembic and the schema test see the whole metadata.

Each area keeps its tables in its own module here and adds one import line below.
"""

from hantu.store.base import Base
from hantu.store.models.backtest import BacktestRun, BacktestTrade
from hantu.store.models.core import AuditEntry, Instrument, JobRun, KeyValue
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

__all__ = ["AuditEntry", "BacktestRun", "BacktestTrade", "Base", "ChannelDelivery", "DailyReport", "Instrument", "JobRun", "KeyValue", "OptimizationStudy", "OptimizationTrial", "OutboxMessage", "PaperAccount", "PaperFill",
           "PaperHolding", "PaperOrder", "Reconciliation", "ScreenRun", "SelectionCandidate", "SelectionRun", "TradeAccount", "TradeFill", "TradeOrder",
           "TradePosition", "WatchlistEntry"]
