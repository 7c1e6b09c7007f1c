"""The daily backtest engine: the live strategy's own screening, selection, entry and exit code, replayed day
by day with the paper broker's fill model (`hantu.broker.fill_model`: fills, slippage, volume share, fees,
taxes, ticks).

The timeline of one trading day `t`, as in live trading:
1. the candidates were selected after the close of `t-1` from data up to `t-1` only;
2. during `t`, each held stock and each candidate walks its day path (`daypath.DayPath`): the strategy's
   `exit_reason` and `on_price` are asked at the open, the day's extremes and the close, and where they fire in
   between, at the crossing point; orders fill through the fill model on the rest of the day's bar;
   events of all stocks are processed in time order, so cash and position limits see the real sequence;
   a stock-day with recorded minute bars (`minutes`, see `daypath.RecordedMinutes`) walks those bars instead
   of the synthetic path, and the outcome's `metrics["intraday"]` counts the stock-days of each kind;
   the market orders at the open of a day without minute bars are priced for all their stocks at once from the
   day's bars (`_sell_at_open`, `_buy_at_open`: the fill model's array form, then the cash and limit checks
   one order at a time in event order; the same fills as one by one, tests/backtest/test_open_batch.py);
3. after the close, positions are marked, equity recorded, and the strategy screens and selects for `t+1`
   from `panel` rows up to `t` (views, no copies: nothing after `t` is reachable).

After a gap in the data (`DailyPanel.segment_starts`) the first day trades no candidate chosen before the gap;
the report's warnings say so (`gaps.segment_warnings`).
"""

from __future__ import annotations

import heapq
import math
import time as _time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache, partial
from typing import Any, assert_never

import numpy as np

from hantu.backtest.benchmark import benchmarks
from hantu.backtest.collector import fewer_collections
from hantu.backtest.daypath import DayPath, RecordedMinutes
from hantu.backtest.gaps import segment_warnings
from hantu.backtest.metrics import compute_metrics, monthly_returns, return_figures
from hantu.backtest.result import BacktestOutcome, FillRecord, Trade
from hantu.backtest.screens import ScreenSource, screen_source_for
from hantu.broker.fill_model import (
    Bar,
    FillParams,
    buy_cash_needed,
    cash_flow,
    market_fill_prices,
    match,
    trade_costs,
)
from hantu.clock import KST
from hantu.domain.orders import OrderType, Side
from hantu.market import rules
from hantu.market.calendar import frozen_overrides, session
from hantu.market.corporate_actions import adjust_position
from hantu.market.instruments import market_or_default
from hantu.market.panel import DailyPanel
from hantu.strategy.base import Candidate, Decision, DecisionAction, ExitsAtOpen, HeldPosition, Strategy
from hantu.trading.exits import exit_rule_for, exit_signal
from hantu.trading.risk import RiskConfig
from hantu.trading.sizing import entry_shares

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class BacktestConfig:
    """Account, risk and fill settings of a backtest.

    `risk` is the live risk manager's `RiskConfig`: its position limits and sizing cap apply to entries and
    its exit rules (`hantu.trading.exits.check_exit`) are checked before the strategy's own `exit_reason`,
    as the live session loop does. The daily-loss and drawdown halts are not replayed (they stop a live
    account until a person resumes it)."""

    initial_cash: int = 100_000_000
    risk: RiskConfig = field(default_factory=RiskConfig)
    fill: FillParams = field(default_factory=FillParams)


@dataclass(slots=True)
class _Position:
    code: str
    col: int
    market: str
    quantity: int
    cost: int  # won paid for the shares held (without costs)
    entry_date: date
    stop_price: int | None
    target_price: int | None
    high_since_entry: float
    atr: float
    trade: Trade
    risk_rule: bool = True  # whether a rule of the risk manager can sell it (`exits.exit_rule_for`)
    order: int = 0  # when it was opened in the run (the order of `positions`, which is the order of its events)

    _held: HeldPosition | None = None

    def held(self) -> HeldPosition:
        """The position as exit rules see it (made again only when the quantity or the high changed)."""
        cached = self._held
        if cached is None or cached.quantity != self.quantity or cached.high_since_entry != self.high_since_entry:
            cached = self._held = HeldPosition(
                code=self.code, quantity=self.quantity, avg_price=self.cost / self.quantity,
                entry_date=self.entry_date, stop_price=self.stop_price, target_price=self.target_price,
                high_since_entry=self.high_since_entry, atr=self.atr)
        return cached


@lru_cache(maxsize=4096)
def _session_bounds(day: date) -> tuple[datetime, datetime]:
    """Continuous trading of `day`: its open and its last minute (calendar's session; 09:00–15:19 otherwise)."""
    try:
        times = session(day)
        return times.open, times.close_auction - timedelta(minutes=1)
    except ValueError:  # synthetic panels may hold days the KRX calendar does not
        return (datetime(day.year, day.month, day.day, 9, 0, tzinfo=KST),
                datetime(day.year, day.month, day.day, 15, 19, tzinfo=KST))


