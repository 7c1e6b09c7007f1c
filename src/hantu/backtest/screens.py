"""Where the engine gets each day's entry candidates: the strategy's own screening and selection code.

- `WindowScreens` calls `screen` and `select` exactly as the live pipeline does, on a trailing window of the
  panel ending at the decision day (`DailyPanel.slice_days` views: rows after the day are not reachable). It
  works for any strategy but costs one full screening per day.
- `PanelScreens`, for strategies built on `ScreeningStrategy`, runs the same pipeline with the indicator
  arrays computed once for the whole panel (`factors` with `rows=EVERY_DAY`, `universe.eligibility_series`) and
  takes each day's row: the same factors, composite ranks, watchlist rule, regime and `candidate` code, in a
  fraction of the time. Every indicator at row `t` uses rows `<= t` only. The one difference from the live
  screen is warm-up: a recursive indicator (EMA, Wilder's RSI/ATR) has seen every row since its chunk's
  warm-up began (`lookback_days` to `lookback_days + chunk_days - 1` rows) instead of the live window of
  `lookback_days`, which moves values slightly (tests bound how often the watchlist differs; a shorter chunk
  is nearer the live screen).

Gaps: chunks never span a gap in the data (`DailyPanel.segment_starts`) and their warm-up rows never reach back
across one, so every indicator restarts after a gap exactly as the live screen's `last_segment` window does.
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from hantu.market.panel import DailyPanel
from hantu.strategy.base import Candidate, ScreenResult, StockScore, Strategy
from hantu.strategy.framework import (
    EVERY_DAY,
    HANDOVER_DECIMALS,
    FactorTable,
    ScreeningStrategy,
    adjusted_prices,
)
from hantu.strategy.indicators import Prices, fill_untraded
from hantu.strategy.regime import market_regimes
from hantu.strategy.scoring import Composite, build_watchlist, composite_score
from hantu.strategy.universe import InstrumentFlags, eligibility_series


class ScreenSource(Protocol):
    def candidates_after(self, row: int) -> list[Candidate]:
        """Entry candidates for the day after panel row `row`, decided from rows `<= row` only."""
        ...

    def close(self) -> None:
        """Release what the source holds (a prefetching thread); the engine calls it at the end of a run."""
        ...


class WindowScreens:
    """Screen and select on the trailing `lookback` rows ending at the decision day."""

    def __init__(self, strategy: Strategy, panel: DailyPanel, lookback: int | None = None) -> None:
        self.strategy = strategy
        self.panel = panel
        self.lookback = lookback or strategy.lookback_days

    def candidates_after(self, row: int) -> list[Candidate]:
        if row < 0:
            return []
        view = self.panel.slice_days(max(0, row + 1 - self.lookback), row + 1)
        day = self.panel.date_at(row)
        screen = self.strategy.screen(view, day)
        return list(self.strategy.select(view, screen, day))

    def close(self) -> None:
        """Nothing to release: each day is screened on the caller's thread."""


class _Ranked:
    """What `build_watchlist` reads of a passed stock (code, score, sector, passed), cheap to make by the
    hundred every day; full `StockScore`s are made for the watchlist only."""

    __slots__ = ("code", "column", "score", "sector")
    passed = True

    def __init__(self, code: str, score: float, sector: str | None, column: int) -> None:
        self.code, self.score, self.sector, self.column = code, score, sector, column


@dataclass
class _Chunk:
    """One chunk's arrays: rows [base, end) of the panel (warm-up rows first)."""

    base: int
    end: int
    prices: Prices
    eligibility: Any
    factor_columns: np.ndarray
    table: FactorTable  # the traded rows only (row `offset` of the chunk is the table's row 0)
    regimes: list[Any]
    offset: int  # the chunk's first traded row in the chunk arrays (rows before it are warm-up)
    composite: Composite  # the composite scores of the traded rows, each among that day's eligible stocks
    scale: np.ndarray | None = None  # raw → adjusted multipliers of the chunk (None: no action inside)


CHUNK_DAYS = 63  # days per pass (a quarter): memory holds (CHUNK_DAYS + lookback) rows of indicator arrays, twice
# with prefetch. Momentum on 2,900 × 1,250 (bench/backtest.py, 3 runs each): 63 days 362–364 MB peak, 2.41–2.50 s;
# 80 days 375–377 MB; 100 days 386–387 MB; 125 days 409–410 MB, 2.38–2.54 s (the warm-up recomputed per chunk
# costs less than the fresh pages of a larger one)


