"""Look-ahead and recursion check of a strategy (`hantu strategy check NAME`).

A strategy must decide day `d` from data up to `d` only, and give the same answer whatever history it was
handed beyond what it declares it reads (`lookback_days`). Both are checked by running the strategy's own
`screen` and `select` on variants of one panel and comparing every output with the baseline (the full panel):

- **look-ahead**: the bars after `d` replaced by different (seeded, random-walk) bars, and the panel cut right
  after `d`. Any score, factor, pass/fail, watchlist or candidate that changes used the future.
- **recursion**: the panel starting exactly `lookback_days` rows before the end of `d` (the rows after `d`
  kept as they are). A value that changes depends on
  how much history the strategy was given (an EMA or Wilder average seeded at the first row it sees, say):
  the live screen, which loads `lookback_days`, would then not match a backtest that had more.

This is what freqtrade's lookahead-analysis does for its strategies, over this project's Phase 1 / Phase 2
contract. Intraday hooks (`on_price`, `exit_reason`) see a price and a time only, so they are not varied.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date
from typing import Any

import numpy as np

from hantu.backtest.screens import DEFAULT_LOOKBACK_DAYS
from hantu.market.panel import DailyPanel
from hantu.strategy.base import Candidate, ScreenResult, Strategy
from hantu.strategy.framework import ScreeningStrategy
from hantu.strategy.registry import create_strategy

REL_TOL = 1e-9  # values are recomputed from the same rows: anything beyond rounding noise is a finding
CANDIDATE_FIELDS = ("entry_price", "stop_price", "target_price", "weight", "score", "atr")


@dataclass(frozen=True)
class Finding:
    """One output that changed between the baseline and a variant of the panel."""

    kind: str  # "lookahead" | "recursion"
    day: date
    what: str  # "score", "factor", "passed", "watchlist", "candidates", "candidate"
    code: str | None
    name: str | None  # the factor or candidate field
    baseline: Any
    variant: Any
    variant_name: str  # "future bars changed" | "panel cut after the day" | "history of lookback_days"

    def describe(self) -> str:
        subject = f"{self.what} {self.name}" if self.name else self.what
        of = f" of {self.code}" if self.code else ""
        return (f"{self.kind}: {subject}{of} on {self.day} changed with {self.variant_name}: "
                f"{_short(self.baseline)} → {_short(self.variant)}")

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "day": self.day.isoformat(), "what": self.what, "code": self.code,
                "name": self.name, "baseline": _plain(self.baseline), "variant": _plain(self.variant),
                "variant_name": self.variant_name, "text": self.describe()}


@dataclass
class CheckReport:
    """What `check_strategy` found, by kind, and what it looked at."""

    strategy: str
    days: list[date]
    lookback_days: int
    findings: list[Finding] = field(default_factory=list)
    compared: int = 0  # values compared
    notes: list[str] = field(default_factory=list)

    @property
    def lookahead(self) -> list[Finding]:
        return [f for f in self.findings if f.kind == "lookahead"]

    @property
    def recursion(self) -> list[Finding]:
        return [f for f in self.findings if f.kind == "recursion"]

    @property
    def passed(self) -> bool:
        return not self.findings

    def summary(self) -> dict[str, Any]:
        """Counts per kind and the affected outputs (a factor named once however many stocks it moved)."""
        def names(found: list[Finding]) -> list[str]:
            return sorted({f"{f.what}:{f.name}" if f.name else f.what for f in found})

        return {"lookahead": len(self.lookahead), "recursion": len(self.recursion),
                "lookahead_outputs": names(self.lookahead), "recursion_outputs": names(self.recursion)}

    def to_dict(self) -> dict[str, Any]:
        return {"strategy": self.strategy, "passed": self.passed, "days": [d.isoformat() for d in self.days],
                "lookback_days": self.lookback_days, "compared": self.compared, "notes": self.notes,
                **self.summary(),
                "findings": [f.to_dict() for f in self.findings]}


def check_strategy(strategy: Strategy, panel: DailyPanel, days: Sequence[date] | None = None, *,
                   samples: int = 5, seed: int = 7, instruments: Any = None,
                   max_findings_per_check: int = 50,
                   progress: Callable[[int, int], None] | None = None) -> CheckReport:
    """Run the look-ahead and recursion checks of `strategy` on `panel` (see the module docstring).

    `days`: the decision days to check (default: `samples` days spread over the part of the panel that has
    at least `lookback_days` of history before it and at least one day after it)."""
    lookback = strategy_lookback(strategy)
    check_days = list(days) if days is not None else sample_days(panel, lookback, samples)
    if not check_days:
        raise ValueError(f"the panel ({panel.shape[0]} days) is too short to check: it needs more than "
                         f"{lookback} days (the strategy's lookback) plus one day after the checked day")
    report = CheckReport(strategy=strategy.name, days=check_days, lookback_days=lookback)
    rng = np.random.default_rng(seed)
    for done, day in enumerate(check_days, start=1):
        row = panel.row(day)
        baseline = _decide(strategy, panel, day, instruments)
        variants = [("lookahead", "future bars changed", future_changed(panel, row, rng)),
                    ("lookahead", "panel cut after the day", panel.slice_days(0, row + 1))]
        if row + 1 > lookback:
            # the future stays: only the history before the day varies
            variants.append(("recursion", f"history of {lookback} days",
                             panel.slice_days(row + 1 - lookback, panel.shape[0])))
        else:
            report.notes.append(f"recursion not checked on {day}: {row + 1} days of history, the strategy "
                                f"reads {lookback}")
        for kind, variant_name, variant_panel in variants:
            other = _decide(strategy, variant_panel, day, instruments)
            found, compared = compare(baseline, other, kind=kind, day=day, variant_name=variant_name)
            report.findings.extend(found[:max_findings_per_check])
            report.compared += compared
        if progress is not None:
            progress(done, len(check_days))
    return report


def strategy_lookback(strategy: Strategy) -> int:
    """The trading days of history the strategy declares it reads (`lookback_days`; 260 when it declares
    none, the engine's default)."""
    return strategy.lookback_days if isinstance(strategy, ScreeningStrategy) else DEFAULT_LOOKBACK_DAYS


def sample_days(panel: DailyPanel, lookback: int, samples: int) -> list[date]:
    """`samples` decision days spread evenly over the rows with a full lookback behind (or, on a panel
    shorter than that, its second half) and at least one day ahead."""
    first, last = min(lookback, (panel.shape[0] - 1) // 2), panel.shape[0] - 2
    if last < first or samples < 1:
        return []
    rows = np.unique(np.linspace(first, last, num=min(samples, last - first + 1)).round().astype(int))
    return [panel.date_at(int(r)) for r in rows]


def future_changed(panel: DailyPanel, row: int, rng: np.random.Generator) -> DailyPanel:
    """`panel` with every day after `row` replaced: prices follow a random walk from the day's close (so a
    strategy that peeks sees a different future), volumes and traded values are scrambled. Rows up to
    `row` are untouched. Works on any (T, N) float field a panel has."""
    if row + 1 >= panel.shape[0]:
        return panel
    future = panel.shape[0] - row - 1
    steps = rng.normal(0.0, 0.03, size=(future, panel.shape[1]))
    path = np.exp(np.cumsum(steps, axis=0))
    anchor = np.where(np.isfinite(panel.close[row]), panel.close[row], 10_000.0)
    close = anchor * path
    swing = 1.0 + np.abs(rng.normal(0.0, 0.01, size=close.shape))
    replaced: dict[str, np.ndarray] = {}
    for item in fields(panel):
        values = getattr(panel, item.name)
        if not isinstance(values, np.ndarray) or values.ndim != 2 or values.dtype.kind != "f":
            continue
        new = values.copy()
        if item.name == "close":
            new[row + 1:] = close
        elif item.name == "open":
            new[row + 1:] = close / swing
        elif item.name == "high":
            new[row + 1:] = close * swing
        elif item.name == "low":
            new[row + 1:] = close / swing / swing
        else:
            new[row + 1:] = rng.permutation(values[row + 1:].ravel()).reshape(future, -1) * rng.uniform(0.5, 2.0)
        replaced[item.name] = new
    return replace(panel, **replaced)


@dataclass(frozen=True)
class _Decision:
    screen: ScreenResult
    candidates: list[Candidate]


def _decide(strategy: Strategy, panel: DailyPanel, day: date, instruments: Any) -> _Decision:
    if isinstance(strategy, ScreeningStrategy):
        screen = strategy.screen(panel, day, instruments)
    else:
        screen = strategy.screen(panel, day)
    return _Decision(screen, list(strategy.select(panel, screen, day)))


def compare(baseline: _Decision, other: _Decision, *, kind: str, day: date,
            variant_name: str) -> tuple[list[Finding], int]:
    """Every difference between two decisions of one day, and how many values were compared."""
    found: list[Finding] = []
    compared = 0

    def add(what: str, code: str | None, name: str | None, a: Any, b: Any) -> None:
        found.append(Finding(kind, day, what, code, name, a, b, variant_name))

    mine = {s.code: s for s in baseline.screen.scores}
    theirs = {s.code: s for s in other.screen.scores}
    for code, stock in mine.items():
        twin = theirs.get(code)
        if twin is None:
            add("score", code, None, stock.score, None)
            continue
        compared += 2
        if not same(stock.score, twin.score):
            add("score", code, None, stock.score, twin.score)
        if stock.passed != twin.passed:
            add("passed", code, None, stock.passed, twin.passed)
        for name in sorted(set(stock.factors) | set(twin.factors)):
            compared += 1
            if not same(stock.factors.get(name), twin.factors.get(name)):
                add("factor", code, name, stock.factors.get(name), twin.factors.get(name))
    compared += 1
    if list(baseline.screen.watchlist) != list(other.screen.watchlist):
        add("watchlist", None, None, list(baseline.screen.watchlist), list(other.screen.watchlist))
    compared += 1
    if [c.code for c in baseline.candidates] != [c.code for c in other.candidates]:
        add("candidates", None, None, [c.code for c in baseline.candidates], [c.code for c in other.candidates])
    others = {c.code: c for c in other.candidates}
    for candidate in baseline.candidates:
        twin_candidate = others.get(candidate.code)
        if twin_candidate is None:
            continue
        for name in CANDIDATE_FIELDS:
            compared += 1
            a, b = getattr(candidate, name), getattr(twin_candidate, name)
            if not same(a, b):
                add("candidate", candidate.code, name, a, b)
    return found, compared


def same(a: Any, b: Any) -> bool:
    """Equal, NaN equal to NaN, floats within `REL_TOL`."""
    if a is None or b is None:
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        fa, fb = float(a), float(b)
        if math.isnan(fa) or math.isnan(fb):
            return math.isnan(fa) and math.isnan(fb)
        return math.isclose(fa, fb, rel_tol=REL_TOL, abs_tol=1e-12)
    return bool(a == b)


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        text = ",".join(map(str, value[:5]))
        return f"[{text}{',…' if len(value) > 5 else ''}]"
    return str(value)


def check_builtins(panel: DailyPanel, names: Iterable[str], **options: Any) -> dict[str, CheckReport]:
    """`check_strategy` of several registered strategies on one panel (tests and `strategy check --all`)."""
    return {name: check_strategy(create_strategy(name, {}), panel, **options) for name in names}
