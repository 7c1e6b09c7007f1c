"""Corporate actions: splits, reverse splits (incl. capital reductions), bonus/rights issues and dividends,
as price-adjustment factors.

A factor `f` on ex-date `e` means: every price before `e` times `f` is comparable with prices from `e` on
(a 5:1 split has f = 0.2, a 1:3 consolidation f = 3; volumes scale by 1/f). The adjusted series
(`DailyPanel.adjusted_close`, ...) is backward-adjusted: the panel's last day keeps its raw prices, so that
indicators, screening and backtests see continuous series while orders and fills stay in raw won.

Sources (`source`), strongest first when two give the same (code, ex-date): `manual` (a person), `kis` (KIS's
adjusted daily chart, `FID_ORG_ADJ_PRC`, compared with the raw one), `detected` (this module, from the data).

What the detector finds (`detect_days`), on a day whose previous stored day is the previous XKRX trading day:
- the close lies outside the day's legal limits (±30 % of the previous close, `rules.limit_bounds`), and
  - the listed shares changed and the change explains the move (close within the limits of the previous close
    × old/new shares): a split (`split`) or reverse split / capital reduction (`reverse_split`), exact factor;
  - otherwise, with the shares unchanged and the price down, the move snaps to a common ratio (bonus issue
    1:k, split 1:n) with the day's open, high, low and close inside the limits of the implied base: the ex-date
    of a bonus or rights issue (`bonus_issue`; KRX lists the new shares weeks later), factor = that ratio;
  - a rise beyond the limit without a share change (a consolidation relists with its new count the same day:
    this is news, a SPAC merger, a relisting) and a share change that does not explain the move stay raw;
  - a stock with another out-of-limit move within `RUN_DAYS` trading days (liquidation trading, 정리매매, has no
    limits) or a move no ratio explains is left alone and listed as unexplained.
What it cannot find: an event whose price effect stays within the limits (a small bonus or rights issue, a
cash dividend: a drop on the ex-date without a share change is an ordinary move in the data) — those come
from `kis` or `manual` entries. A share-count change alone (conversions, the later listing of bonus shares)
is never an event.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import numpy as np

from hantu.market.calendar import previous_trading_day
from hantu.market.codekeys import code_keys
from hantu.market.rules import limit_bounds

KINDS = ("split", "reverse_split", "bonus_issue", "rights_issue", "dividend", "other")
SOURCES = ("detected", "kis", "manual")
PRIORITY = {"detected": 0, "kis": 1, "manual": 2}
RUN_DAYS = 10  # two out-of-limit moves this close together: liquidation trading or news, not an action
SHARE_CHANGE = 0.01  # relative change of listed shares that counts as a change


@dataclass(frozen=True)
class CorporateAction:
    code: str
    ex_date: date
    factor: float  # prices before ex_date × factor = comparable with prices from ex_date on
    kind: str
    source: str
    detail: str = ""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.factor) and self.factor > 0):
            raise ValueError(f"factor must be positive, got {self.factor!r}")
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.source not in SOURCES:
            raise ValueError(f"source must be one of {', '.join(SOURCES)}, got {self.source!r}")

    @property
    def share_ratio(self) -> float:
        """New shares per old share (a 5:1 split: 5)."""
        return 1.0 / self.factor

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["ex_date"] = self.ex_date.isoformat()
        return out

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> CorporateAction:
        return cls(
            code=str(row["code"]),
            ex_date=date.fromisoformat(row["ex_date"]),
            factor=float(row["factor"]),
            kind=str(row["kind"]),
            source=str(row["source"]),
            detail=str(row.get("detail", "")),
        )


def effective(actions: Iterable[CorporateAction]) -> list[CorporateAction]:
    """One action per (code, ex-date): the strongest source wins (manual > kis > detected)."""
    best: dict[tuple[str, date], CorporateAction] = {}
    for action in actions:
        key = (action.code, action.ex_date)
        if key not in best or PRIORITY[action.source] >= PRIORITY[best[key].source]:
            best[key] = action
    return sorted(best.values(), key=lambda a: (a.ex_date, a.code))


def factor_matrix(
    dates: np.ndarray, codes: np.ndarray, actions: Iterable[CorporateAction]
) -> np.ndarray | None:
    """(T, N) cumulative factors of a panel: row t holds the product of the factors of the actions after t
    inside the panel (the last row is 1). None when no action falls inside (the common case: no array)."""
    if len(dates) == 0:
        return None
    column = {str(c): i for i, c in enumerate(np.asarray(codes).tolist())}
    first, last = dates[0].astype("datetime64[D]").item(), dates[-1].astype("datetime64[D]").item()
    out: np.ndarray | None = None
    for action in actions:
        col = column.get(action.code)
        if col is None or not (first < action.ex_date <= last) or action.factor == 1.0:
            continue
        if out is None:
            out = np.ones((len(dates), len(column)), dtype=np.float64)
        row = int(np.searchsorted(dates, np.datetime64(action.ex_date, "D"), side="left"))
        out[:row, col] *= action.factor
    return out


# --- detection ---------------------------------------------------------------------------------------------


def _nice_ratios() -> np.ndarray:
    """Common price ratios of KRX actions: bonus issues 1:k (1/(1+k)), splits 1:n, consolidations n:1."""
    bonus = [
        1.0 / (1.0 + k) for k in (0.05, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0)
    ]
    splits = [1.0 / n for n in (2, 2.5, 4, 5, 10, 20, 25, 50, 100)]
    consolidations = [float(n) for n in (2, 2.5, 3, 4, 5, 10, 15, 20, 25, 30, 50, 100)]
    return np.array(sorted(set(bonus + splits + consolidations)))


NICE = _nice_ratios()


@dataclass(frozen=True)
class Unexplained:
    """An out-of-limit move the detector did not turn into an action (for `data check` and the docs)."""

    code: str
    day: date
    previous_close: float
    close: float
    reason: str


def _within(values: Sequence[float], base: float, day: date, market: str) -> bool:
    low, high = limit_bounds(np.array([base]), day, market)
    return all(v <= 0 or low[0] <= v <= high[0] for v in values)


def classify(
    code: str, day: date, market: str, prev_close: float, prev_shares: int, bar: dict[str, float], shares: int
) -> CorporateAction | str:
    """One out-of-limit move: the action that explains it, or why none does."""
    o, h, lo, c = bar["open"], bar["high"], bar["low"], bar["close"]
    if prev_shares > 0 and shares > 0 and abs(shares / prev_shares - 1.0) > SHARE_CHANGE:
        f = prev_shares / shares
        if _within((c,), prev_close * f, day, market):
            kind = "split" if f < 1 else "reverse_split"
            return CorporateAction(
                code,
                day,
                round(f, 10),
                kind,
                "detected",
                f"listed shares {prev_shares:,} → {shares:,}, close {prev_close:,.0f} → {c:,.0f}",
            )
    if prev_shares > 0 and shares > 0 and abs(shares / prev_shares - 1.0) > SHARE_CHANGE:
        return f"listed shares {prev_shares:,} → {shares:,} do not explain the move"
    if c > prev_close:
        # a consolidation relists with its new share count the same day: a rise alone is news, not an action
        known = prev_shares > 0 and shares > 0
        return (
            "rise beyond the limit without a share change"
            if known
            else "rise beyond the limit, listed shares unknown (a consolidation needs a kis or manual entry)"
        )
    ref = (
        math.sqrt(o * c) if o > 0 else c
    )  # between the opening auction and the close: both trade off the base
    order = np.argsort(np.abs(np.log(NICE[NICE < 1]) - math.log(ref / prev_close)))
    for f in NICE[NICE < 1][order[:3]].tolist():
        if _within((o, h, lo, c), prev_close * f, day, market):
            return CorporateAction(
                code,
                day,
                round(f, 10),
                "bonus_issue",
                "detected",
                f"close {prev_close:,.0f} → {c:,.0f} beyond the daily limit without a share "
                f"change: ex-date of a bonus/rights issue, {1 / f:g} shares per old share "
                "(ratio snapped)",
            )
    return "no common ratio explains the move"


def detect_days(
    days: Iterable[tuple[date, np.ndarray, dict[str, np.ndarray]]], markets: dict[str, str]
) -> tuple[list[CorporateAction], list[Unexplained]]:
    """Actions in a run of raw stored days (`MarketStore.iter_raw_days` rows, ascending); the first day is the
    base only. Volume-0 rows count: KRX carries the base price as their close (a resumption day's new base)."""
    market_keys = code_keys(np.array(sorted(markets), dtype="U6")) if markets else np.zeros(0, np.int64)
    market_names = np.array([markets[c] or "KOSPI" for c in sorted(markets)] or ["KOSPI"])
    candidates: list[tuple[int, str, date, float, dict[str, float], int, int]] = []
    # the last close > 0 and its listed shares per code, as sorted int64 keys (vectorised: no per-stock Python)
    keys, last_close, last_shares = np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64)
    prev_day: date | None = None
    flagged: dict[str, list[int]] = {}
    for index, (day, codes, raw) in enumerate(days):
        k = code_keys(codes)
        close = raw["close"].astype(np.float64)
        shares = raw["shares"] if "shares" in raw else np.zeros(len(codes), dtype=np.int64)
        consecutive = prev_day is not None and prev_day >= previous_trading_day(day)
        if not consecutive:  # across a gap the previous close is not the day's base
            keys, last_close, last_shares = np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64)
        if keys.size:
            pos = np.clip(np.searchsorted(keys, k), 0, keys.size - 1)
            known = keys[pos] == k
            base = np.where(known, last_close[pos], np.nan)
            base_shares = np.where(known, last_shares[pos], 0)
            if market_keys.size:
                mpos = np.clip(np.searchsorted(market_keys, k), 0, market_keys.size - 1)
                mk = np.where(market_keys[mpos] == k, market_names[mpos], "KOSPI")
            else:
                mk = np.full(len(codes), "KOSPI")
            out = np.zeros(len(codes), dtype=bool)
            with np.errstate(invalid="ignore"):
                valid = (base > 0) & (close > 0)
            for market in np.unique(mk[valid]):
                m = (mk == market) & valid
                low, high = limit_bounds(base[m], day, str(market))
                out[np.flatnonzero(m)] = (close[m] < low) | (close[m] > high)
            for i in np.flatnonzero(out).tolist():
                code = str(codes[i])
                flagged.setdefault(code, []).append(index)
                bar = {f: float(raw[f][i]) for f in ("open", "high", "low", "close")}
                candidates.append(
                    (index, code, day, float(base[i]), bar, int(base_shares[i]), int(shares[i]))
                )
        has = close > 0
        merged = np.union1d(keys, k[has])
        new_close = np.full(merged.size, np.nan)
        new_shares = np.zeros(merged.size, dtype=np.int64)
        old_at = np.searchsorted(merged, keys)
        new_close[old_at], new_shares[old_at] = last_close, last_shares
        at = np.searchsorted(merged, k[has])
        new_close[at], new_shares[at] = close[has], shares[has]
        keys, last_close, last_shares = merged, new_close, new_shares
        prev_day = day
    actions: list[CorporateAction] = []
    unexplained: list[Unexplained] = []
    for index, code, day, base_close, bar, prev_shares, shares_now in candidates:
        near = [j for j in flagged[code] if j != index and abs(j - index) <= RUN_DAYS]
        share_change = prev_shares > 0 and shares_now > 0 and abs(shares_now / prev_shares - 1) > SHARE_CHANGE
        if near and not share_change:
            unexplained.append(
                Unexplained(
                    code,
                    day,
                    base_close,
                    bar["close"],
                    "another out-of-limit move within 10 days (liquidation trading?)",
                )
            )
            continue
        found = classify(code, day, markets.get(code) or "KOSPI", base_close, prev_shares, bar, shares_now)
        if isinstance(found, str):
            unexplained.append(Unexplained(code, day, base_close, bar["close"], found))
        else:
            actions.append(found)
    return actions, unexplained


def adjust_position(quantity: int, avg_price: float, factor: float) -> tuple[int, float, float]:
    """A holding across an action: (new quantity, new average price, fractional shares paid in cash, in new
    shares). The cost basis (quantity × average price) is kept, except the cash for the fraction."""
    exact = quantity / factor
    new_quantity = math.floor(exact + 1e-9)
    fraction = max(exact - new_quantity, 0.0)
    new_avg = avg_price * factor
    return new_quantity, new_avg, fraction