FACTOR_BLOCK = 512  # stocks per `factors` call of a chunk: its warm-up rows exist for this many stocks at a time

_NOT_KEPT = np.empty((0, 0))  # a chunk's eligibility arrays that no per-day read needs

PREFETCH_MIN_MEMORY = 1 << 30  # bytes available (host and cgroup) below which chunks are not prefetched


def memory_available() -> int:
    """Bytes this process may still use: the host's MemAvailable, or less under a cgroup v2 memory limit (a
    systemd unit's MemoryMax / MemoryHigh); a large number when neither can be read."""
    available = 1 << 62
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    try:
        group = Path("/proc/self/cgroup").read_text(encoding="ascii").strip().splitlines()[-1].rsplit(":", 1)[-1]
        base = Path("/sys/fs/cgroup" + group)
        used = int((base / "memory.current").read_text(encoding="ascii"))
        for name in ("memory.high", "memory.max"):
            limit = (base / name).read_text(encoding="ascii").strip()
            if limit != "max":
                available = min(available, int(limit) - used)
    except (OSError, ValueError, IndexError):
        pass
    return available


class _Joined:
    """The factor tables of a chunk's blocks of stocks joined into one, each block's traded rows written
    straight into arrays made once for all the stocks (the values `np.concatenate` of the cut blocks gives,
    without the cut copies and the joined copy existing beside each other)."""

    def __init__(self, offset: int, stocks: int) -> None:
        self.offset, self.stocks = offset, stocks
        self.indicators: dict[str, np.ndarray] = {}
        self.components: dict[str, dict[str, np.ndarray]] = {}
        self.handover: dict[str, np.ndarray] = {}
        self.rule_passed: np.ndarray | None = None
        self.rule_reasons: list[Any] = []
        self.any_rule = False

    def _into(self, out: np.ndarray | None, values: Any, k: int) -> np.ndarray:
        values = np.asarray(values)
        part = values[self.offset:] if values.ndim == 2 else values
        if out is None:
            out = np.empty((*part.shape[:-1], self.stocks), dtype=part.dtype)
        elif out.dtype != np.result_type(out, part):  # as np.concatenate would promote
            out = out.astype(np.result_type(out, part))
        out[..., k:k + part.shape[-1]] = part
        return out

    def add(self, table: FactorTable, k: int) -> None:
        for key, values in table.indicators.items():
            self.indicators[key] = self._into(self.indicators.get(key), values, k)
        for group, parts in table.components.items():
            into = self.components.setdefault(group, {})
            for name, values in parts.items():
                into[name] = self._into(into.get(name), values, k)
        for key, values in table.handover.items():
            self.handover[key] = self._into(self.handover.get(key), values, k)
        if k == 0:
            self.any_rule = table.rule_passed is not None
        if self.any_rule:
            self.rule_passed = self._into(self.rule_passed, table.rule_passed, k)
        self.rule_reasons.extend(table.rule_reasons)

    def table(self) -> FactorTable:
        return FactorTable(indicators=self.indicators, components=self.components, rule_passed=self.rule_passed,
                           rule_reasons=self.rule_reasons, handover=self.handover)


