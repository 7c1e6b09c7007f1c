"""The in-process paper broker (see `broker.py`)."""

from hantu.broker.paper.broker import DEFAULT_STARTING_CASH, PaperBroker

__all__ = ["DEFAULT_STARTING_CASH", "PaperBroker"]
