"""Who may be screened: the instrument facts per stock and the Phase 1 eligibility filters, with reasons.

Facts come from the instrument master (sector, 거래정지, 관리종목, 투자경고/위험, 단기과열, 정리매매, 스팩, 우선주)
when the caller has it (`InstrumentFlags.from_master`). Those facts exist only once a KIS stock master was
loaded (`hantu data sync --master`, `Instrument.master_on`); without it the filters that need them are off,
and `InstrumentFlags.filters_off` names them so that screening says so instead of passing silently. SPAC and
preferred flags are then guessed from codes and names with the market store's own rules, and halts show in the
data as a day without a trade (`exclude_untraded`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import numpy as np

from hantu.market.panel import DailyPanel
from hantu.market.store import guess_is_preferred, guess_is_spac
from hantu.strategy.config import Filters
from hantu.strategy.indicators import Prices, average_traded_value, cumsum_days


@dataclass(frozen=True)
class InstrumentFlags:
    """Instrument facts aligned with a panel's `codes` (every array has shape (N,))."""

    sector: np.ndarray  # object: str or None
    halted: np.ndarray  # bool
    administrative: np.ndarray
    spac: np.ndarray
    preferred: np.ndarray
    warned: np.ndarray | None = None  # 투자경고/위험, 단기과열 or 정리매매 (None: not known)
    mastered: bool = False  # a KIS master set the flags of at least one stock of the panel

    @property
    def filters_off(self) -> list[str]:
        """The filters that cannot act because no instrument master was loaded (empty when one was)."""
        if self.mastered:
            return []
        return ["관리종목 (administrative)", "거래정지 (halted; untraded days still excluded)",
                "투자경고/위험·단기과열 (market warnings)", "sector cap (no sectors)",
                "SPAC/우선주 guessed from names"]

    @classmethod
    def guessed(cls, panel: DailyPanel) -> InstrumentFlags:
        """No master at hand: SPAC / preferred from names and codes, nothing halted or administrative."""
        codes, names = panel.codes.tolist(), panel.names.tolist()
        n = len(codes)
        return cls(
            sector=np.full(n, None, dtype=object),
            halted=np.zeros(n, dtype=bool),
            administrative=np.zeros(n, dtype=bool),
            spac=np.array([guess_is_spac(name) for name in names], dtype=bool),
            preferred=np.array([guess_is_preferred(c, name) for c, name in zip(codes, names, strict=True)],
                               dtype=bool),
        )

    @classmethod
    def from_master(cls, panel: DailyPanel, instruments: Iterable[Any]) -> InstrumentFlags:
        """From instrument-master rows (anything with `code`, `sector`, `is_halted`, `is_administrative`,
        `is_spac`, `is_preferred`); stocks missing from the master fall back to `guessed`."""
        flags = cls.guessed(panel)
        warned = np.zeros(panel.shape[1], dtype=bool)
        mastered = False
        index = {code: i for i, code in enumerate(panel.codes.tolist())}
        for row in instruments:
            i = index.get(row.code)
            if i is None:
                continue
            flags.sector[i] = row.sector or None
            flags.halted[i] = bool(row.is_halted)
            flags.administrative[i] = bool(row.is_administrative)
            flags.spac[i] = bool(row.is_spac) or flags.spac[i]
            flags.preferred[i] = bool(row.is_preferred) or flags.preferred[i]
            on = getattr(row, "master_on", None)  # DB rows and older stores have no master date
            if on is not None:
                mastered = True
                warned[i] = row.warning in ("warning", "danger") or row.is_overheated or row.is_liquidating
        return replace(flags, warned=warned if mastered else None, mastered=mastered)


@dataclass(frozen=True)
class Eligibility:
    """Per stock: eligible or not, and every failed filter as a readable reason."""

    eligible: np.ndarray  # bool (N,)
    reasons: list[list[str]]  # failed filters per stock (empty = eligible)
    history: np.ndarray  # int (N,): trading days with a price in the window
    avg_traded_value: np.ndarray  # float (N,): won per day


def _won(value: float) -> str:
    """Korean-style amount: 12.3억, 4,500만 or plain won."""
    if not np.isfinite(value):
        return "n/a"
    if abs(value) >= 1e8:
        return f"{value / 1e8:,.1f}억"
    if abs(value) >= 1e4:
        return f"{value / 1e4:,.0f}만"
    return f"{value:,.0f}"


