"""The market the sandbox serves: daily bars from the store, replayed minute by minute on the sandbox clock.

A stock's price at time t on a trading day comes from the deterministic intraday path of that day's bar
(`hantu.market.intraday`); before the open the quote is the previous close, after the close the close.
Days outside the data (weekends, holidays, dates past the panel) show the last day in the panel at or before
them, closed.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

from hantu.market import calendar, rules
from hantu.market.intraday import IntradayPath, minute_path
from hantu.market.panel import DailyPanel
from hantu.market.store import Instrument
from hantu.sandbox.kis.events import HALTED, INDEX_MEMBERS, NORMAL, VI_AUCTION, MarketStatusBook

PATH_CACHE_SIZE = 512  # (code, day) paths kept; each is a few KB


class UnknownStock(KeyError):
    pass


@dataclass(frozen=True)
class Snapshot:
    """What a quote shows at one moment."""

    code: str
    day: date  # the trading day shown
    price: int
    prev_close: int
    open: int
    high: int
    low: int
    volume: int
    amount: int
    upper_limit: int
    lower_limit: int
    tick: int
    halted: bool
    phase: str  # "pre" (before the first trade), "open", "closed"
    minute: int  # index into the day's path (-1 before the open)
    vi: str = ""  # a VI auction running: its kind (`hantu.market.status`); "" otherwise

    @property
    def change(self) -> int:
        return self.price - self.prev_close

    @property
    def change_rate(self) -> float:
        return round(self.change / self.prev_close * 100, 2) if self.prev_close else 0.0

    @property
    def sign(self) -> str:
        """KIS `prdy_vrss_sign`: 1 upper limit, 2 up, 3 flat, 4 lower limit, 5 down."""
        if self.price >= self.upper_limit > 0 and self.change > 0:
            return "1"
        if self.price <= self.lower_limit and self.change < 0:
            return "4"
        return "2" if self.change > 0 else "5" if self.change < 0 else "3"


def _num(value: float) -> int:
    return 0 if value is None or not math.isfinite(value) else round(value)


class MarketReplay:
    """Quotes, charts and minute paths from one `DailyPanel`. Thread-safe."""

    def __init__(self, panel: DailyPanel, seed: int = 20240101, instruments: list[Instrument] | None = None) -> None:
        self.panel = panel
        self.seed = seed
        # the instrument facts the master files and quotes show (the store's master when replaying a store);
        # tests change them through `/_sandbox/master/{code}`
        self.instruments: dict[str, Instrument] = {i.code: i for i in instruments or []}
        self._index = {str(code): i for i, code in enumerate(panel.codes)}
        self._days = [panel.date_at(i) for i in range(len(panel.dates))]
        self._paths: OrderedDict[tuple[str, date], IntradayPath] = OrderedDict()
        self._lock = threading.Lock()
        # VIs, halts, locks, circuit breakers (`events.py`): they reshape the paths, so a change drops them
        self.status = MarketStatusBook()
        self.status.on_change = self._forget_paths
        self._members: dict[date, frozenset[str]] = {}

    def _forget_paths(self) -> None:
        with self._lock:
            self._paths.clear()

    def index_member(self, code: str, day: date) -> bool:
        """Whether `code` counts as a KOSPI200 member on `day` (its dynamic-VI band): the scenario's list, else
        the `INDEX_MEMBERS` KOSPI stocks that traded the most won on the data day before."""
        explicit = self.status.index_members.get(day)
        if explicit is not None:
            return code in explicit
        members = self._members.get(day)
        if members is None:
            row = max(self.row_on_or_before(day - timedelta(days=1)), 0)
            kospi = np.array([rules.normalize_market(str(m)) == "KOSPI" for m in self.panel.markets])
            amount = np.where(kospi, np.nan_to_num(self.panel.amount[row], nan=-1.0), -1.0)
            top = np.argsort(-amount, kind="stable")[:INDEX_MEMBERS]
            members = frozenset(str(self.panel.codes[c]) for c in top if amount[c] > 0)
            self._members[day] = members
        return code in members

    # --- lookup -----------------------------------------------------------------------------------
    def column(self, code: str) -> int:
        try:
            return self._index[code]
        except KeyError:
            raise UnknownStock(code) from None

    def has(self, code: str) -> bool:
        return code in self._index

    def name(self, code: str) -> str:
        return str(self.panel.names[self.column(code)])

    def market(self, code: str) -> str:
        return rules.normalize_market(str(self.panel.markets[self.column(code)]))

    @property
    def first_day(self) -> date:
        return self._days[0]

    @property
    def last_day(self) -> date:
        return self._days[-1]

    def row_on_or_before(self, day: date) -> int:
        """Panel row of the last data day at or before `day` (-1 when `day` precedes the data)."""
        return int(np.searchsorted(self.panel.dates, np.datetime64(day, "D"), side="right")) - 1

    def trading_row(self, day: date) -> int | None:
        """Panel row of `day` when the market trades that day and the panel has it."""
        row = self.row_on_or_before(day)
        if row < 0 or self._days[row] != day or not calendar.is_trading_day(day):
            return None
        return row

    def bar(self, code: str, row: int) -> tuple[float, float, float, float, float, float]:
        c = self.column(code)
        p = self.panel
        return (float(p.open[row, c]), float(p.high[row, c]), float(p.low[row, c]), float(p.close[row, c]),
                float(p.volume[row, c]), float(p.amount[row, c]))

    def prev_close(self, code: str, row: int) -> int:
        """The last close before `row` (skipping no-trade days); the day's own open if none. On an ex-date the
        adjusted base (the close × the day's corporate-action factor), as KRX sets the base price (기준가)."""
        c = self.column(code)
        closes = self.panel.close[:row, c]
        valid = closes[np.isfinite(closes)]
        if valid.size:
            step = self.panel.action_step(row, c)
            return _num(valid[-1]) if step == 1.0 else int(float(valid[-1]) * step)
        return _num(self.panel.open[row, c]) or _num(self.panel.close[row, c])

    def path(self, code: str, day: date) -> IntradayPath:
        """The intraday path of `code` on trading day `day` (empty when it did not trade)."""
        key = (code, day)
        with self._lock:
            cached = self._paths.get(key)
            if cached is not None:
                self._paths.move_to_end(key)
                return cached
        row = self.trading_row(day)
        if row is None:
            result = IntradayPath(None, np.zeros(0, np.int64), np.zeros(0, np.int64))
        else:
            o, h, lo, cl, vol, _ = self.bar(code, row)
            raw = minute_path(o, h, lo, cl, vol, calendar.session(day), day, self.market(code),
                              seed=(self.seed, int(code) if code.isdigit() else hash(code) & 0xFFFF,
                                    day.toordinal()))
            result = self.status.apply(code, day, raw, self.market(code), self.prev_close(code, row),
                                       self.index_member(code, day))
        with self._lock:
            self._paths[key] = result
            while len(self._paths) > PATH_CACHE_SIZE:
                self._paths.popitem(last=False)
        return result

    # --- quotes -------------------------------------------------------------------------------------
    def snapshot(self, code: str, now: datetime) -> Snapshot:
        day = now.date()
        row = self.trading_row(day)
        market = self.market(code)
        if row is None:
            shown = max(self.row_on_or_before(day), 0)
            return self._closed_snapshot(code, shown, market)
        base = self.prev_close(code, row)
        lower, upper = rules.limit_prices(base, day, market) if base > 0 else (0, 0)
        path = self.path(code, day)
        session = calendar.session(day)
        if len(path) == 0:  # no trade that day (suspended)
            return Snapshot(code, day, base, base, 0, 0, 0, 0, 0, upper, lower, rules.tick_size(base, day, market),
                            True, "closed" if now >= session.close else "pre", -1)
        i = path.index_at(now)
        if i < 0:
            return Snapshot(code, day, base, base, 0, 0, 0, 0, 0, upper, lower, rules.tick_size(base, day, market),
                            False, "pre", -1)
        prices = path.prices[: i + 1]
        volumes = path.volumes[: i + 1]
        price = int(prices[-1])
        closed = now >= session.close_auction
        status = self.status.day_status(code, day)
        minute = status.at(i) if status is not None and not closed else NORMAL
        return Snapshot(code, day, price, base, int(prices[0]), int(prices.max()), int(prices.min()),
                        int(volumes.sum()), int((prices * volumes).sum()), upper, lower,
                        rules.tick_size(price, day, market), minute == HALTED,
                        "closed" if closed else "open", i,
                        vi=status.vi_kind.get(i, "") if status is not None and minute == VI_AUCTION else "")


    def _closed_snapshot(self, code: str, row: int, market: str) -> Snapshot:
        day = self._days[row]
        o, h, lo, cl, vol, amount = self.bar(code, row)
        base = self.prev_close(code, row) if row > 0 else _num(cl)
        price = _num(cl) if math.isfinite(cl) else base
        lower, upper = rules.limit_prices(base, day, market) if base > 0 else (0, 0)
        return Snapshot(code, day, price, base, _num(o), _num(h), _num(lo), _num(vol), _num(amount), upper, lower,
                        rules.tick_size(max(price, 1), day, market), vol <= 0, "closed", -1)

    def instrument(self, code: str) -> Instrument:
        """The facts of `code` (a bare one from the panel's name and market when none were given)."""
        found = self.instruments.get(code)
        return found if found is not None else Instrument(code=code, name=self.name(code), market=self.market(code))

    def _adjustment(self, c: int, now: datetime) -> np.ndarray | None:
        """Per row, raw → adjusted (KIS's 수정주가) as of `now`'s day: backward from the last row at or before it."""
        factor = self.panel.factor
        if factor is None:
            return None
        ref = max(self.row_on_or_before(now.date()), 0)
        return factor[:, c] / factor[ref, c]

    def daily_bars(self, code: str, start: date, end: date, now: datetime,
                   adjusted: bool = False) -> list[dict[str, int | date]]:
        """Bars from `start` to `end` (inclusive), newest first; today's bar is the partial one at `now`.
        `adjusted`: prices backward-adjusted for the panel's corporate actions (volumes in today's shares), as
        KIS's `FID_ORG_ADJ_PRC` asks for."""
        c = self.column(code)
        scale = self._adjustment(c, now) if adjusted else None
        out: list[dict[str, int | date]] = []
        for row in range(len(self._days) - 1, -1, -1):
            day = self._days[row]
            if day > end or day > now.date():
                continue
            if day < start:
                break
            vol = self.panel.volume[row, c]
            if not math.isfinite(vol):
                continue  # not listed
            if day == now.date() and self.trading_row(day) is not None:
                snap = self.snapshot(code, now)
                if snap.phase == "pre":
                    continue
                out.append({"day": day, "open": snap.open, "high": snap.high, "low": snap.low,
                            "close": snap.price, "volume": snap.volume, "amount": snap.amount})
                continue
            o, h, lo, cl, v, amount = self.bar(code, row)
            k = float(scale[row]) if scale is not None else 1.0
            out.append({"day": day, "open": _num(o * k), "high": _num(h * k), "low": _num(lo * k),
                        "close": _num(cl * k), "volume": _num(v / k), "amount": _num(amount)})
        return out

    def volume_leaders(self, now: datetime, count: int = 30) -> list[tuple[str, Snapshot]]:
        """The `count` most traded stocks so far today (ranked by the day's volume, then measured exactly)."""
        row = self.row_on_or_before(now.date())
        if row < 0:
            return []
        vols = np.nan_to_num(self.panel.volume[row], nan=-1.0)
        top = np.argsort(-vols, kind="stable")[: count * 2]
        snaps = [(str(self.panel.codes[c]), self.snapshot(str(self.panel.codes[c]), now)) for c in top
                 if vols[c] > 0]
        snaps.sort(key=lambda item: -item[1].volume)
        return snaps[:count]
