"""The real-money opt-in (quality bar S5), checked by one function with one error type.

Orders reach a real KIS account only with `SERVER=prod` *and* `REAL_TRADING_ENABLED=true`. Every path that could
trade one asks `require_real_money_opt_in`: the broker factory, `KisBroker` itself (so no broker on a prod account
exists without the opt-in, however it was built), the scheduler at start-up and its trading jobs (through the
factory), and `hantu config check`, which reports the same error as a finding.
"""

from __future__ import annotations

OPT_IN_KEY = "REAL_TRADING_ENABLED"


class RealMoneyNotConfirmed(Exception):
    """A real (prod) KIS account was asked for without the explicit real-money opt-in."""

    key = OPT_IN_KEY


def require_real_money_opt_in(server: str, real_trading_enabled: bool) -> None:
    """Raise `RealMoneyNotConfirmed` for a KIS account on `server` "prod" unless real trading is enabled."""
    if server == "prod" and not real_trading_enabled:
        raise RealMoneyNotConfirmed(f"SERVER=prod trades real money: set {OPT_IN_KEY}=true to opt in, "
                                    "or use SERVER=virtual")