class PanelScreens:
    """The whole-panel pass for `ScreeningStrategy` subclasses (see the module docstring).

    Days are computed in chunks of `chunk_days` (each with the strategy's `lookback_days` of warm-up rows
    before it, so that the first day of a chunk sees what the live screen sees), as the engine moves forward."""

    def __init__(self, strategy: ScreeningStrategy, panel: DailyPanel, instruments: Any = None,
                 chunk_days: int = CHUNK_DAYS, prefetch: bool | None = None) -> None:
        self.strategy = strategy
        self.panel = panel
        self.config = strategy.config
        self.lookback = strategy.lookback_days
        self.chunk_days = chunk_days
        flags = (InstrumentFlags.from_master(panel, instruments) if instruments is not None
                 else InstrumentFlags.guessed(panel))
        # the master's halt flag is today's; in history a halt shows as days without a trade
        self.flags = replace(flags, halted=np.zeros_like(flags.halted), warned=None)  # warnings are today's too
        self.weights = self.config.weights.model_dump()
        self.codes = panel.codes.tolist()
        self.names = panel.names.tolist()
        self.code_array = np.asarray(panel.codes).astype(str)
        self.codes_sorted = bool(np.all(self.code_array[:-1] < self.code_array[1:]))
        self.column_of = {code: i for i, code in enumerate(self.codes)}
        self.segment_rows = np.flatnonzero(panel.segment_starts())  # first row of each gap-free stretch
        self._span = (0, 0)  # panel rows [first, end) whose tables are computed; `_base` is the chunk's row 0
        self._base = 0
        self.chunk: _Chunk | None = None
        # a worker thread only pays with a second core, and costs one more chunk of memory (~50 MB at 2,900
        # stocks, kept and transient): on a small machine or under a tight cgroup limit (the 1 GB VM) memory wins
        self.prefetch = ((os.cpu_count() or 1) > 1 and memory_available() >= PREFETCH_MIN_MEMORY
                         if prefetch is None else prefetch)
        self._pending: dict[int, Future[_Chunk]] = {}
        self._pool: ThreadPoolExecutor | None = None

    def _compute(self, row: int) -> int:
        """Make sure `row`'s chunk is computed; returns `row`'s index inside the chunk arrays.

        While the engine trades through one chunk, the next one is computed on a worker thread (numpy releases
        the GIL); the whole-panel mode is `factors`' `rows` argument, so the strategy object is shared."""
        first, end = self._span
        if not first <= row < end or end == 0:
            first = self._chunk_first(row)
            self.chunk = None  # free the previous chunk before the next
            pending = self._pending.pop(first, None)
            self.chunk = pending.result() if pending is not None else self._chunk(first, self.strategy)
            self._pending.clear()
            following = self.chunk.end
            if following < self.panel.shape[0] and self.prefetch:
                self._pending[following] = self._executor().submit(self._chunk, following, self.strategy)
            self._span, self._base = (first, self.chunk.end), self.chunk.base
        return row - self._base

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="backtest-screens")
        return self._pool

    def close(self) -> None:
        """Stop the prefetching thread (the engine calls this at the end of a run)."""
        for future in self._pending.values():
            future.cancel()
        self._pending.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _segment(self, row: int) -> tuple[int, int]:
        """[start, end) rows of the gap-free stretch holding `row`."""
        k = int(np.searchsorted(self.segment_rows, row, side="right")) - 1
        start = int(self.segment_rows[k]) if k >= 0 else 0
        end = int(self.segment_rows[k + 1]) if k + 1 < self.segment_rows.size else self.panel.shape[0]
        return start, end

    def _chunk_first(self, row: int) -> int:
        """The first row of `row`'s chunk: chunks tile each segment from its start."""
        start, _ = self._segment(row)
        return start + ((row - start) // self.chunk_days) * self.chunk_days

    def _chunk(self, first: int, strategy: ScreeningStrategy) -> _Chunk:
        segment_start, segment_end = self._segment(first)
        end = min(first + self.chunk_days, segment_end)
        base = max(segment_start, first - self.lookback + 1)
        view = self.panel.slice_days(base, end)
        # adjusted backward from the chunk's last row; the price filter reads raw won
        prices = adjusted_prices(view)
        scale = view.price_scale()
        raw_close = fill_untraded(view.close, view.volume) if scale is not None else None
        eligibility = eligibility_series(view, prices, self.flags, self.config.filters, self.lookback,
                                         raw_close=raw_close)
        # factors are per stock: compute them only for stocks eligible on some day of this chunk
        columns = np.flatnonzero(eligibility.eligible[first - base:].any(axis=0))
        offset = first - base
        table = self._traded_factors(strategy, view, prices, eligibility, columns, offset)
        # every traded day's ranks in one pass (one sort per component and chunk, not per day)
        reference = eligibility.eligible[offset:][:, columns]
        scored = composite_score(table.components, self.weights, reference, keep_ranks=False)
        table.components = {}  # ranked: only the indicators, rule and hand-over are read per day
        composite = Composite(score=scored.score, groups=scored.groups, components={})  # the ranks are not read
        # per day only who is eligible is read: the history and traded-value arrays go with the factors
        eligibility = replace(eligibility, history=_NOT_KEPT, avg_traded_value=_NOT_KEPT)
        return _Chunk(base=base, end=end, prices=prices, eligibility=eligibility, factor_columns=columns,
                      table=table, regimes=market_regimes(prices, self.config.selection), offset=offset,
                      composite=composite, scale=scale)

    @property
    def _loaded(self) -> _Chunk:
        """The current chunk; `_compute` loads it before any per-day read."""
        if self.chunk is None:
            raise RuntimeError("no chunk computed yet: call _compute(row) first")
        return self.chunk

    # the current chunk's arrays, as the per-day code reads them
    @property
    def prices(self) -> Prices:
        return self._loaded.prices

    @property
    def eligibility(self) -> Any:
        return self._loaded.eligibility

    @property
    def factor_columns(self) -> np.ndarray:
        return self._loaded.factor_columns

    @property
    def table(self) -> Any:
        return self._loaded.table

    @property
    def regimes(self) -> list[Any]:
        return self._loaded.regimes

    @classmethod
    def _traded_factors(cls, strategy: ScreeningStrategy, view: DailyPanel, prices: Prices, eligibility: Any,
                        columns: np.ndarray, offset: int) -> FactorTable:
        """The strategy's `factors` for the chunk's traded rows (`offset` on) and the stocks at `columns`.

        Computed over blocks of `FACTOR_BLOCK` stocks, each cut to the traded rows as soon as it is made: the
        warm-up rows of every indicator (two thirds of a chunk) never exist for all stocks at once, which
        bounds the pass's memory. Factors are per stock (the framework ranks across stocks afterwards, and
        already hands `factors` a subset of the stocks), so a block's values are the whole pass's."""
        if columns.size <= FACTOR_BLOCK:
            return cls._trimmed(cls._factors(strategy, view, prices, eligibility, columns), offset)
        joined = _Joined(offset, columns.size)
        for k in range(0, columns.size, FACTOR_BLOCK):
            joined.add(cls._factors(strategy, view, prices, eligibility, columns[k:k + FACTOR_BLOCK]), k)
        return joined.table()

    @staticmethod
    def _trimmed(table: FactorTable, offset: int) -> FactorTable:
        """`table` with every per-day array cut to rows `offset` on (copies: the warm-up rows are freed)."""
        def cut(values: Any) -> Any:
            values = np.asarray(values)
            return np.ascontiguousarray(values[offset:]) if values.ndim == 2 else values

        return FactorTable(indicators={key: cut(v) for key, v in table.indicators.items()},
                           components={group: {name: cut(v) for name, v in parts.items()}
                                       for group, parts in table.components.items()},
                           rule_passed=cut(table.rule_passed) if table.rule_passed is not None else None,
                           rule_reasons=list(table.rule_reasons),
                           handover={key: cut(v) for key, v in table.handover.items()})

    @staticmethod
    def _factors(strategy: ScreeningStrategy, view: DailyPanel, prices: Prices, eligibility: Any,
                 columns: np.ndarray) -> Any:
        """The strategy's `factors` for every day of `view`, for the stocks at `columns` only."""
        sub = DailyPanel(dates=view.dates, codes=view.codes[columns], names=view.names[columns],
                         markets=view.markets[columns],
                         **{f: getattr(view, f)[:, columns] for f in ("open", "high", "low", "close", "volume",
                                                                        "amount")},
                         factor=view.factor[:, columns] if view.factor is not None else None)
        sub_prices = Prices(**{f.name: getattr(prices, f.name)[:, columns] for f in fields(Prices)})
        sub_eligibility = replace(eligibility, eligible=eligibility.eligible[:, columns],
                                  history=eligibility.history[:, columns],
                                  avg_traded_value=eligibility.avg_traded_value[:, columns])
        return strategy.factors(sub, sub_prices, sub_eligibility, EVERY_DAY)

    @staticmethod
    def _row(values: np.ndarray, row: int, columns: np.ndarray) -> np.ndarray:
        values = np.asarray(values)
        return values[row][columns] if values.ndim == 2 else values[columns]  # a row view, then one gather

    def _watchlist(self, eligible: np.ndarray, score: np.ndarray,
                   passed: np.ndarray) -> tuple[list[str], list[_Ranked]]:
        """The strategy's `build_watchlist` over the passed stocks, fed best first and only as many as it reads:
        it walks the ranking until `top_n` are taken, so a prefix that yields `top_n` gives the same list."""
        cfg = self.config.watchlist
        k_passed = np.flatnonzero(passed)
        if k_passed.size == 0:
            return [], []
        tiebreak = eligible[k_passed] if self.codes_sorted else self.code_array[eligible[k_passed]]
        order = k_passed[np.lexsort((tiebreak, -score[k_passed]))]
        size = cfg.top_n * 2
        while True:
            head = order[:size]
            light = [_Ranked(self.codes[i], float(score[k]), self.flags.sector[i], i)
                     for k, i in zip(head.tolist(), eligible[head].tolist(), strict=True)]
            watchlist = build_watchlist(light, cfg.top_n, cfg.max_per_sector)
            if len(watchlist) >= cfg.top_n or size >= order.size:
                return watchlist, light
            size *= 4

    def screen_at(self, panel_row: int) -> ScreenResult:
        """Phase 1 of the day at `panel_row`: the watchlist, with full `StockScore`s for its stocks only."""
        day = self.panel.date_at(panel_row)
        row = self._compute(panel_row)
        eligible = np.flatnonzero(self.eligibility.eligible[row])
        if eligible.size == 0:
            return ScreenResult(on=day, scores=[], watchlist=[])
        local = np.searchsorted(self.factor_columns, eligible)  # eligible stocks in the factor arrays
        chunk = self._loaded
        ranked_row = row - chunk.offset
        raw = chunk.composite.score[ranked_row][local]
        with np.errstate(invalid="ignore"):
            score = np.where(np.isfinite(raw), np.round(raw, 4), 0.0)
            passed = np.isfinite(raw) & (score >= self.config.watchlist.min_score)
        if self.table.rule_passed is not None:
            passed &= self._row(self.table.rule_passed, ranked_row, local).astype(bool)
        watchlist, light = self._watchlist(eligible, score, passed)
        by_code = {s.code: s for s in light}
        picked = np.searchsorted(eligible, [self.column_of[code] for code in watchlist]).astype(np.int64)
        columns = local[picked]
        table = {key: np.round(self._row(values, ranked_row, columns).astype(float), 6).tolist()
                 for key, values in self.table.indicators.items()}
        table.update({f"score.{key}": np.round(values[ranked_row][columns], 4).tolist()
                      for key, values in chunk.composite.groups.items()})
        finite = [(key, values) for key, values in table.items()]
        kind = self.strategy.handover_type
        handover = ([(name, np.round(self._row(values, ranked_row, columns).astype(float), HANDOVER_DECIMALS).tolist())
                     for name, values in kind.columns(**self.table.handover).items()] if kind is not None else [])
        scores = []
        for n, code in enumerate(watchlist):
            factors = {key: values[n] for key, values in finite if values[n] - values[n] == 0.0}  # finite only
            ranked = by_code[code]
            scores.append(StockScore(code=code, name=self.names[ranked.column], score=ranked.score, passed=True,
                                     reasons=(), factors=factors, sector=ranked.sector,
                                     handover=kind(**{name: values[n] for name, values in handover})
                                     if kind is not None else None))
        return ScreenResult(on=day, scores=scores, watchlist=watchlist)

    def _window(self, panel_row: int, rows: int) -> tuple[DailyPanel, Prices]:
        """The last `rows` rows up to `panel_row` (at most what the chunk holds): views, no copies."""
        row = self._compute(panel_row)
        start = max(0, row + 1 - rows)
        view = self.panel.slice_days(self._base + start, panel_row + 1)
        prices = Prices(**{f.name: getattr(self.prices, f.name)[start:row + 1] for f in fields(Prices)})
        return view, prices

    def _action_pending(self, panel_row: int, watchlist: list[str]) -> bool:
        scale = self.chunk.scale if self.chunk is not None else None
        if scale is None:
            return False
        local = panel_row - self._base
        return any(scale[local, self.column_of[code]] != 1.0 for code in watchlist)

    def candidates_after(self, row: int) -> list[Candidate]:
        if row < 0:
            return []
        screen = self.screen_at(row)
        if not screen.watchlist:
            return []
        if self._action_pending(row, screen.watchlist):
            # a watchlist stock has a corporate action later in this chunk: its chunk prices are in post-action
            # units, so the day's candidates come from the live path on the window ending here (raw won)
            view = self.panel.slice_days(max(0, row + 1 - self.lookback), row + 1)
            live = self.strategy.screen(view, screen.on)
            return self.strategy.select(view, live, screen.on)
        view, prices = self._window(row, self.lookback)
        regime = self.regimes[row - self._base]
        return self.strategy.select_from(view, prices, regime, screen, screen.on).candidates


def screen_source_for(strategy: Strategy, panel: DailyPanel, instruments: Any = None,
                      lean: bool = False) -> ScreenSource:
    """The fastest correct source for `strategy`: the whole-panel pass for the framework's strategies.

    `lean` trades speed for memory (the scheduler's nightly refresh, beside the long-running process): no
    prefetching thread, so one chunk of indicator arrays at a time. The chunks stay the same (their size sets
    how much warm-up a recursive indicator has seen), so the candidates are the same."""
    if isinstance(strategy, ScreeningStrategy):
        return PanelScreens(strategy, panel, instruments, prefetch=False if lean else None)
    return WindowScreens(strategy, panel)