def check_eligibility(panel: DailyPanel, prices: Prices, flags: InstrumentFlags, filters: Filters) -> Eligibility:
    """Apply the filters on the panel's last day. `prices` are `indicators.prepared` arrays of the same panel."""
    n = panel.shape[1]
    day: date = panel.date_at(panel.shape[0] - 1)
    last_close = prices.close[-1]
    listed = ~np.isnan(panel.volume[-1])
    traded = panel.volume[-1] > 0
    history = (~np.isnan(prices.close)).sum(axis=0)
    atv_days = min(filters.traded_value_days, panel.shape[0])
    atv = average_traded_value(prices.amount[-atv_days:], atv_days)[-1]
    reasons: list[list[str]] = [[] for _ in range(n)]

    def flag(mask: np.ndarray, message) -> None:
        for i in np.flatnonzero(mask):
            reasons[i].append(message(i) if callable(message) else message)

    flag(~listed, f"not listed on {day}")
    if filters.exclude_untraded:
        flag(listed & ~traded, f"no trade on {day} (suspended or no buyer)")
    if filters.exclude_halted:
        flag(flags.halted, "halted (거래정지) in the instrument master")
    if filters.exclude_administrative:
        flag(flags.administrative, "administrative issue (관리종목)")
    if filters.exclude_warned and flags.warned is not None:
        flag(flags.warned, "market warning (투자경고/위험, 단기과열 or 정리매매)")
    if filters.exclude_spac:
        flag(flags.spac, "SPAC (스팩)")
    if filters.exclude_preferred:
        flag(flags.preferred, "preferred share (우선주)")
    flag(listed & (history < filters.min_history_days),
         lambda i: f"history {int(history[i])} days < {filters.min_history_days} required")
    with np.errstate(invalid="ignore"):
        flag(listed & (last_close < filters.min_price),
             lambda i: f"price {last_close[i]:,.0f} < minimum {filters.min_price:,.0f}")
        low_value = listed & ~(atv >= filters.min_avg_traded_value)
    flag(low_value, lambda i: f"average traded value {_won(atv[i])} < {_won(filters.min_avg_traded_value)} "
                              f"over {filters.traded_value_days} days")
    eligible = np.array([not r for r in reasons], dtype=bool)
    return Eligibility(eligible=eligible, reasons=reasons, history=history, avg_traded_value=atv)


def eligibility_series(panel: DailyPanel, prices: Prices, flags: InstrumentFlags, filters: Filters,
                       window: int, raw_close: np.ndarray | None = None) -> Eligibility:
    """`check_eligibility` for every day of `panel` at once (a backtest's whole-panel pass): the same filters,
    row `t` using rows `<= t` only, with the history counted over the trailing `window` rows (the screening
    window). Arrays are (T, N); no reasons (a backtest only needs who passed). `raw_close`: the day's raw
    close for the price filter when `prices` are adjusted to a later day (default `prices.close`)."""
    listed = ~np.isnan(panel.volume)
    ok = listed.copy()
    if filters.exclude_untraded:
        ok &= panel.volume > 0
    static = np.ones(panel.shape[1], dtype=bool)
    warned = flags.warned if flags.warned is not None else np.zeros_like(flags.halted)
    for enabled, mask in ((filters.exclude_halted, flags.halted), (filters.exclude_administrative, flags.administrative),
                          (filters.exclude_spac, flags.spac), (filters.exclude_preferred, flags.preferred),
                          (filters.exclude_warned, warned)):
        if enabled:
            static &= ~mask
    ok &= static[None, :]
    counts = cumsum_days(~np.isnan(prices.close), np.int64)
    history = counts.copy()
    history[window:] -= counts[:-window]
    ok &= history >= filters.min_history_days
    atv = average_traded_value(prices.amount, filters.traded_value_days)
    with np.errstate(invalid="ignore"):
        ok &= ~((prices.close if raw_close is None else raw_close) < filters.min_price)
        ok &= atv >= filters.min_avg_traded_value
    return Eligibility(eligible=ok, reasons=[], history=history, avg_traded_value=atv)
