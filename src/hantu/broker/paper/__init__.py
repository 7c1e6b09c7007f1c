"""The in-process paper broker (see `broker.py`)."""

from hantu.broker.paper.broker import PaperBroker

__all__ = ["PaperBroker"]
