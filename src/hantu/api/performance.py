"""The account's equity curve, derived from what is recorded: the account base, every fill, daily closes.

No process has to remember to write snapshots: equity at the end of day D is the cash after D's fills plus the
holdings after D's fills at D's close (the last known close, else cost). Fills inside the account base
(`in_base`) are unwound first, so the curve starts before the base snapshot. When the first day of the curve
already has fills (an account first seen on the morning of its first trading day), the curve starts one trading
day earlier at that unwound base, the starting cash, so the first day's P&L and the return are measured against it.

The cash effect of a fill is `hantu.broker.fill_model.cash_flow`, the one definition the ledger also uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hantu.api.closes import ClosesReader
from hantu.broker.fill_model import cash_flow
from hantu.market.calendar import previous_trading_day
from hantu.store.models import TradeAccount, TradeFill


def _flow(fill: TradeFill) -> int:
    """A recorded fill's cash effect; `amount` (the exact traded value) when the table has it."""
    return cash_flow(fill.side, fill.quantity, fill.price, fill.commission, fill.tax,
                          getattr(fill, "amount", None))


def _traded_price(fill: TradeFill) -> float:
    amount = getattr(fill, "amount", None)
    return amount / fill.quantity if amount and fill.quantity else float(fill.price)


@dataclass(frozen=True)
class EquityPoint:
    day: date
    equity: float
    cash: float


_readers: dict[str, ClosesReader] = {}


def closes_reader(market_root: Path) -> ClosesReader:
    key = str(market_root)
    if key not in _readers:
        _readers[key] = ClosesReader(market_root)
    return _readers[key]


_history_cache: dict[tuple[object, ...], list[EquityPoint]] = {}


def equity_history(session: Session, broker: str, reader: ClosesReader, until: date) -> list[EquityPoint]:
    """The curve up to `until`; recomputed only when a fill, the account base or a market block changed."""
    account = session.get(TradeAccount, broker)
    if account is None:
        return []
    count, last_id = session.execute(select(func.count(TradeFill.id), func.max(TradeFill.id))
                                     .where(TradeFill.broker == broker)).one()
    key = (str(session.get_bind().url), broker, until, count, last_id, account.base_at, account.base_cash,
           reader.fingerprint())
    cached = _history_cache.get(key)
    if cached is None:
        cached = _compute_history(session, account, broker, reader, until)
        if len(_history_cache) > 16:
            _history_cache.clear()
        _history_cache[key] = cached
    return cached


def _compute_history(session: Session, account: TradeAccount, broker: str, reader: ClosesReader,
                     until: date) -> list[EquityPoint]:
    fills = list(session.scalars(select(TradeFill).where(TradeFill.broker == broker)
                                 .order_by(TradeFill.filled_at, TradeFill.id)))
    cash = float(account.base_cash)
    holdings: dict[str, int] = {code: int(v[0]) for code, v in (account.base_positions or {}).items()}
    cost: dict[str, float] = {code: float(v[1]) for code, v in (account.base_positions or {}).items()}
    for fill in fills:  # unwind the fills the base already contains
        if fill.in_base:
            cash -= _flow(fill)
            holdings[fill.code] = holdings.get(fill.code, 0) - (fill.quantity if fill.side == "buy"
                                                                else -fill.quantity)
    first = min([account.base_at.date(), *(f.trading_date for f in fills)])
    codes = sorted({*holdings, *(f.code for f in fills)})
    start = previous_trading_day(first)
    closes = reader.closes(codes, since=start) if codes else {}
    days = sorted({d for d in closes if first <= d <= until} | {f.trading_date for f in fills if f.trading_date <= until}
                  | {account.base_at.date()})
    by_day: dict[date, list[TradeFill]] = {}
    for fill in fills:
        by_day.setdefault(fill.trading_date, []).append(fill)
    last_close: dict[str, float] = {}
    points = []
    if days and days[0] in by_day and start <= until:  # the base itself, before the first day's fills
        last_close.update({code: float(v) for code, v in closes.get(start, {}).items()})
        value = sum(q * last_close.get(code, cost.get(code, 0.0)) for code, q in holdings.items() if q)
        points.append(EquityPoint(start, cash + value, cash))
    for day in days:
        for fill in by_day.get(day, []):
            cash += _flow(fill)
            signed = fill.quantity if fill.side == "buy" else -fill.quantity
            held = holdings.get(fill.code, 0)
            if signed > 0:  # a buy moves the average cost (from a flat or short book, it sets it)
                cost[fill.code] = ((cost.get(fill.code, 0.0) * held + _traded_price(fill) * signed) / (held + signed)
                                   if held > 0 else _traded_price(fill))
            holdings[fill.code] = held + signed
            last_close.setdefault(fill.code, _traded_price(fill))
        last_close.update({code: float(v) for code, v in closes.get(day, {}).items()})
        value = sum(q * last_close.get(code, cost.get(code, 0.0)) for code, q in holdings.items() if q)
        points.append(EquityPoint(day, cash + value, cash))
    return points


@dataclass(frozen=True)
class CurveFigures:
    points: list[tuple[date, float, float, float]]  # day, equity, pnl vs previous day, drawdown (0..1)
    total_return: float | None
    max_drawdown: float | None


def curve_figures(history: list[EquityPoint]) -> CurveFigures:
    peak = 0.0
    out = []
    previous: float | None = None
    worst = 0.0
    for point in history:
        peak = max(peak, point.equity)
        drawdown = (peak - point.equity) / peak if peak > 0 else 0.0
        worst = max(worst, drawdown)
        out.append((point.day, point.equity, 0.0 if previous is None else point.equity - previous, drawdown))
        previous = point.equity
    if not history:
        return CurveFigures([], None, None)
    first = history[0].equity
    return CurveFigures(out, (history[-1].equity / first - 1) if first > 0 else None, worst)
