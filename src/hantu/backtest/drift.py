"""The drift report's arithmetic: what the session did against what the model (the backtest engine on the same
day, candidates and bars) did, split into causes, in won and basis points. Pure: no database, no store.

Every fill is valued by what it did to the day's P&L, marked to the day's close, costs included:
`sign × (close − price) × quantity − commission − tax` (sign +1 for a buy, −1 for a sell). The day's live P&L and
model P&L are the sums of those over live and model fills; the drift is their difference, and it is split,
stock by stock and side by side (a "line"), into exactly these causes (they add up to the drift):

- `manual`: fills of orders the engine did not place (CLI, API, Telegram, an order found at the broker).
- `signal`: the session traded where the model did not, or the model where the session placed no order at all
  (the data or the decision differed).
- `risk_block`: the model traded where the session's order was refused by the risk manager.
- `missed_fill`: the session's order got fewer shares than the model's (none at all: the whole model trade);
  `extra_fill`: it got more. The unmatched shares are valued at the other side's average.
- `slippage`: each live fill against the **reference** — the fill model's price for that order at the time it
  was sent, on the day's recorded minute bars (`hantu.market.minutes`): the fill at another price than the
  model gives for the same moment. Without minute bars the reference is the model's own average price.
- `latency`: the reference against the model's fill for the matched shares: the same trade, at another moment
  (the session decided or sent later or earlier than the model).

Slippage is also measured in ticks per live fill (positive = worse than the model): the calibration sample of
`hantu backtest --fill-model calibrated`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from hantu.broker.fill_model import Bar, FillParams, limit_fill_price, market_fill_price, trade_costs
from hantu.domain.orders import OrderType, Side
from hantu.market import rules
from hantu.market.minutes import MinuteBars

CAUSES = ("signal", "slippage", "missed_fill", "extra_fill", "latency", "risk_block", "manual")


@dataclass(frozen=True)
class Execution:
    """One fill (live or model), integer won."""

    code: str
    side: str  # buy | sell
    quantity: int
    price: int
    commission: int
    tax: int
    at: datetime

    def contribution(self, close: float) -> float:
        """What this fill did to the day's P&L, marked to `close`, costs included."""
        sign = 1 if self.side == Side.BUY.value else -1
        return sign * (close - self.price) * self.quantity - self.commission - self.tax


@dataclass(frozen=True)
class LiveOrder:
    """One order of the session's day (`trade_orders`) with its recorded fills."""

    code: str
    side: str
    order_type: str  # limit | market
    limit_price: int | None
    quantity: int
    sent_at: datetime | None
    source: str  # engine | cli | api | telegram | reconcile
    fills: tuple[Execution, ...] = ()

    @property
    def by_engine(self) -> bool:
        return self.source == "engine"


Reference = Callable[[LiveOrder], int | None]


@dataclass
class DriftLine:
    """One stock and side of the day (or one manual order)."""

    code: str
    side: str
    kind: str  # engine | manual
    live_quantity: int = 0
    live_price: float | None = None
    live_at: str | None = None
    model_quantity: int = 0
    model_price: float | None = None
    model_at: str | None = None
    reference_price: float | None = None
    live_pnl: float = 0.0
    model_pnl: float = 0.0
    causes: dict[str, float] = field(default_factory=dict)
    latency_seconds: float | None = None

    @property
    def drift(self) -> float:
        return self.live_pnl - self.model_pnl

    @property
    def traded_value(self) -> float:
        return max(self.live_quantity * (self.live_price or 0.0), self.model_quantity * (self.model_price or 0.0))

    def as_dict(self) -> dict[str, Any]:
        value = self.traded_value
        return {"code": self.code, "side": self.side, "kind": self.kind, "live_quantity": self.live_quantity,
                "live_price": _r(self.live_price), "live_at": self.live_at, "model_quantity": self.model_quantity,
                "model_price": _r(self.model_price), "model_at": self.model_at,
                "reference_price": _r(self.reference_price), "live_pnl": _r(self.live_pnl),
                "model_pnl": _r(self.model_pnl), "drift": _r(self.drift),
                "drift_bps": _r(self.drift / value * 10_000) if value else 0.0,
                "causes": {k: _r(v) for k, v in self.causes.items() if v}, "latency_seconds": self.latency_seconds}


@dataclass
class DriftDay:
    day: date
    equity_base: float
    lines: list[DriftLine]
    slippage_ticks: list[dict[str, Any]]

    @property
    def live_pnl(self) -> float:
        return sum(line.live_pnl for line in self.lines)

    @property
    def model_pnl(self) -> float:
        return sum(line.model_pnl for line in self.lines)

    @property
    def drift(self) -> float:
        return self.live_pnl - self.model_pnl

    @property
    def drift_bps(self) -> float:
        return self.drift / self.equity_base * 10_000 if self.equity_base > 0 else 0.0

    def causes(self) -> dict[str, float]:
        """Won per cause for the day (every cause named, zeros included)."""
        return {cause: round(sum(line.causes.get(cause, 0.0) for line in self.lines), 4) for cause in CAUSES}


