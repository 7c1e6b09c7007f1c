"""What a backtest produces: its fills, its round-trip trades, its daily curves and its figures."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

import numpy as np

from hantu.broker.fill_model import cash_flow


class FillRecord(NamedTuple):
    """One executed fill, with the same integer won costs the paper broker would charge.

    A named tuple, not a frozen dataclass: a run makes one per fill (122k in the SMA cross of bench/peers.py),
    and a tuple is made in a third of the time a frozen dataclass's `object.__setattr__` per field takes."""

    day: date
    at: datetime
    code: str
    side: str  # buy | sell
    quantity: int
    price: int
    commission: int
    tax: int
    reason: str = ""

    @property
    def amount(self) -> int:
        return self.quantity * self.price

    @property
    def cash_flow(self) -> int:
        """Change of cash: a buy pays amount + commission, a sell receives amount − commission − tax."""
        return cash_flow(self.side, self.quantity, self.price, self.commission, self.tax)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (dates as ISO text): every field, named as the dataclass names them."""
        return {"day": self.day.isoformat(), "at": self.at.isoformat(), "code": self.code, "side": self.side,
                "quantity": self.quantity, "price": self.price, "commission": self.commission, "tax": self.tax,
                "reason": self.reason}


@dataclass(slots=True)
class Trade:
    """One round trip: every buy fill of a position until it is flat again."""

    code: str
    name: str
    entry_date: date
    entry_row: int
    quantity: int = 0  # shares bought
    entry_cost: int = 0  # won paid for the shares (without costs)
    exit_quantity: int = 0
    exit_proceeds: int = 0  # won received for the shares sold (without costs)
    fees: int = 0
    taxes: int = 0
    exit_date: date | None = None
    exit_row: int | None = None
    exit_reason: str | None = None
    mark_price: float | None = None  # last close, for a trade still open at the end

    @property
    def closed(self) -> bool:
        return self.exit_date is not None

    @property
    def entry_price(self) -> float:
        return self.entry_cost / self.quantity if self.quantity else 0.0

    @property
    def exit_price(self) -> float | None:
        return self.exit_proceeds / self.exit_quantity if self.exit_quantity and self.closed else None

    @property
    def holding_days(self) -> int:
        """Trading days from the entry day to the exit day (or to the end, while open)."""
        return (self.exit_row if self.exit_row is not None else self._end_row) - self.entry_row

    _end_row: int = 0

    @property
    def pnl(self) -> float:
        """Net result in won after fees and taxes; an open trade is marked at its last close."""
        held = self.quantity - self.exit_quantity
        marked = held * (self.mark_price or 0.0) if held else 0.0
        return self.exit_proceeds + marked - self.entry_cost - self.fees - self.taxes

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code, "name": self.name, "quantity": self.quantity,
            "entry_date": self.entry_date.isoformat(), "entry_price": self.entry_price,
            "exit_date": self.exit_date.isoformat() if self.exit_date else None,
            "exit_price": self.exit_price, "exit_reason": self.exit_reason,
            "fees": self.fees, "taxes": self.taxes, "pnl": self.pnl, "holding_days": self.holding_days,
            "closed": self.closed, "mark_price": self.mark_price,
        }


@dataclass
class BacktestOutcome:
    """The engine's output for one run, before it is stored."""

    strategy: str
    params: dict[str, Any]
    start: date
    end: date
    initial_cash: int
    stocks: int
    dates: list[date]
    equity: np.ndarray  # (days,) cash + holdings at the close
    cash: np.ndarray
    holdings_value: np.ndarray
    benchmark: np.ndarray  # equal-weight index scaled to initial_cash
    fills: list[FillRecord]
    trades: list[Trade]
    metrics: dict[str, Any] = field(default_factory=dict)
    benchmark_metrics: dict[str, Any] = field(default_factory=dict)
    monthly: dict[str, float] = field(default_factory=dict)
    elapsed_s: float = 0.0
    warnings: list[str] = field(default_factory=list)  # e.g. a gap in the data the run was allowed to span
    markets: dict[str, np.ndarray] = field(default_factory=dict)  # cap-weighted KOSPI / KOSDAQ, scaled to cash
    benchmark_gap_days: list[date] = field(default_factory=list)  # days whose benchmark return is 0 (gap before)

    @property
    def final_equity(self) -> float:
        return float(self.equity[-1]) if len(self.equity) else float(self.initial_cash)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the report: figures, curves, trades and fills."""
        return {
            "strategy": self.strategy, "params": self.params,
            "start": self.start.isoformat(), "end": self.end.isoformat(),
            "initial_cash": self.initial_cash, "stocks": self.stocks, "final_equity": self.final_equity,
            "metrics": self.metrics, "benchmark_metrics": self.benchmark_metrics, "monthly_returns": self.monthly,
            "curve": {
                "dates": [d.isoformat() for d in self.dates],
                "equity": [float(x) for x in self.equity], "cash": [float(x) for x in self.cash],
                "holdings": [float(x) for x in self.holdings_value],
                "benchmark": [float(x) for x in self.benchmark],
                "market": {name: [float(x) for x in values] for name, values in self.markets.items()},
            },
            "benchmark_gap_days": [d.isoformat() for d in self.benchmark_gap_days],
            "trades": [t.to_dict() for t in self.trades],
            "fills": [f.to_dict() for f in self.fills],
            "elapsed_s": self.elapsed_s, "warnings": list(self.warnings),
        }
