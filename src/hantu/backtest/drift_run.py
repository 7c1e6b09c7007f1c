"""The nightly drift report end to end: the session's day from the trade tables, the model's day from the backtest
engine (same strategy, the day's stored candidates, the account as it stood at the open, the day's bars and the
minute bars the session saw), the attribution (`hantu.backtest.drift`), one stored row per (day, broker), the
Telegram summary and — beyond the user's threshold (`DRIFT_ALERT_BPS`) — an alert, all in one transaction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hantu.backtest.daypath import RecordedMinutes
from hantu.backtest.drift import Execution, LiveOrder, attribute, minute_reference
from hantu.backtest.engine import BacktestConfig, BacktestEngine, _Position
from hantu.backtest.result import Trade
from hantu.backtest.single import MarketData
from hantu.broker.fill_model import cash_flow
from hantu.market.instruments import market_or_default
from hantu.market.minutes import MinuteBars
from hantu.notify.outbox import enqueue
from hantu.store.db import Database
from hantu.store.models import DriftReport, TradeFill, TradeOrder, TradePosition
from hantu.strategy.base import Candidate, Strategy
from hantu.trading import ledger
from hantu.trading.blocks import blocked_on
from hantu.trading.exits import has_exit_rule


class DriftDataMissing(RuntimeError):
    """The market store lacks the day's bars (or the stocks traded): no report rather than a wrong one."""


@dataclass(frozen=True)
class Held:
    """A position as it stood at the day's open (what the model starts the day with)."""

    code: str
    quantity: int
    avg_price: float
    entry_date: date
    stop_price: int | None = None
    target_price: int | None = None
    high_since_entry: float = 0.0
    atr: float = 0.0


@dataclass(frozen=True)
class LiveDay:
    """The session's day: its orders with their fills, the account at the open, the refused orders."""

    orders: list[LiveOrder]
    start_cash: int
    holdings: list[Held]
    risk_blocked: set[tuple[str, str]]


def live_day(session: Session, broker: str, day: date) -> LiveDay:
    """The day as the trade tables (written by `trading.book.OrderBook`) hold it; the account at the open is the
    current one with the day's fills taken back out."""
    orders = list(session.scalars(select(TradeOrder).where(TradeOrder.broker == broker,
                                                           TradeOrder.trading_date == day).order_by(TradeOrder.id)))
    fills = list(session.scalars(select(TradeFill).where(TradeFill.broker == broker, TradeFill.trading_date == day)
                                 .order_by(TradeFill.id)))
    by_order: dict[int | None, list[TradeFill]] = {}
    for fill in fills:
        by_order.setdefault(fill.order_id, []).append(fill)
    live = [LiveOrder(o.code, o.side, o.order_type, o.limit_price, o.quantity, o.sent_at, o.source,
                      tuple(_execution(f) for f in by_order.get(o.id, [])))
            for o in orders]
    unknown = [f for f in by_order.get(None, [])]  # fills of no known order: somebody else's (manual)
    live += [LiveOrder(f.code, f.side, "market", None, f.quantity, f.filled_at, "reconcile", (_execution(f),))
             for f in unknown]
    account = ledger.get_account(session, broker)
    cash = account.cash if account is not None else 0
    start_cash = cash - sum(cash_flow(f.side, f.quantity, f.price, f.commission, f.tax, f.amount) for f in fills)
    quantities = {p.code: p.quantity for p in ledger.positions(session, broker)}
    for fill in fills:
        quantities[fill.code] = quantities.get(fill.code, 0) + (-fill.quantity if fill.side == "buy"
                                                                else fill.quantity)
    rows = {p.code: p for p in session.scalars(select(TradePosition).where(TradePosition.broker == broker))}
    holdings = []
    for code, quantity in sorted(quantities.items()):
        if quantity <= 0:
            continue
        row = rows.get(code)
        avg = row.avg_price if row is not None and row.avg_price else _sold_price(fills, code)
        holdings.append(Held(code, quantity, avg, row.entry_date if row is not None and row.entry_date < day
                             else day, row.stop_price if row else None, row.target_price if row else None,
                             row.high_since_entry if row else avg, row.atr if row else 0.0))
    return LiveDay(live, int(start_cash), holdings, blocked_on(session, day))


def _sold_price(fills: Sequence[TradeFill], code: str) -> float:
    sold = [f for f in fills if f.code == code]
    return float(sold[0].price) if sold else 0.0


def _execution(fill: TradeFill) -> Execution:
    return Execution(fill.code, fill.side, fill.quantity, fill.price, fill.commission, fill.tax, fill.filled_at)


# --- the model's day ------------------------------------------------------------------------------------


class _StoredCandidates:
    """The screen source of a one-day replay: the day's stored candidates, chosen after the day before."""

    def __init__(self, row: int, candidates: Sequence[Candidate]) -> None:
        self.row = row
        self.candidates = list(candidates)

    def candidates_after(self, row: int) -> list[Candidate]:
        return list(self.candidates) if row == self.row else []

    def close(self) -> None:
        """Nothing to release."""