_SIDE_TEXT = {side: side.value for side in Side}  # a fill's `side` text (a dict lookup; `.value` is a descriptor call)


def _market_of(raw: str) -> str:
    return market_or_default(str(raw))


def _at_open_market(event: tuple[Any, ...]) -> bool:
    """Whether a day's event is a market order at the open (`_sell_at_open` / `_buy_at_open` take those): every
    exit is a market sell; an entry is a market buy unless its decision names a limit."""
    return event[2] == "exit" or not event[5][1].limit_price


class BacktestEngine:
    """Runs one strategy over one panel; `run(start, end)` returns the outcome (not yet stored)."""

    def __init__(self, strategy: Strategy, panel: DailyPanel, config: BacktestConfig | None = None,
                 screens: ScreenSource | None = None, progress: Progress | None = None,
                 minutes: RecordedMinutes | None = None, open_batch: bool = True) -> None:
        self.strategy = strategy
        # market orders at the open priced for all their stocks at once (`_sell_at_open`, `_buy_at_open`): the
        # same fills as one order at a time through `match` (tests run both); False keeps the one-at-a-time path
        self.open_batch = open_batch
        self.minutes = minutes if minutes else None  # a store without any day is no store
        self.panel = panel
        self.config = config or BacktestConfig()
        self.screens = screens or screen_source_for(strategy, panel)
        self.progress = progress
        self._markets = [_market_of(m) for m in panel.markets]
        self._market_names = sorted(set(self._markets))
        self._market_ids = np.array([self._market_names.index(m) for m in self._markets], dtype=np.int64)
        self._codes: list[str] = [str(code) for code in panel.codes]  # made once: a fill and a trade name theirs
        self._names: list[str] = [str(name) for name in panel.names]
        self._columns = {code: col for col, code in enumerate(self._codes)}
        self._days = panel.dates.astype("datetime64[D]").tolist()  # each row's date, made once (read per stock-day)
        # corporate actions: the factor of each (row, column) ex-date (1 elsewhere); held positions turn into
        # the new shares on that day (`_apply_actions`), prices stay raw won
        self._step = panel.action_steps()
        self._actions = ({} if self._step is None else
                         {(int(r), int(c)): float(self._step[r, c]) for r, c in zip(*np.nonzero(self._step != 1.0),
                                                                                     strict=True)})
        self._open_exits: ExitsAtOpen | None = strategy if isinstance(strategy, ExitsAtOpen) else None
        # last traded close on or before each day (marks positions on days without a trade), made row by row
        # as the run moves forward (a whole (T, N) copy of the closes would be the run's largest array)
        self._marks = _Marks(panel.close, self._step)

    # --- the run ---------------------------------------------------------------------------------------

    def run(self, start: date, end: date) -> BacktestOutcome:
        # one calendar for the whole run (its override file read once); the collector less often (`collector`)
        with frozen_overrides(), fewer_collections():
            return self._run(start, end)

    def _run(self, start: date, end: date) -> BacktestOutcome:
        began = _time.perf_counter()
        panel = self.panel
        first = int(np.searchsorted(panel.dates, np.datetime64(start, "D"), side="left"))
        last = int(np.searchsorted(panel.dates, np.datetime64(end, "D"), side="right")) - 1
        if first > last:
            raise ValueError(f"no trading day of the panel lies in {start} … {end}")
        self.cash = self.config.initial_cash
        self._marks = _Marks(panel.close, self._step)
        self.positions: dict[int, _Position] = {}
        self._risky: dict[int, _Position] = {}  # the positions a risk rule can sell (all of them, or none)
        self._opened = 0
        # the held set as arrays over the panel's stocks (shares, high since entry), beside `positions`
        self._quantity = np.zeros(panel.shape[1])
        self._high = np.full(panel.shape[1], np.nan)
        self.fills: list[FillRecord] = []
        self._held_value = 0.0  # the held shares at the last close's marks (the run starts flat)
        self.trades: list[Trade] = []
        self._recorded_days: dict[date, int] = {}  # stock-days walked on recorded minute bars, per day
        self._walked: set[int] = set()  # the day's stock-days on the synthetic path (a path made or its open read)
        self._tradeable: np.ndarray | None = None  # the day's stocks that traded (`_tradeable_today`)
        self._synthetic_days = 0
        days = last - first + 1
        equity = np.zeros(days)
        cash = np.zeros(days)
        holdings = np.zeros(days)
        after_gap = panel.segment_starts()  # a candidate chosen before a gap is not traded after it
        candidates = self.screens.candidates_after(first - 1) if first > 0 and not after_gap[first] else []
        for i, row in enumerate(range(first, last + 1)):
            self._trade_day(row, candidates)
            self._synthetic_days += len(self._walked)
            held = np.flatnonzero(self._quantity)  # the held set at the close
            holdings[i] = self._held_value = self._holdings_value(row, held)
            cash[i] = self.cash
            equity[i] = self.cash + holdings[i]
            self._raise_highs(row, held)
            candidates = self.screens.candidates_after(row) if row < last and not after_gap[row + 1] else []
            if self.progress is not None:
                self.progress(i + 1, days)
        self.screens.close()
        for trade in self.trades:
            trade._end_row = last
            if not trade.closed:
                trade.mark_price = float(self._marks.at(last)[self._columns[trade.code]])
        return self._outcome(start, end, first, last, equity, cash, holdings, began)

    def _outcome(self, start: date, end: date, first: int, last: int, equity: np.ndarray, cash: np.ndarray,
                 holdings: np.ndarray, began: float) -> BacktestOutcome:
        panel = self.panel
        initial = self.config.initial_cash
        marks = benchmarks(panel, first, last, initial)
        bench = marks.equal_weight
        dates = self._days[first:last + 1]
        fees = sum(f.commission for f in self.fills)
        taxes = sum(f.tax for f in self.fills)
        traded = float(sum(f.amount for f in self.fills))
        outcome = BacktestOutcome(
            strategy=self.strategy.name, params=dict(self.strategy.params), start=dates[0], end=dates[-1],
            initial_cash=initial, stocks=int(panel.shape[1]), dates=dates, equity=equity, cash=cash,
            holdings_value=holdings, benchmark=bench, fills=self.fills, trades=self.trades)
        metrics: dict[str, Any] = compute_metrics(equity=equity, holdings_value=holdings, initial_cash=initial,
                                                  trades=self.trades, traded_value=traded, fees=fees, taxes=taxes)
        outcome.metrics = metrics
        benchmark_metrics: dict[str, Any] = dict(return_figures(bench, initial))
        benchmark_metrics["market"] = {m: return_figures(v, initial) for m, v in marks.markets.items()}
        outcome.benchmark_metrics = benchmark_metrics
        outcome.markets = marks.markets
        outcome.benchmark_gap_days = marks.gap_days
        outcome.warnings = segment_warnings(panel.dates, panel.segment_starts(), first, last)
        if outcome.warnings:
            outcome.metrics["warnings"] = list(outcome.warnings)
        outcome.metrics["intraday"] = self._intraday_figures()
        outcome.monthly = monthly_returns(dates, equity, initial)
        outcome.elapsed_s = _time.perf_counter() - began
        return outcome

    def _intraday_figures(self) -> dict[str, Any]:
        """How many stock-days walked recorded minute bars and how many the synthetic path (and which days)."""
        return {"minute_bar_stock_days": sum(self._recorded_days.values()),
                "synthetic_stock_days": self._synthetic_days,
                "minute_bar_days": [d.isoformat() for d in sorted(self._recorded_days)]}

    def _holdings_value(self, row: int, cols: np.ndarray) -> float:
        """The held shares (in columns `cols`) at `row`'s marks (whole won: the sum is exact in any order)."""
        return float(self._quantity[cols] @ self._marks.at(row)[cols]) if cols.size else 0.0

    def _raise_highs(self, row: int, cols: np.ndarray) -> None:
        """After the close: each held position's high since entry takes the day's high (array operations over
        the held set). Only positions an exit rule reads are touched one by one: with `ExitsAtOpen` that is the
        ones a risk rule can sell; the others' high lives in `_high` (`_apply_actions` reads it from there)."""
        if not cols.size:
            return
        highs = self.panel.high[row, cols]
        raised = np.flatnonzero(highs > self._high[cols])  # NaN (no trade) compares False
        self._high[cols[raised]] = highs[raised]
        positions = self.positions if self._open_exits is None else self._risky
        if not positions:
            return
        for col, high in zip(cols[raised].tolist(), highs[raised].tolist(), strict=True):
            position = positions.get(col)
            if position is not None:
                position.high_since_entry = high

    # --- one trading day -------------------------------------------------------------------------------

    def _day_path(self, row: int, col: int, bounds: tuple[datetime, datetime]) -> DayPath | None:
        if not self._trades_today(row, col):
            return None  # no trade that day: nothing can fill
        panel = self.panel
        o, h, lo, c = panel.open[row, col], panel.high[row, col], panel.low[row, col], panel.close[row, col]
        day = self._days[row]
        recorded = self.minutes.bars(day, self._codes[col]) if self.minutes is not None else None
        if recorded is not None:
            self._recorded_days[day] = self._recorded_days.get(day, 0) + 1
            return DayPath.from_minutes(recorded, self._markets[col])
        self._walked.add(col)
        return DayPath.from_bar(day, self._markets[col], float(o), float(h), float(lo), float(c), *bounds)

    def _trades_today(self, row: int, col: int) -> bool:
        """Whether the stock traded on `row`: a stock-day without a trade has no path and fills nothing."""
        return bool(self._tradeable_today(row)[col])

    def _tradeable_today(self, row: int) -> np.ndarray:
        """Which stocks traded on `row` (a volume and four finite prices), made once a day."""
        if self._tradeable is None:
            panel = self.panel
            with np.errstate(invalid="ignore"):
                self._tradeable = ((panel.volume[row] > 0) & np.isfinite(panel.open[row]) & np.isfinite(panel.high[row])
                                   & np.isfinite(panel.low[row]) & np.isfinite(panel.close[row]))
        return self._tradeable

    def _trade_day(self, row: int, candidates: list[Candidate]) -> None:
        day = self._days[row]
        bounds = _session_bounds(day)
        self._paths: dict[int, DayPath | None] = {}
        self._walked = set()
        self._tradeable = None
        self._rule_groups: dict[Callable[[date, str], object], np.ndarray] = {}  # the day's (`_same_rule`)
        # at the open every order is a market order priced from the day's bar: priced at once unless the day
        # walks recorded minute bars (their first minute is the open then)
        batch = self.open_batch and (self.minutes is None or not self.minutes.has_day(day))
        at_open = bounds[0]  # DayPath.time(0.0) of the synthetic path
        self._used_volume: dict[int, int] = {}
        self._limits: dict[tuple[int, int], tuple[int, int] | None] = {}
        self._entries_today = 0
        self._equity_at_open = self.cash + self._held_value  # nothing moves between the last close and this open
        if self._actions:
            self._apply_actions(row)
        events: list[tuple[datetime, int, str, int, float, Any]] = []
        seq = 0

        def path(col: int) -> DayPath | None:
            if col not in self._paths:
                self._paths[col] = self._day_path(row, col, bounds)
            return self._paths[col]

        def push_exit(col: int, after: float, include_start: bool) -> None:
            nonlocal seq
            p = path(col)
            if p is None or col not in self.positions:
                return
            found = self._next_exit(self.positions[col], p, after, include_start)
            if found is not None:
                s, reason = found
                seq += 1
                heapq.heappush(events, (p.time(s), seq, "exit", col, s, reason))

        open_exits = self._open_exits.exits_at_open() if self._open_exits is not None else None
        tradeable, walked = self._tradeable_today(row), self._walked  # read per order at the open (`batch`)
        if open_exits is None:
            for col in list(self.positions):
                push_exit(col, 0.0, True)
        else:
            # a position no risk rule can sell is sold only by the strategy's daily signal, which fires at the
            # open or not at all today: only the signalled codes are looked at, not the whole held set
            # (in the held set's order, which is the order of the events)
            held = [(position.order, col) for col, position in self._risky.items()]
            for code in open_exits:
                signalled = self._columns.get(code)
                position = self.positions.get(signalled) if signalled is not None else None
                if position is not None and not position.risk_rule:
                    held.append((position.order, position.col))
            held.sort()
            for _, col in held:
                position = self.positions[col]
                if position.risk_rule:
                    push_exit(col, 0.0, True)
                    continue
                why = open_exits.get(position.code)
                if not why:
                    continue
                if batch:  # a sell at the open needs no path: only whether the stock trades today
                    if tradeable[col]:
                        walked.add(col)
                        seq += 1
                        heapq.heappush(events, (at_open, seq, "exit", col, 0.0, f"strategy: {why}"))
                    continue
                p = path(col)
                if p is not None:
                    seq += 1
                    heapq.heappush(events, (p.time(0.0), seq, "exit", col, 0.0, f"strategy: {why}"))
        for candidate in candidates:
            column = self._columns.get(candidate.code)
            if column is None:
                continue
            if batch:
                if not tradeable[column]:
                    continue
                walked.add(column)
                if column in self.positions:
                    continue
                # the open first, from the bar (as `first_firing` asks it first); the path only if not there
                o = float(self.panel.open[row, column])
                decision = self._decide_entry(candidate, round(o), at_open, o)
                if decision is not None:
                    seq += 1
                    heapq.heappush(events, (at_open, seq, "entry", column, 0.0, (candidate, decision)))
                    continue
                p = path(column)
                assert p is not None
                entry = p.first_firing(0.0, partial(self._entry_decision, candidate, p), include_start=False)
            else:
                p = path(column)
                if column in self.positions or p is None:
                    continue
                entry = p.first_firing(0.0, partial(self._entry_decision, candidate, p))
            if entry is not None:
                s, decision = entry
                seq += 1
                heapq.heappush(events, (p.time(s), seq, "entry", column, s, (candidate, decision)))

        def watch_bought(col: int, filled_at: float) -> None:
            bought = self.positions[col]
            if open_exits is None or bought.risk_rule or open_exits.get(bought.code):
                push_exit(col, filled_at, False)
            # else: no risk rule, and the strategy's daily signal does not sell it today (`ExitsAtOpen`)

        while events:
            if batch and events[0][4] == 0.0 and _at_open_market(events[0]):
                kind = events[0][2]
                run: list[tuple[Any, ...]] = []
                cols: set[int] = set()
                while events:  # the run: market orders of one kind at the open, one per stock, in event order
                    head = events[0]
                    if head[4] != 0.0 or head[2] != kind or head[3] in cols or not _at_open_market(head):
                        break
                    heapq.heappop(events)
                    cols.add(head[3])
                    run.append(head)
                if kind == "exit":
                    self._sell_at_open(row, day, at_open, [(e[3], e[5]) for e in run])
                else:
                    for col in self._buy_at_open(row, day, at_open, [(e[3], *e[5]) for e in run]):
                        watch_bought(col, 0.0)
                continue
            _, _, kind, col, s, payload = heapq.heappop(events)
            p = path(col)
            assert p is not None
            if kind == "exit":
                self._sell(row, col, p, s, payload)
            else:
                candidate, decision = payload
                filled_at = self._buy(row, col, p, s, candidate, decision)
                if filled_at is not None:
                    watch_bought(col, filled_at)

    def _apply_actions(self, row: int) -> None:
        """A split, consolidation or bonus issue on `row` for a held stock: the position becomes the new shares
        (quantity / factor, stop, target, ATR and high × factor); the cost basis stays, fractional shares are paid
        in cash at the new base price. P&L is unchanged by the action itself."""
        for col, position in list(self.positions.items()):
            factor = self._actions.get((row, col))
            if factor is None:
                continue
            old_quantity = position.quantity
            quantity, _, fraction = adjust_position(old_quantity, position.cost / old_quantity, factor)
            base = float(self._marks.at(row - 1)[col]) * factor if row > 0 else math.nan
            cash_in = round(fraction * base) if fraction > 0 and math.isfinite(base) else 0
            trade = position.trade
            if fraction > 0:
                position.cost -= round(position.cost * fraction / (old_quantity / factor))
                self.cash += cash_in
                trade.exit_proceeds += cash_in
            trade.exit_quantity = round(trade.exit_quantity / factor)
            trade.quantity = trade.exit_quantity + quantity
            position.quantity = quantity
            market = position.market
            day = self.panel.date_at(row)
            if position.stop_price:
                position.stop_price = rules.round_to_tick(position.stop_price * factor, "down", day, market)
            if position.target_price:
                position.target_price = rules.round_to_tick(position.target_price * factor, "up", day, market)
            position.atr *= factor
            position.high_since_entry = float(self._high[col]) * factor  # `_high` is the held set's truth
            position._held = None
            self._quantity[col] = quantity  # the held set's arrays follow the position
            self._high[col] = position.high_since_entry if quantity else np.nan
            if quantity == 0:
                trade.exit_date, trade.exit_row, trade.exit_reason = day, row, "corporate action: fractional shares paid in cash"
                del self.positions[col]
                self._risky.pop(col, None)

    # --- decisions ------------------------------------------------------------------------------------

    def _entry_decision(self, candidate: Candidate, p: DayPath, s: float) -> Decision | None:
        return self._decide_entry(candidate, p.price(s), p.time(s), p.open)

    def _decide_entry(self, candidate: Candidate, price: int, now: datetime, day_open: float) -> Decision | None:
        decision = self.strategy.on_price(candidate, price, now, day_open)
        if decision is None:
            return None
        match decision.action:
            case DecisionAction.BUY:
                return decision
            case unhandled:
                assert_never(unhandled)

    def _next_exit(self, position: _Position, p: DayPath, after: float,
                   include_start: bool) -> tuple[float, str] | None:
        start_high = position.high_since_entry

        risk = self.config.risk

        def fire(s: float) -> str | None:
            """The live session's order: the risk manager's exit rules first, then the strategy's."""
            position.high_since_entry = max(start_high, p.high_between(after, s))
            signal = exit_signal(position.held(), p.price(s), p.time(s), risk, self.strategy, p.open)
            if signal is None:
                return None
            return f"strategy: {signal.text}" if signal.rule == "strategy" else signal.rule

        try:
            return p.first_firing(after, fire, include_start)
        finally:
            position.high_since_entry = start_high

    # --- orders through the fill model ----------------------------------------------------------------

    def _rest_of_day(self, row: int, col: int, p: DayPath, s: float) -> Bar:
        """The bar an order placed at point `s` fills on: the rest of the day, its low and high on the tick grid
        (a fill is never clamped to a price between ticks)."""
        volume = int(self.panel.volume[row, col])
        low, high = p.traded_range(s, p.last)
        return Bar(open=p.price(s), high=high, low=low, close=round(p.close), volume=volume)

    def _volume_left(self, row: int, col: int) -> int:
        """Shares our orders may still take in this stock today (the fill model's volume share of the day)."""
        cap = math.floor(float(self.panel.volume[row, col]) * self.config.fill.volume_share)
        return max(cap - self._used_volume.get(col, 0), 0)

    def _price_limits(self, row: int, col: int, day: date) -> tuple[int, int] | None:
        """The day's ±30 % limits from the last close (kept per stock for the day: orders ask several times)."""
        key = (row, col)
        if key not in self._limits:
            base = self._marks.at(row - 1)[col] if row > 0 else math.nan
            base *= self._actions.get((row, col), 1.0)  # an ex-date's base is the adjusted previous close
            self._limits[key] = (rules.limit_prices(int(base), day, self._markets[col])
                                 if math.isfinite(base) and base > 0 else None)
        return self._limits[key]

    def _record(self, col: int, day: date, at: datetime, side: Side, quantity: int, price: int,
                commission: int, tax: int, reason: str) -> None:
        """A fill into the run's list, the cash and the day's volume used in the stock."""
        # positional, in the dataclass's field order (day, at, code, side, quantity, price, commission, tax,
        # reason): a third cheaper than keywords, once per fill
        self.fills.append(FillRecord(day, at, self._codes[col], _SIDE_TEXT[side], quantity, price, commission, tax,
                                     reason))
        self.cash += cash_flow(side, quantity, price, commission, tax)
        self._used_volume[col] = self._used_volume.get(col, 0) + quantity

    def _buy(self, row: int, col: int, p: DayPath, s: float, candidate: Candidate,
             decision: Decision) -> float | None:
        """Place the entry; returns the path point where it filled, or None."""
        config = self.config
        risk = config.risk
        if len(self.positions) >= risk.max_open_positions or self._entries_today >= risk.max_new_entries_per_day:
            return None
        market = self._markets[col]
        day = p.day
        limit = decision.limit_price or None
        order_type = OrderType.MARKET if limit is None else OrderType.LIMIT
        fill_point = s
        if limit is not None:
            crossed = p.crossing(float(limit), from_above=True, after=s)
            if crossed is None:
                return None  # the day order never reaches its limit: it expires at the close
            fill_point = crossed
        bar = self._rest_of_day(row, col, p, fill_point)
        limits = self._price_limits(row, col, day)
        probe = match(Side.BUY, order_type, 1, limit, bar, day, market, config.fill, limits)
        if probe is None:
            return None
        price = probe.price
        # the live session's sizing (`hantu.trading.sizing`), on the equity at the open
        wanted = entry_shares(decision, candidate.weight, self._equity_at_open, price, limits[1] if limits else None,
                              risk.max_position_weight, config.fill.commission_rate)
        # the cash covers `wanted` (the cost is monotone in the quantity): no need to search the most it covers
        covered = wanted > 0 and buy_cash_needed(wanted, price, day, market, config.fill) <= self.cash
        affordable = wanted if covered else affordable_quantity(self.cash, price, day, market, config.fill)
        quantity = min(wanted, affordable, self._volume_left(row, col))
        if quantity <= 0:
            return None
        result = match(Side.BUY, order_type, quantity, limit, bar, day, market, config.fill, limits)
        if result is None or result.quantity <= 0:
            return None
        self._bought(row, col, day, p.time(fill_point), candidate, decision.reason, result.quantity, result.price,
                     result.commission, result.tax)
        return fill_point

    def _bought(self, row: int, col: int, day: date, at: datetime, candidate: Candidate, reason: str,
                quantity: int, price: int, commission: int, tax: int) -> None:
        """The books of an entry fill: its round trip, the position (and the held set's arrays), the day's
        entry count."""
        self._record(col, day, at, Side.BUY, quantity, price, commission, tax, reason)
        amount = quantity * price  # the fill's `amount`
        trade = Trade(code=self._codes[col], name=self._names[col], entry_date=day, entry_row=row,
                      quantity=quantity, entry_cost=amount, fees=commission)
        self.trades.append(trade)
        risk = self.config.risk
        previous = self.positions.get(col)  # a second entry event for a stock bought earlier today
        position = self.positions[col] = _Position(
            code=trade.code, col=col, market=self._markets[col], quantity=quantity, cost=amount, entry_date=day,
            stop_price=candidate.stop_price, target_price=candidate.target_price,
            high_since_entry=float(price), atr=candidate.atr, trade=trade)
        position.risk_rule = exit_rule_for(position.stop_price, position.target_price, position.atr, risk)
        self._opened += 1
        position.order = previous.order if previous is not None else self._opened  # the dict keeps its place
        self._risky.pop(col, None)
        if position.risk_rule:
            self._risky[col] = position
        self._quantity[col] = position.quantity
        self._high[col] = position.high_since_entry
        self._entries_today += 1

    # --- market orders at the open, many stocks at once ------------------------------------------------

    def _open_quotes(self, row: int, cols: np.ndarray, side: Side, day: date) -> tuple[np.ndarray, np.ndarray,
                                                                                       np.ndarray]:
        """What `match` gives a market order of `side` at `row`'s open in each of `cols`, from the day's bar:
        (fill price, 0 where none; the shares the volume share allows; the upper price limit, 0 if unknown).
        The bar is `_rest_of_day` at the open (high and low over the whole path), the limits
        `_price_limits`'s, the price `fill_model.market_fill_prices` per market."""
        panel = self.panel
        o, h, lo, c, v = (panel.open[row, cols], panel.high[row, cols], panel.low[row, cols],
                          panel.close[row, cols], panel.volume[row, cols])
        high = np.maximum(np.maximum(h, o), c)  # the path's anchors clamp the extremes to the open and close
        low = np.minimum(np.minimum(lo, o), c)
        cap = np.floor(np.where(v > 0, v, 0.0) * self.config.fill.volume_share).astype(np.int64)
        if row > 0:
            base = self._marks.at(row - 1)[cols] * (self._step[row, cols] if self._step is not None else 1.0)
        else:
            base = np.full(cols.size, np.nan)
        known = np.isfinite(base) & (base >= 1)
        whole = np.trunc(np.where(known, base, 1.0)).astype(np.int64)  # `int(base)`; 1 where unknown (unused)
        unbounded = np.int64(2**62)
        price = np.zeros(cols.size, dtype=np.int64)
        upper = np.zeros(cols.size, dtype=np.int64)
        for m, market in self._same_rule(cols, day, rules.tick_ladder):
            lower_m, upper_m = rules.limit_price_arrays(whole[m], day, market)
            lower_m = np.where(known[m], lower_m, 0)
            upper[m] = np.where(known[m], upper_m, 0)
            price[m] = market_fill_prices(side, np.rint(o[m]), np.rint(low[m]), np.rint(high[m]), v[m], day,
                                          market, self.config.fill, lower_m,
                                          np.where(known[m], upper_m, unbounded))
        return price, cap, upper

    def _open_costs(self, side: Side, cols: np.ndarray, amounts: np.ndarray, day: date) -> tuple[np.ndarray,
                                                                                                 np.ndarray]:
        """`trade_costs` of each amount (commission, tax), per market (`rules.cost_arrays`)."""
        commission = np.zeros(cols.size, dtype=np.int64)
        tax = np.zeros(cols.size, dtype=np.int64)
        for m, market in self._same_rule(cols, day, rules.sell_tax_rate_decimal):
            commission[m], tax[m] = rules.cost_arrays(side, amounts[m], market, day,
                                                      rate=self.config.fill.commission_rate)
        return commission, tax

    def _same_rule(self, cols: np.ndarray, day: date,
                   rule: Callable[[date, str], object]) -> list[tuple[np.ndarray | slice, str]]:
        """`cols` split by what `rule(day, market)` gives (the tick ladder, the sell tax): (mask, one market of
        the group) per group, so markets under the same table on `day` are priced in one pass. One group (every
        market under one table, as since 2023) is the slice of them all: views, not masked copies."""
        names = self._market_names
        group_of = self._rule_groups.get(rule)
        if group_of is None:
            values = [rule(day, name) for name in names]
            group_of = self._rule_groups[rule] = np.array([values.index(v) for v in values], dtype=np.int64)
        groups = group_of[self._market_ids[cols]]
        present = np.flatnonzero(np.bincount(groups, minlength=len(names))).tolist()  # a few: no sort
        if len(present) == 1:
            return [(slice(None), names[present[0]])]
        return [(groups == g, names[g]) for g in present]

    def _sell_at_open(self, row: int, day: date, at: datetime, run: list[tuple[int, str]]) -> None:
        """`_sell` at the open for each (column, reason) of `run` (distinct columns, in event order)."""
        cols = np.array([col for col, _ in run], dtype=np.int64)
        quotes, caps, _ = self._open_quotes(row, cols, Side.SELL, day)
        used = self._used_volume
        positions = [self.positions.get(col) for col, _ in run]
        price = quotes.tolist()
        quantity = [min(position.quantity, max(cap - used.get(position.col, 0), 0))
                    if position is not None and quote > 0 else 0
                    for position, quote, cap in zip(positions, price, caps.tolist(), strict=True)]
        commission, tax = self._open_costs(Side.SELL, cols, np.array(quantity, dtype=np.int64) * quotes, day)
        for position, (_, reason), q, quote, fee, levy in zip(positions, run, quantity, price, commission.tolist(),
                                                              tax.tolist(), strict=True):
            if q > 0 and position is not None:
                self._sold(row, position, day, at, reason, q, quote, fee, levy)

    def _buy_at_open(self, row: int, day: date, at: datetime,
                     run: list[tuple[int, Candidate, Decision]]) -> list[int]:
        """`_buy` of a market entry at the open for each (column, candidate, decision) of `run` (distinct
        columns, in event order): the same limits, sizing and cash checks in the same order; returns the
        columns bought."""
        config = self.config
        risk = config.risk
        cols = np.array([col for col, _, _ in run], dtype=np.int64)
        quotes, caps, uppers = self._open_quotes(row, cols, Side.BUY, day)
        price, cap = quotes.tolist(), caps.tolist()
        wanted = [entry_shares(decision, candidate.weight, self._equity_at_open, quote, upper or None,
                               risk.max_position_weight, config.fill.commission_rate)
                  if quote > 0 and room >= 1 else 0
                  for (_, candidate, decision), quote, room, upper in zip(run, price, cap, uppers.tolist(),
                                                                          strict=True)]
        commissions, taxes = self._open_costs(Side.BUY, cols, np.array(wanted, dtype=np.int64) * quotes, day)
        commission, tax = commissions.tolist(), taxes.tolist()
        bought: list[int] = []
        for i, (col, candidate, decision) in enumerate(run):
            if len(self.positions) >= risk.max_open_positions or self._entries_today >= risk.max_new_entries_per_day:
                break  # neither count goes down before the open's entries are done
            want, quote = wanted[i], price[i]
            if quote <= 0 or cap[i] < 1:
                continue
            market = self._markets[col]
            need = -cash_flow(Side.BUY, want, quote, commission[i], tax[i])  # `buy_cash_needed` of the wanted shares
            affordable = want if want > 0 and need <= self.cash else affordable_quantity(self.cash, quote, day,
                                                                                         market, config.fill)
            quantity = min(want, affordable, max(cap[i] - self._used_volume.get(col, 0), 0))
            if quantity <= 0:
                continue
            if quantity == want:
                fee, levy = commission[i], tax[i]
            else:
                costs = trade_costs(Side.BUY, quantity, quote, day, market, config.fill)
                fee, levy = costs.commission, costs.tax
            self._bought(row, col, day, at, candidate, decision.reason, quantity, quote, fee, levy)
            bought.append(col)
        return bought

    def _sell(self, row: int, col: int, p: DayPath, s: float, reason: str) -> None:
        position = self.positions.get(col)
        if position is None:
            return
        quantity = min(position.quantity, self._volume_left(row, col))
        if quantity <= 0:
            return  # the day's volume share is used up: try again tomorrow
        bar = self._rest_of_day(row, col, p, s)
        result = match(Side.SELL, OrderType.MARKET, quantity, None, bar, p.day, position.market, self.config.fill,
                       self._price_limits(row, col, p.day))
        if result is None:
            return
        self._sold(row, position, p.day, p.time(s), reason, result.quantity, result.price, result.commission,
                   result.tax)

    def _sold(self, row: int, position: _Position, day: date, at: datetime, reason: str, quantity: int,
              price: int, commission: int, tax: int) -> None:
        """The books of an exit fill: the round trip, the position (closed when flat) and the held set."""
        col = position.col
        self._record(col, day, at, Side.SELL, quantity, price, commission, tax, reason)
        trade = position.trade
        trade.exit_quantity += quantity
        trade.exit_proceeds += quantity * price  # the fill's `amount`
        trade.fees += commission
        trade.taxes += tax
        position.cost -= round(position.cost * quantity / position.quantity)
        position.quantity -= quantity
        self._quantity[col] = position.quantity
        if position.quantity == 0:
            trade.exit_date = day
            trade.exit_row = row
            trade.exit_reason = reason
            del self.positions[col]
            self._risky.pop(col, None)


