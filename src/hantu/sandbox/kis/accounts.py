"""Sandbox accounts: app key/secret, server (real or virtual), account number, cash and holdings."""

from __future__ import annotations

import secrets
import string
import threading
from dataclasses import dataclass, field
from datetime import date
from typing import Any


@dataclass
class Position:
    quantity: int = 0
    avg_price: float = 0.0
    reserved: int = 0  # shares held by open sell orders
    sold_out_on: date | None = None  # KIS keeps a sold-out row (qty 0) until D+2

    @property
    def orderable(self) -> int:
        return self.quantity - self.reserved


@dataclass
class Account:
    app_key: str
    app_secret: str
    server: str  # "prod" | "virtual"
    cano: str
    product_code: str = "01"
    hts_id: str = ""
    cash: int = 0
    reserved_cash: int = 0  # held by open buy orders
    positions: dict[str, Position] = field(default_factory=dict)
    rate_limit: float | None = None  # overrides the server's per-mode limit for this key
    name: str = "샌드박스"
    flows: dict[date, int] = field(default_factory=dict)  # net cash of each day's executions (they settle T+2)

    @property
    def account_number(self) -> str:
        return self.cano + self.product_code

    @property
    def orderable_cash(self) -> int:
        return self.cash - self.reserved_cash

    @property
    def is_virtual(self) -> bool:
        return self.server == "virtual"

    def record_flow(self, day: date, amount: int) -> None:
        self.flows[day] = self.flows.get(day, 0) + amount

    def deposit_on(self, day: date) -> int:
        """The deposit (예수금) as of `day`: `cash` without the executions that have not settled by then.
        KIS reports it for today (`dnca_tot_amt`), tomorrow (`nxdy_excc_amt`) and D+2 (`prvs_rcdl_excc_amt`,
        which holds every execution so far and equals `cash`)."""
        from hantu.market.calendar import settlement_day

        return self.cash - sum(amount for traded, amount in self.flows.items() if settlement_day(traded) > day)

    def position(self, code: str) -> Position:
        return self.positions.setdefault(code, Position())

    def public(self) -> dict[str, Any]:
        """What the control API shows (the sandbox's keys are not secrets)."""
        return {
            "app_key": self.app_key, "app_secret": self.app_secret, "server": self.server, "cano": self.cano,
            "product_code": self.product_code, "account": f"{self.cano}-{self.product_code}",
            "hts_id": self.hts_id, "cash": self.cash, "reserved_cash": self.reserved_cash,
            "orderable_cash": self.orderable_cash, "rate_limit": self.rate_limit,
            "holdings": {code: {"quantity": p.quantity, "avg_price": p.avg_price, "reserved": p.reserved}
                         for code, p in sorted(self.positions.items()) if p.quantity > 0},
        }


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


class AccountBook:
    """Accounts by app key and by account number."""

    def __init__(self) -> None:
        self._by_key: dict[str, Account] = {}
        self._lock = threading.Lock()
        self._next_cano = 50000001

    def create(self, server: str = "virtual", cash: int = 10_000_000, *, app_key: str | None = None,
               app_secret: str | None = None, account: str | None = None, hts_id: str | None = None,
               holdings: dict[str, Any] | None = None, rate_limit: float | None = None) -> Account:
        if server not in ("prod", "virtual"):
            raise ValueError("server must be prod or virtual")
        with self._lock:
            key = app_key or "PS" + _random(string.ascii_letters + string.digits, 34)  # 36 chars like KIS
            if key in self._by_key:
                raise ValueError("an account with this app key exists")
            if account:
                digits = account.replace("-", "")
                if len(digits) != 10 or not digits.isdigit():
                    raise ValueError("account must be 8 + 2 digits")
                cano, product = digits[:8], digits[8:]
            else:
                cano, product = str(self._next_cano), "01"
                self._next_cano += 1
            acct = Account(app_key=key, app_secret=app_secret or _random(string.ascii_letters + string.digits + "/+", 180),
                           server=server, cano=cano, product_code=product,
                           hts_id=hts_id or "sbx" + _random(string.ascii_lowercase + string.digits, 6),
                           cash=int(cash), rate_limit=rate_limit)
            for code, spec in (holdings or {}).items():
                qty, avg = (spec, 0.0) if isinstance(spec, int | float) else (spec["quantity"], spec.get("avg_price", 0.0))
                acct.positions[str(code)] = Position(quantity=int(qty), avg_price=float(avg))
            self._by_key[key] = acct
            return acct

    def by_key(self, app_key: str) -> Account | None:
        return self._by_key.get(app_key)

    def by_account(self, cano: str, product_code: str | None = None) -> Account | None:
        for acct in self._by_key.values():
            if acct.cano == cano and (product_code is None or acct.product_code == product_code):
                return acct
        return None

    def by_hts_id(self, hts_id: str) -> list[Account]:
        return [a for a in self._by_key.values() if a.hts_id == hts_id]

    def all(self) -> list[Account]:
        return list(self._by_key.values())
