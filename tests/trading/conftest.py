"""Fixtures of the trading-engine tests: a paper broker over a small deterministic market on a frozen clock."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from simkit import at, make_panel

from hantu.clock import FrozenClock


@dataclass
class PaperRig:
    database: Any
    broker: Any
    clock: FrozenClock
    panel: Any

    def restart(self) -> PaperRig:
        """A new broker and database handle over the same storage: what a process restart sees."""
        from hantu.broker.paper import PaperBroker
        from hantu.store.db import Database
        from hantu.trading.feed import PaperFeed

        self.database.dispose()
        database = Database(self.database.url)
        broker = PaperBroker(database, PaperFeed(self.panel), self.clock, params=self.broker.params)
        return PaperRig(database, broker, self.clock, self.panel)


@pytest.fixture
def rig(database) -> PaperRig:  # type: ignore[no-untyped-def]
    from hantu.broker.paper import PaperBroker
    from hantu.trading.feed import PaperFeed

    panel = make_panel()
    clock = FrozenClock(at("09:30"))
    return PaperRig(database, PaperBroker(database, PaperFeed(panel), clock), clock, panel)
