"""The shadow broker (`TRADING_MODE=shadow`): the paper broker — same book tables, same fill model — filling from
live KIS prices (`live.LiveMarket`) instead of the replayed store.

Its book is its own account, `shadow`, both in the paper broker's tables and in the engine's trade tables
(`broker = "shadow"`), so it never mixes with a paper or KIS book in the same database; it can run beside a KIS
session (`SHADOW_STRATEGY`). It places nothing at KIS: prices are all it reads, through `api` (REST quotes, and
the WebSocket the session's feed opens on the same client).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hantu.broker.fill_model import FillParams
from hantu.broker.paper.broker import PaperBroker
from hantu.broker.paper.live import LiveMarket
from hantu.clock import Clock
from hantu.config.settings import DEFAULT_PAPER_STARTING_CASH
from hantu.store.db import Database

if TYPE_CHECKING:
    from hantu.broker.kis.api import KisApi

SHADOW = "shadow"  # the broker name and the paper account of the shadow book


class ShadowBroker(PaperBroker):
    """The paper broker on `market` (live prices from `api`'s KIS quotes and socket)."""

    def __init__(self, database: Database, market: LiveMarket, api: KisApi, clock: Clock,
                 starting_cash: int = DEFAULT_PAPER_STARTING_CASH, params: FillParams | None = None) -> None:
        super().__init__(database, market, clock, account=SHADOW, starting_cash=starting_cash, params=params,
                         name=SHADOW)
        self.market = market
        self.api = api