def _r(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


def _vwap(fills: Iterable[Execution]) -> float | None:
    fills = list(fills)
    quantity = sum(f.quantity for f in fills)
    return sum(f.price * f.quantity for f in fills) / quantity if quantity else None


def _first_at(fills: Iterable[Execution]) -> datetime | None:
    times = [f.at for f in fills]
    return min(times) if times else None


def attribute(day: date, orders: Iterable[LiveOrder], model: Iterable[Execution], closes: Mapping[str, float],
              markets: Mapping[str, str], reference: Reference, params: FillParams, equity_base: float,
              risk_blocked: set[tuple[str, str]] | frozenset[tuple[str, str]] = frozenset()) -> DriftDay:
    """The day's drift, line by line (see the module docstring). `closes`: each traded stock's close of `day`;
    `reference`: the fill model's price for a live order at its send time (None: not known)."""
    orders = list(orders)
    model = list(model)
    lines: list[DriftLine] = []
    ticks: list[dict[str, Any]] = []
    keys = list(dict.fromkeys([(o.code, o.side) for o in orders if o.by_engine] + [(m.code, m.side) for m in model]))
    for code, side in keys:
        close = float(closes[code])
        market = markets.get(code, "KOSPI")
        engine = [o for o in orders if o.by_engine and o.code == code and o.side == side]
        live = [(f, o) for o in engine for f in o.fills]
        fills = [m for m in model if m.code == code and m.side == side]
        line = DriftLine(code, side, "engine")
        line.live_quantity = sum(f.quantity for f, _ in live)
        line.live_price = _vwap(f for f, _ in live)
        line.model_quantity = sum(m.quantity for m in fills)
        line.model_price = _vwap(fills)
        live_at = min((o.sent_at for o in engine if o.sent_at is not None), default=None)
        model_at = _first_at(fills)
        line.live_at = live_at.isoformat() if live_at else None
        line.model_at = model_at.isoformat() if model_at else None
        if live_at is not None and model_at is not None:
            line.latency_seconds = round((live_at - model_at).total_seconds(), 3)
        line.live_pnl = sum(f.contribution(close) for f, _ in live)
        line.model_pnl = sum(m.contribution(close) for m in fills)
        causes = {cause: 0.0 for cause in CAUSES}
        if not fills:
            causes["signal"] = line.live_pnl  # the session traded, the model did not
        elif not live:
            cause = "missed_fill" if engine else "risk_block" if (code, side) in risk_blocked else "signal"
            causes[cause] = -line.model_pnl
        else:
            expected_pnl = 0.0
            references: list[tuple[int, int]] = []
            for fill, order in live:
                ref = reference(order)
                at = ref if ref is not None else round(line.model_price or fill.price)
                references.append((at, fill.quantity))
                costs = trade_costs(Side(side), fill.quantity, at, day, market, params)
                expected_pnl += Execution(code, side, fill.quantity, at, costs.commission, costs.tax,
                                          fill.at).contribution(close)
                if ref is not None:
                    sign = 1 if side == Side.BUY.value else -1
                    ticks.append({"code": code, "side": side, "order_type": order.order_type,
                                  "quantity": fill.quantity,
                                  "ticks": round(sign * (fill.price - ref) / rules.tick_size(ref, day, market), 3)})
            line.reference_price = sum(p * q for p, q in references) / sum(q for _, q in references)
            causes["slippage"] = line.live_pnl - expected_pnl
            if line.live_quantity >= line.model_quantity:
                share = line.model_quantity / line.live_quantity
                causes["latency"] = expected_pnl * share - line.model_pnl
                causes["extra_fill"] = expected_pnl * (1 - share)
            else:
                share = line.live_quantity / line.model_quantity
                causes["latency"] = expected_pnl - line.model_pnl * share
                causes["missed_fill"] = -line.model_pnl * (1 - share)
        line.causes = causes
        lines.append(line)
    for order in orders:
        if order.by_engine or not order.fills:
            continue
        line = DriftLine(order.code, order.side, "manual")
        line.live_quantity = sum(f.quantity for f in order.fills)
        line.live_price = _vwap(order.fills)
        line.live_at = order.sent_at.isoformat() if order.sent_at else None
        line.live_pnl = sum(f.contribution(float(closes[order.code])) for f in order.fills)
        line.causes = {cause: 0.0 for cause in CAUSES} | {"manual": line.live_pnl}
        lines.append(line)
    return DriftDay(day, equity_base, lines, ticks)


def minute_reference(day: date, bars: Mapping[str, MinuteBars], markets: Mapping[str, str],
                     params: FillParams) -> Reference:
    """The fill model's price for a live order on the recorded minute bars: from the minute it was sent in
    (a market order: that minute's open plus the model's slippage, inside the day's traded range; a limit order:
    the first minute from then that reaches its limit). None without bars for the stock or a send time."""

    def reference(order: LiveOrder) -> int | None:
        stock = bars.get(order.code)
        if stock is None or len(stock) == 0 or order.sent_at is None:
            return None
        sent = order.sent_at
        minute = sent.hour * 60 + sent.minute
        market = markets.get(order.code, "KOSPI")
        side = Side(order.side)
        traded = (int(stock.low.min()), int(stock.high.max()))
        for i in range(len(stock)):
            if int(stock.minute[i]) < minute:
                continue
            bar = Bar(int(stock.open[i]), int(stock.high[i]), int(stock.low[i]), int(stock.close[i]),
                      int(stock.volume[i]))
            if OrderType(order.order_type) is OrderType.MARKET:
                price = market_fill_price(side, bar, day, market, params, traded_range=traded)
            else:
                price = limit_fill_price(side, int(order.limit_price or 0), bar)
            if price is not None:
                return price
        return None

    return reference
