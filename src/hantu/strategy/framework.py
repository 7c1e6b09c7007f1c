"""What the built-in strategies share: the Phase 1 / Phase 2 flow around each strategy's own factors and rules.

A strategy built on `ScreeningStrategy` supplies
- `config_model` (pydantic, with `filters`, `indicators` (incl. `history_days`), `weights`, `watchlist`,
  `selection` sections) and a shipped `defaults/<name>.toml`;
- `factors(...)`: raw indicator values at the screening day and the factor components to rank;
- `entry_rule(...)` (optional): a strategy rule a stock must meet besides the score;
- `candidate(...)`: the Phase 2 entry for one watchlist stock;
- `on_price` and `exit_reason`.
Everything else — the data window, eligibility, ranks, composite, watchlist with sector cap, regime, Phase 2
sector cap and sizing bounds, `explain` — is here, once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel

from hantu.clock import KST
from hantu.market.calendar import trading_days
from hantu.market.panel import DailyPanel
from hantu.market.rules import round_to_tick
from hantu.strategy.base import Candidate, Decision, HeldPosition, ScreenResult, StockScore
from hantu.strategy.config import config_hash, flat_settings, resolve_config
from hantu.strategy.indicators import Prices, prepared
from hantu.strategy.regime import MarketRegime, market_regime
from hantu.strategy.scoring import build_watchlist, composite_score
from hantu.strategy.universe import Eligibility, InstrumentFlags, check_eligibility


@dataclass
class FactorTable:
    """One strategy's view of the screening day: raw values per stock and the components to rank."""

    indicators: dict[str, np.ndarray]  # name -> (N,) raw value at the screening day (for explain and reasons)
    components: dict[str, dict[str, np.ndarray]]  # group -> component -> (N,), higher is better
    rule_passed: np.ndarray | None = None  # (N,) bool: a strategy rule besides the score
    rule_reasons: list[str | None] = field(default_factory=list)  # why the rule failed, per stock


@dataclass(frozen=True)
class Selected:
    """Phase 2 outcome: the candidates and the regime that sized the list."""

    candidates: list[Candidate]
    regime: MarketRegime
    skipped: dict[str, str]  # code -> why a watchlist stock was not taken


def tick_round(price: float, direction: str, on: date, market: str) -> int:
    """`market.rules.round_to_tick`, with an unknown market treated as KOSPI (same ladder since 2023-01-25)."""
    try:
        return round_to_tick(price, direction, on, market)  # type: ignore[arg-type]
    except ValueError:
        if not math.isfinite(price) or price <= 0:
            raise
        return round_to_tick(price, direction, on, "KOSPI")  # type: ignore[arg-type]


@lru_cache(maxsize=4096)
def trading_days_held(entry: date, today: date) -> int:
    """Trading days from the entry day to `today` (0 on the entry day itself)."""
    if today <= entry:
        return 0
    return len(trading_days(entry, today)) - 1


def kst_date(now: datetime) -> date:
    """The trading date of `now` (aware datetimes converted to Asia/Seoul; naive ones taken as KST)."""
    return (now.replace(tzinfo=KST) if now.tzinfo is None else now.astimezone(KST)).date()


_last_columns: tuple[np.ndarray, dict[str, int]] | None = None


def _column_index(codes: np.ndarray) -> dict[str, int]:
    """code -> column of a panel's codes; the last mapping is kept for the same array (a backtest selects on
    views of one panel every day)."""
    global _last_columns
    if _last_columns is not None and _last_columns[0] is codes:
        return _last_columns[1]
    mapping = {code: i for i, code in enumerate(codes.tolist())}
    _last_columns = (codes, mapping)
    return mapping


def adjusted_prices(view: DailyPanel) -> Prices:
    """The indicator inputs of a window: prices adjusted for corporate actions (`DailyPanel.adjusted`,
    backward from the window's last day, so that day's prices are raw won and candidates' limits and stops
    are real prices) through the missing-day policy (`indicators.prepared`)."""
    adj = view.adjusted()
    return prepared(adj.open, adj.high, adj.low, adj.close, adj.volume, adj.amount)


def _finite(value: float) -> bool:
    return value is not None and math.isfinite(value)


