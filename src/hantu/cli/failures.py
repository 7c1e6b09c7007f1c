"""Failures every command can meet, each as one clear message and its exit status (`hantu.exitcodes`).

A bad file must not end in a traceback: the user needs to know which file, what is wrong with it, that
nothing was changed, and what to do. Anything not listed here is a bug and keeps its traceback.
"""

from __future__ import annotations

from dataclasses import dataclass

from hantu import exitcodes


@dataclass(frozen=True)
class Failure:
    code: int
    message: str


def known_failure(error: BaseException) -> Failure | None:
    """The exit status and message for `error`, or None when it is not a known failure."""
    from hantu.config import ConfigurationError, RealMoneyNotConfirmed

    if isinstance(error, ConfigurationError | RealMoneyNotConfirmed):
        return Failure(exitcodes.CONFIG, str(error))
    from hantu.market.store import MarketStoreCorrupt

    if isinstance(error, MarketStoreCorrupt):
        return Failure(exitcodes.MARKET_STORE_CORRUPT, str(error))
    from hantu.store.db import damage_of

    damage = damage_of(error, _database_url())
    if damage is not None:
        return Failure(exitcodes.DATABASE_CORRUPT, str(damage))
    return None


def _database_url() -> str | None:
    """The configured database's URL (to name a damaged file), None when the configuration cannot say."""
    from hantu.config import get_settings

    try:
        return get_settings().resolved_database_url
    except Exception:
        return None
