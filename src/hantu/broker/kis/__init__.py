"""The KIS (한국투자증권) Open API client: `KisConfig` → `KisClient` (transport) → `KisApi` (typed endpoints)
→ `KisBroker` (the `Broker` protocol); `KisWebSocket` for real-time prices and fill notices.

Imports are lazy so that `import hantu.broker.kis` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hantu.broker.kis.api import KisApi
    from hantu.broker.kis.broker import KisBroker
    from hantu.broker.kis.client import KisClient
    from hantu.broker.kis.config import KisConfig
    from hantu.broker.kis.websocket import KisWebSocket

__all__ = ["KisApi", "KisBroker", "KisClient", "KisConfig", "KisWebSocket"]

_WHERE = {"KisApi": "api", "KisBroker": "broker", "KisClient": "client", "KisConfig": "config",
          "KisWebSocket": "websocket"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(f"hantu.broker.kis.{_WHERE[name]}"), name)
    raise AttributeError(name)