def affordable_quantity(cash: float, price: int, day: date, market: str, fill: FillParams) -> int:
    """The most shares whose cost with commission (`buy_cash_needed`) `cash` covers.

    Closed form, floor(cash / (price × (1 + commission))), then moved to the exact answer: the commission is
    truncated to the won and the division is in floating point, so the estimate can be off by a share either
    way; the cost is monotone in the quantity, so a step or two settles it whatever the cash."""
    if price <= 0 or cash < price:
        return 0
    quantity = max(int(cash // (price * (1.0 + fill.commission_rate))), 0)
    while quantity > 0 and buy_cash_needed(quantity, price, day, market, fill) > cash:
        quantity -= 1
    while buy_cash_needed(quantity + 1, price, day, market, fill) <= cash:
        quantity += 1
    return quantity


class _Marks:
    """Each day's last known close (NaN before a stock's first trade); carried across an ex-date it is the
    adjusted base (× that day's factor), as KRX sets it.

    The rows are made as the run asks for them, forward only: `at(row)` for the current row or the one before
    (the two kept), so a run holds two rows instead of a (T, N) copy of the closes."""

    def __init__(self, close: np.ndarray, step: np.ndarray | None = None) -> None:
        self.close = close
        self.step = step
        self._row = -1
        self._current = np.full(close.shape[1], np.nan)
        self._previous = self._current

    def _next(self) -> None:
        t = self._row + 1
        row = self.close[t].astype(float, copy=True)
        if t > 0:
            missing = np.isnan(row)
            if missing.any():
                row[missing] = self._current[missing] * (self.step[t][missing] if self.step is not None else 1.0)
        self._previous, self._current, self._row = self._current, row, t

    def at(self, row: int) -> np.ndarray:
        """The marks of `row` (read-only use): `row` at most one behind the latest row asked for."""
        while self._row < row:
            self._next()
        if row == self._row:
            return self._current
        if row == self._row - 1:
            return self._previous
        raise ValueError(f"marks of row {row} asked after row {self._row}: they are made forward only")
