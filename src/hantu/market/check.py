"""Consistency checks of the store: reported, never silently fixed.

- gap: a calendar trading day inside the stored range with no data;
- extra_day: a stored day that is not a trading day;
- duplicate: a code twice on one day, or a day stored twice;
- nonpositive: a traded row (volume > 0) with a price ≤ 0;
- high_low: high < low, or open/close outside [low, high] on a traded row;
- limit: a close outside the ±30 % limits of the previous close (corporate actions and listing days show up
  here too: they are worth a look, not an error of the store; one the corporate-action table explains says so
  in its detail). Checked only when the previous stored day is the previous trading day: across a gap the
  previous close is not the day's base (the gap is reported).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from hantu.market.calendar import is_trading_day, previous_trading_day, trading_days
from hantu.market.instruments import market_in
from hantu.market.rules import limit_bounds
from hantu.market.store import MarketStore


@dataclass(frozen=True)
class Issue:
    kind: str
    day: date
    code: str | None
    detail: str


# The kinds, most important first (the order `hantu data check` lists them in): a price jump beyond the day's
# limits can be a bad row a strategy would trade on; broken rows next; a missing day is common (windows a year
# apart) and only a gap.
KINDS: dict[str, str] = {
    "limit": "price jumps beyond the ±30 % daily limits",
    "nonpositive": "traded rows with a price ≤ 0",
    "high_low": "rows with high < low or open/close outside [low, high]",
    "duplicate": "duplicates",
    "extra_day": "stored days that are not KRX trading days",
    "gap": "trading days missing from the store",
}


def rank(kind: str) -> int:
    return list(KINDS).index(kind) if kind in KINDS else len(KINDS)


def by_importance(issues: list[Issue]) -> dict[str, list[Issue]]:
    """The issues grouped by kind, most important kind first (date order inside a kind)."""
    groups: dict[str, list[Issue]] = {}
    for issue in sorted(issues, key=lambda i: (rank(i.kind), i.kind, i.day, i.code or "")):
        groups.setdefault(issue.kind, []).append(issue)
    return groups


def gap_ranges(gaps: list[Issue]) -> list[tuple[date, date, int]]:
    """Runs of consecutive missing trading days as (first, last, days): 645 gaps are a few ranges."""
    days = sorted({g.day for g in gaps})
    runs: list[tuple[date, date, int]] = []
    for day in days:
        if runs and previous_trading_day(day) == runs[-1][1]:
            first, _, n = runs[-1]
            runs[-1] = (first, day, n + 1)
        else:
            runs.append((day, day, 1))
    return runs


def check_store(store: MarketStore, limit: int = 10_000) -> list[Issue]:
    """Every issue found (at most `limit`), in date order. A file that cannot be read raises
    `MarketStoreCorrupt` (the whole store is suspect, not one row)."""
    issues: list[Issue] = []
    store.meta()
    dates = store.trading_dates()
    if not dates:
        return issues
    have = set(dates)
    issues += [
        Issue("gap", d, None, "trading day missing from the store")
        for d in trading_days(dates[0], dates[-1])
        if d not in have
    ]
    seen: set[date] = set()
    for d in dates:
        if d in seen:
            issues.append(Issue("duplicate", d, None, "day stored twice"))
        seen.add(d)
        if not is_trading_day(d):
            issues.append(Issue("extra_day", d, None, "not a KRX trading day"))
    master = {i.code: i.market for i in store.instruments()}
    explained = {(a.code, a.ex_date): a for a in store.corporate_actions()}
    prev_codes = np.zeros(0, dtype=str)
    prev_close = np.zeros(0)
    prev_day: date | None = None
    for day, codes, raw in store.iter_raw_days():
        if prev_day is not None and prev_day < previous_trading_day(day):  # trading days missing in between
            prev_codes, prev_close = np.zeros(0, dtype=str), np.zeros(0)
        prev_day = day
        uniq, counts = np.unique(codes, return_counts=True)
        issues += [Issue("duplicate", day, str(c), "code twice on one day") for c in uniq[counts > 1]]
        traded = raw["volume"] > 0
        o, h, lo, c = (raw[k].astype(np.float64) for k in ("open", "high", "low", "close"))
        bad = traded & ((o <= 0) | (h <= 0) | (lo <= 0) | (c <= 0))
        issues += [
            Issue(
                "nonpositive",
                day,
                str(codes[i]),
                f"o={o[i]:.0f} h={h[i]:.0f} l={lo[i]:.0f} c={c[i]:.0f} on a traded day",
            )
            for i in np.flatnonzero(bad)
        ]
        hl = traded & ~bad & ((h < lo) | (o > h) | (o < lo) | (c > h) | (c < lo))
        issues += [
            Issue("high_low", day, str(codes[i]), f"o={o[i]:.0f} h={h[i]:.0f} l={lo[i]:.0f} c={c[i]:.0f}")
            for i in np.flatnonzero(hl)
        ]
        # limits against the previous stored close of the same code
        pos = np.searchsorted(prev_codes, codes)
        pos = np.clip(pos, 0, max(len(prev_codes) - 1, 0))
        known = (
            (len(prev_codes) > 0) & (prev_codes[pos] == codes)
            if len(prev_codes)
            else np.zeros(len(codes), bool)
        )
        base = np.where(known, prev_close[pos] if len(prev_codes) else 0.0, np.nan)
        markets = np.array([market_in(master, str(x)) for x in codes.tolist()])
        for market in np.unique(markets):
            m = (markets == market) & traded & known & (base > 0) & (c > 0)
            if not m.any():
                continue
            low_lim, high_lim = limit_bounds(base[m], day, str(market))
            out = (c[m] > high_lim) | (c[m] < low_lim)
            idx = np.flatnonzero(m)[out]
            issues += [
                Issue(
                    "limit",
                    day,
                    str(codes[i]),
                    f"close {c[i]:.0f} outside [{lo_:.0f}, {hi_:.0f}] of base {base[i]:.0f}"
                    + _action_note(explained, str(codes[i]), day),
                )
                for i, lo_, hi_ in zip(idx, low_lim[out], high_lim[out], strict=True)
            ]
        has_close = c > 0
        merged = dict(zip(prev_codes.tolist(), prev_close.tolist(), strict=True))
        merged.update(zip(codes[has_close].tolist(), c[has_close].tolist(), strict=True))
        prev_codes = np.array(sorted(merged), dtype=str)
        prev_close = np.array([merged[k] for k in prev_codes.tolist()], dtype=np.float64)
        if len(issues) >= limit:
            break
    issues.sort(key=lambda i: (i.day, i.kind, i.code or ""))
    return issues[:limit]


def _action_note(explained: dict, code: str, day: date) -> str:
    action = explained.get((code, day))
    if action is None:
        return ""
    return f" — corporate action: {action.kind} ×{action.factor:.4g} ({action.source}); prices are adjusted for it"