class ScreeningStrategy:
    """Base of the built-in strategies (see the module docstring)."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    config_model: ClassVar[type[BaseModel]]
    defaults_file: ClassVar[Path | None] = None  # a plugin's own defaults TOML (built-ins: defaults/<name>.toml)
    flatten_at_close: bool = False
    # True only inside a backtest's whole-panel pass (`hantu.backtest.screens`): `factors` then computes every
    # day at once — `at_day` hands back whole (T, N) indicator arrays instead of the screening day's row.
    all_days: bool = False

    def __init__(self, params: dict[str, Any] | None = None, config_path: Path | None = None,
                 use_settings: bool = True) -> None:
        self.params: dict[str, Any] = dict(params or {})
        self.config: Any = resolve_config(self.name, self.config_model, self.params, config_path, use_settings,
                                          defaults_path=self.defaults_file)
        self.config_hash = config_hash(self.config)

    def settings(self) -> dict[str, Any]:
        """Every setting as `section.key` (what `--param` accepts) with its resolved value."""
        return flat_settings(self.config)

    @property
    def lookback_days(self) -> int:
        """Trading days of data a screen reads (the store loads this many; backtests slice this window)."""
        return int(self.config.indicators.history_days)

    @property
    def required_history_days(self) -> int:
        """Trading days of data a stock needs before the strategy can pick it (the universe filter's
        `min_history_days`; a strategy whose rule needs a longer indicator says so). Backtests refuse a range
        the data cannot carry (`hantu.backtest.service.check_history`)."""
        return int(self.config.filters.min_history_days)

    # --- Phase 1 ---------------------------------------------------------------------------------------
    def window(self, panel: DailyPanel, on: date) -> DailyPanel:
        """The last `lookback_days` rows up to `on`, cut at the last gap in the data (`DailyPanel.last_segment`):
        indicators warm up after a gap as if the data began there."""
        view = panel.upto(on)
        if view.shape[0] == 0:
            raise ValueError(f"no market data on or before {on}")
        return view.slice_days(max(0, view.shape[0] - self.lookback_days), view.shape[0]).last_segment()

    def at_day(self, values: np.ndarray) -> np.ndarray:
        """The screening day's row of an indicator array: `values[-1]` (every row when `all_days`)."""
        return values if self.all_days else values[-1]

    def tail(self, values: np.ndarray, rows: int) -> np.ndarray:
        """The last `rows` days of `values` — all a window indicator needs for the screening day's value (a
        screen on 260 days would otherwise compute every window of every day); every row when `all_days`."""
        return values if self.all_days else values[-max(int(rows), 1):]

    def factors(self, panel: DailyPanel, prices: Prices, eligibility: Eligibility) -> FactorTable:
        """Raw values and rank components at the screening day; take rows with `at_day` so that a backtest can
        compute every day in one pass."""
        raise NotImplementedError

    def score_reasons(self, factors: dict[str, float]) -> list[str]:
        """Readable highlights of one scored, eligible stock from its factors (strategies add key figures)."""
        parts = " · ".join(f"{key[6:]} {value:.0f}" for key, value in factors.items() if key.startswith("score."))
        return [f"factors: {parts}"] if parts else []

    def screen(self, panel: DailyPanel, on: date, instruments: Any = None) -> ScreenResult:
        """Phase 1: every stock of `panel` (data up to `on`) scored, passed or failed with reasons.

        `instruments`: an `InstrumentFlags` aligned with the panel, or instrument-master rows, or None (guess
        SPAC / preferred from names; halts show as untraded days)."""
        view = self.window(panel, on)
        prices = adjusted_prices(view)
        flags = (instruments if isinstance(instruments, InstrumentFlags) and instruments.halted.shape[0] == view.shape[1]
                 else InstrumentFlags.from_master(view, instruments) if instruments is not None
                 else InstrumentFlags.guessed(view))
        cfg = self.config
        eligibility = check_eligibility(view, prices, flags, cfg.filters)
        table = self.factors(view, prices, eligibility)
        composite = composite_score(table.components, cfg.weights.model_dump(), eligibility.eligible)
        data_date = view.date_at(view.shape[0] - 1)
        min_score = cfg.watchlist.min_score
        raw_scores = composite.score
        # per-stock Python objects are the slow part of a screen: round and convert columns once, vectorised
        columns = [(key, np.round(values, 6).tolist()) for key, values in table.indicators.items()]
        columns += [(f"score.{key}", np.round(values, 4).tolist()) for key, values in composite.groups.items()]
        columns += [(f"rank.{key}", np.round(values, 4).tolist()) for key, values in composite.components.items()]
        rounded = np.round(np.nan_to_num(raw_scores, nan=0.0), 4).tolist()
        scored = np.isfinite(raw_scores).tolist()
        rule = table.rule_passed.tolist() if table.rule_passed is not None else None
        eligible = eligibility.eligible.tolist()
        scores: list[StockScore] = []
        codes, names, sectors = view.codes.tolist(), view.names.tolist(), flags.sector.tolist()
        for i, code in enumerate(codes):
            score = rounded[i]
            reasons = list(eligibility.reasons[i])
            rule_ok = rule is None or rule[i]
            if not rule_ok and not reasons and table.rule_reasons and table.rule_reasons[i]:
                reasons.append(str(table.rule_reasons[i]))
            if not scored[i] and not reasons:
                missing = [g for g, v in composite.groups.items() if not _finite(v[i])]
                reasons.append(f"not enough data for {', '.join(missing)}")
            passed = not reasons and rule_ok and score >= min_score
            if not reasons and rule_ok and not passed:
                reasons.append(f"score {score:.1f} below {min_score:g}")
            factors = {key: values[i] for key, values in columns if values[i] == values[i]}  # drop NaN
            if scored[i] and eligible[i]:
                reasons.extend(self.score_reasons(factors))
            scores.append(StockScore(code=code, name=names[i], score=score, passed=passed,
                                     reasons=tuple(reasons), factors=factors, sector=sectors[i]))
        watchlist = build_watchlist(scores, cfg.watchlist.top_n, cfg.watchlist.max_per_sector)
        figures = {
            "data_date": data_date.isoformat(), "days": int(view.shape[0]), "universe": len(scores),
            "eligible": int(eligibility.eligible.sum()), "passed": sum(s.passed for s in scores),
            "watchlist": len(watchlist), "config_hash": self.config_hash, "filters_off": flags.filters_off,
        }
        return ScreenResult(on=on, scores=scores, watchlist=watchlist, figures=figures)

    # --- Phase 2 ---------------------------------------------------------------------------------------
    def candidate(self, i: int, rank: int, stock: StockScore, view: DailyPanel, prices: Prices, on: date,
                  regime: MarketRegime) -> Candidate | str:
        """The entry for watchlist stock at column `i`, or why there is none."""
        raise NotImplementedError

    def select_detailed(self, panel: DailyPanel, screen: ScreenResult, on: date) -> Selected:
        view = self.window(panel, on)
        prices = adjusted_prices(view)
        return self.select_from(view, prices, market_regime(prices, self.config.selection), screen, on)

    def select_from(self, view: DailyPanel, prices: Prices, regime: MarketRegime, screen: ScreenResult,
                    on: date) -> Selected:
        """Phase 2 on a prepared window ending at the screening day (a backtest passes views of arrays it
        prepared once for the whole panel)."""
        by_code = {s.code: s for s in screen.scores}
        columns = _column_index(view.codes)
        cap = self.config.selection.max_per_sector
        per_sector: dict[str, int] = {}
        chosen: list[Candidate] = []
        skipped: dict[str, str] = {}
        for code in screen.watchlist:
            if len(chosen) >= regime.max_candidates:
                skipped[code] = f"regime {regime.name} takes {regime.max_candidates}"
                continue
            stock, i = by_code.get(code), columns.get(code)
            if stock is None or i is None:
                skipped[code] = "not in today's data"
                continue
            if stock.sector and cap and per_sector.get(stock.sector, 0) >= cap:
                skipped[code] = f"sector cap {cap} reached for {stock.sector}"
                continue
            made = self.candidate(i, len(chosen) + 1, stock, view, prices, on, regime)
            if isinstance(made, str):
                skipped[code] = made
                continue
            chosen.append(made)
            if stock.sector:
                per_sector[stock.sector] = per_sector.get(stock.sector, 0) + 1
        total = sum(c.weight for c in chosen)
        if total > 1.0:  # never suggest more than the whole equity
            chosen = [_with_weight(c, c.weight / total) for c in chosen]
        return Selected(candidates=chosen, regime=regime, skipped=skipped)

    def select(self, panel: DailyPanel, screen: ScreenResult, on: date) -> list[Candidate]:
        """Phase 2: entry candidates from the watchlist, as many as the market regime allows."""
        return self.select_detailed(panel, screen, on).candidates

    # --- intraday --------------------------------------------------------------------------------------
    def on_price(self, candidate: Candidate, price: float, now: datetime, day_open: float | None) -> Decision | None:
        raise NotImplementedError

    def exit_reason(self, position: HeldPosition, price: float, now: datetime, day_open: float | None) -> str | None:
        raise NotImplementedError

    # --- explain ---------------------------------------------------------------------------------------
    def explain(self, panel: DailyPanel, on: date, code: str, instruments: Any = None) -> dict[str, Any]:
        """Every indicator, factor rank, group score, the composite, pass/fail with reasons, watchlist rank and
        (when taken) the Phase 2 candidate of one stock. `KeyError` for a code not in the data."""
        view = self.window(panel, on)
        column = view.column(code)
        result = self.screen(panel, on, instruments)
        stock = result.scores[column]
        selected = self.select_detailed(panel, result, on) if stock.passed else None
        candidate = next((c for c in selected.candidates if c.code == code), None) if selected else None
        factors = stock.factors
        return {
            "strategy": self.name, "on": on.isoformat(), "data_date": result.figures["data_date"],
            "code": stock.code, "name": stock.name, "market": str(view.markets[column]), "sector": stock.sector,
            "score": stock.score, "passed": stock.passed, "reasons": list(stock.reasons),
            "watchlist_rank": result.watchlist.index(code) + 1 if code in result.watchlist else None,
            "indicators": {k: v for k, v in factors.items() if not k.startswith(("score.", "rank."))},
            "group_scores": {k[6:]: v for k, v in factors.items() if k.startswith("score.")},
            "factor_ranks": {k[5:]: v for k, v in factors.items() if k.startswith("rank.")},
            "weights": self.config.weights.model_dump(),
            "regime": selected.regime.describe() if selected else None,
            "candidate": candidate,
            "not_selected_because": selected.skipped.get(code) if selected and candidate is None else None,
            "figures": result.figures,
        }


def _with_weight(candidate: Candidate, weight: float) -> Candidate:
    from dataclasses import replace

    return replace(candidate, weight=round(weight, 6))