class _DayEngine(BacktestEngine):
    """The backtest engine for one day, starting from the account's positions at the open."""

    def __init__(self, *args: Any, holdings: Sequence[Held] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._seed = list(holdings)
        # as the live session does: ask `exit_reason` along the path (a daily-signal shortcut would need the
        # strategy screened in this process)
        self._open_exits = None

    def _trade_day(self, row: int, candidates: list[Candidate]) -> None:
        seed, self._seed = self._seed, []
        for held in seed:
            col = self._columns.get(held.code)
            if col is None:
                raise DriftDataMissing(f"{held.code} (held at the open) is not in the market store")
            trade = Trade(code=held.code, name=str(self.panel.names[col]), entry_date=held.entry_date,
                          entry_row=row, quantity=held.quantity, entry_cost=round(held.avg_price * held.quantity))
            self.trades.append(trade)
            position = self.positions[col] = _Position(
                code=held.code, col=col, market=self._markets[col], quantity=held.quantity,
                cost=trade.entry_cost, entry_date=held.entry_date, stop_price=held.stop_price,
                target_price=held.target_price, high_since_entry=held.high_since_entry or held.avg_price,
                atr=held.atr, trade=trade)
            position.risk_rule = has_exit_rule(position.held(), self.config.risk)
            self._quantity[col] = held.quantity
            self._high[col] = position.high_since_entry
        super()._trade_day(row, candidates)


def replay_day(strategy: Strategy, market: MarketData, day: date, candidates: Sequence[Candidate],
               start_cash: int, holdings: Sequence[Held], config: BacktestConfig) -> list[Execution]:
    """The model's fills of `day`: the backtest engine on the stored candidates, from the account at the open."""
    panel = market.panel
    try:
        row = panel.row(day)
    except (KeyError, ValueError, IndexError):
        raise DriftDataMissing(f"the market store has no bars for {day}: the drift report waits for them "
                               "(the next data_sync)") from None
    cash_config = BacktestConfig(initial_cash=max(int(start_cash), 0), risk=config.risk, fill=config.fill)
    engine = _DayEngine(strategy, panel, cash_config, screens=_StoredCandidates(row - 1, candidates),
                        minutes=market.minutes, holdings=holdings)
    outcome = engine.run(day, day)
    return [Execution(f.code, f.side, f.quantity, f.price, f.commission, f.tax, f.at)
            for f in outcome.fills if f.day == day]


# --- the report ---------------------------------------------------------------------------------------


def _closes(market: MarketData, day: date, codes: set[str]) -> dict[str, float]:
    panel = market.panel
    row = panel.row(day)
    out: dict[str, float] = {}
    for code in codes:
        try:
            value = float(panel.close[row, panel.column(code)])
        except (KeyError, ValueError):
            raise DriftDataMissing(f"{code} is not in the market store") from None
        if not math.isfinite(value):
            back = panel.close[: row + 1, panel.column(code)]
            known = back[~_isnan(back)]
            if known.size == 0:
                raise DriftDataMissing(f"{code} has no close up to {day}")
            value = float(known[-1])
        out[code] = value
    return out


def _isnan(values: Any) -> Any:
    import numpy as np

    return np.isnan(values)


def _minute_bars(minutes: RecordedMinutes | None, day: date, codes: set[str]) -> dict[str, MinuteBars]:
    if minutes is None or not minutes:
        return {}
    found = {code: minutes.store.read(day, [code]).get(code) for code in codes}
    return {code: bars for code, bars in found.items() if bars is not None}


def build_report(session: Session, broker: str, day: date, strategy: Strategy, market: MarketData,
                 candidates: Sequence[Candidate], config: BacktestConfig) -> Any:
    """The day's `DriftDay` (not stored)."""
    live = live_day(session, broker, day)
    model = replay_day(strategy, market, day, candidates, live.start_cash, live.holdings, config)
    codes = {o.code for o in live.orders} | {m.code for m in model} | {h.code for h in live.holdings}
    closes = _closes(market, day, codes)
    panel = market.panel
    markets = {code: market_or_default(str(panel.markets[panel.column(code)])) for code in codes}
    before = panel.close[max(panel.row(day) - 1, 0)]
    equity = live.start_cash + sum(h.quantity * _finite(before[panel.column(h.code)], h.avg_price)
                                   for h in live.holdings)
    reference = minute_reference(day, _minute_bars(market.minutes, day, codes), markets, config.fill)
    return attribute(day, live.orders, model, closes, markets, reference, config.fill, float(equity),
                     live.risk_blocked)


def _finite(value: Any, fallback: float) -> float:
    value = float(value)
    return value if math.isfinite(value) else fallback


def store_report(session: Session, broker: str, strategy: str, report: Any, now: datetime,
                 alert_bps: float | None) -> DriftReport:
    """Replace the day's row; queue the summary, and the alert when |drift| exceeds `alert_bps` (None: never)."""
    session.execute(delete(DriftReport).where(DriftReport.trading_date == report.day, DriftReport.broker == broker))
    alerted = alert_bps is not None and abs(report.drift_bps) > alert_bps
    row = DriftReport(trading_date=report.day, broker=broker, strategy=strategy, created_at=now,
                      equity_base=round(report.equity_base, 2), live_pnl=round(report.live_pnl, 4),
                      model_pnl=round(report.model_pnl, 4), drift=round(report.drift, 4),
                      drift_bps=round(report.drift_bps, 4), causes=report.causes(),
                      trades=[line.as_dict() for line in report.lines], slippage_ticks=report.slippage_ticks,
                      alerted=alerted)
    session.add(row)
    session.flush()
    data = row.summary()
    enqueue(session, "drift_report", data, dedupe_key=f"drift_report:{report.day}:{broker}", now=now)
    if alerted:
        enqueue(session, "drift_alert", {**data, "threshold_bps": alert_bps}, "high",
                dedupe_key=f"drift_alert:{report.day}:{broker}", now=now)
    return row


def run_drift(database: Database, broker: str, day: date, strategy: Strategy, market: MarketData,
              candidates: Sequence[Candidate], config: BacktestConfig, now: datetime,
              alert_bps: float | None) -> dict[str, Any]:
    """Build and store the day's report in one transaction; the stored figures."""
    with database.session() as session:
        report = build_report(session, broker, day, strategy, market, candidates, config)
        row = store_report(session, broker, strategy.name, report, now, alert_bps)
        return row.summary()
