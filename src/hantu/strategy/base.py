"""The strategy contract: the one base class screening, trading and backtesting all call, every hook declared.

A strategy sees daily data only up to the decision day (`DailyPanel.upto`), so the same object can run live,
in the paper session and in a backtest with no look-ahead.

`Strategy` declares every member the system reads, with its type and default: the four decisions a strategy
must make (`screen`, `select`, `on_price`, `exit_reason`, abstract) and the hooks it may override
(`lookback_days`, `required_history_days`, `flatten_at_close`, `config_hash`, `description`, `settings`,
`select_detailed`, `explain`). Callers read them as attributes; nothing probes a strategy with `getattr`.
A plugin from another package subclasses it (usually through `hantu.strategy.framework.ScreeningStrategy`);
the registry refuses, at load time, one that does not (`hantu.strategy.registry.check_contract`).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self, TypeVar, runtime_checkable

from hantu.market.panel import DailyPanel

if TYPE_CHECKING:
    from hantu.strategy.regime import MarketRegime

DEFAULT_LOOKBACK_DAYS = 260  # trading days of history a strategy reads unless it declares its own (about a year)


class HandoverError(ValueError):
    """A Phase 1 → Phase 2 hand-over that does not match its declared type (missing, extra or wrong fields)."""


@dataclass(frozen=True)
class Handover:
    """Base of a strategy's typed Phase 1 → Phase 2 hand-over: the per-stock levels Phase 2 needs from Phase 1
    (an ATR, a recent high, an exit SMA), as float fields of a frozen dataclass subclass.

    Phase 1 publishes them as arrays (`columns`), the screening stores each watchlist stock's values
    (`as_row`, the `screen_watchlist.handover` column) and Phase 2 reads them back typed (`from_row`,
    `handover_of`): the field names are the only keys, written once, in the subclass."""

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def columns(cls, **arrays: Any) -> dict[str, Any]:
        """Phase 1's per-stock arrays by field name; `HandoverError` unless they are exactly the fields."""
        expected = set(cls.field_names())
        missing, extra = sorted(expected - set(arrays)), sorted(set(arrays) - expected)
        if missing or extra:
            raise HandoverError(f"{cls.__name__}: " + "; ".join(
                part for part in (f"missing {', '.join(missing)}" if missing else "",
                                  f"not fields: {', '.join(extra)}" if extra else "") if part))
        return dict(arrays)

    def as_row(self) -> dict[str, float | None]:
        """The stored form (JSON): NaN as null."""
        return {key: (None if value is None or not math.isfinite(value) else float(value))
                for key, value in asdict(self).items()}

    @classmethod
    def from_row(cls, row: Mapping[str, float | None]) -> Self:
        """The stored form back (`as_row`'s inverse); `HandoverError` naming any missing field."""
        missing = [name for name in cls.field_names() if name not in row]
        if missing:
            raise HandoverError(f"{cls.__name__}: stored hand-over lacks {', '.join(missing)}")
        return cls(**{name: math.nan if row[name] is None else float(row[name])  # type: ignore[arg-type]
                      for name in cls.field_names()})


H = TypeVar("H", bound=Handover)


@dataclass(frozen=True)
class StockScore:
    """Phase 1 result for one stock: its score, whether it passed, and why."""

    code: str
    name: str
    score: float
    passed: bool
    reasons: tuple[str, ...]
    factors: dict[str, float] = field(default_factory=dict)  # what Phase 1 shows (explain, API): by display name
    sector: str | None = None
    handover: Handover | None = None  # what Phase 2 reads (the strategy's `handover_type`); None: it declares none


def handover_of(stock: StockScore, kind: type[H]) -> H:
    """`stock`'s hand-over as the strategy's declared type; `HandoverError` when Phase 1 left none of that type
    (a watchlist stored before hand-overs were stored, or by another strategy)."""
    if not isinstance(stock.handover, kind):
        raise HandoverError(f"no {kind.__name__} from Phase 1 for {stock.code} (re-run the screening)")
    return stock.handover


@dataclass(frozen=True)
class ScreenResult:
    on: date
    scores: list[StockScore]  # every stock of the universe
    watchlist: list[str]  # codes, best first
    figures: dict[str, Any] = field(default_factory=dict)  # data_date, universe, eligible, config_hash, ...


@dataclass(frozen=True)
class Candidate:
    """Phase 2 result: one entry candidate for the trading day."""

    code: str
    name: str
    rank: int
    entry_price: int  # tick-rounded limit price to enter at (or trigger level for breakout strategies)
    stop_price: int
    target_price: int
    weight: float  # suggested share of equity, 0..1
    reason: str
    score: float = 0.0
    atr: float = 0.0
    sector: str | None = None
    extra: dict[str, float] = field(default_factory=dict)  # strategy-specific levels (e.g. the breakout range)


@dataclass(frozen=True)
class HeldPosition:
    """What an exit rule needs to know about a held position."""

    code: str
    quantity: int
    avg_price: float
    entry_date: date
    stop_price: int | None
    target_price: int | None
    high_since_entry: float
    atr: float = 0.0


class DecisionAction(StrEnum):
    """What an intraday `Decision` asks for. Entries only: exits are `exit_reason`'s, and holding is no decision
    (`on_price` returns None). An action the engine would not carry out cannot be constructed."""

    BUY = "buy"


@dataclass(frozen=True)
class Decision:
    """An intraday instruction from the strategy; the engine applies risk checks before any order.

    `action` is a `DecisionAction`; its value as a string ("buy") is accepted and converted, anything else is a
    `ValueError` here rather than an order silently not placed."""

    action: DecisionAction
    code: str
    reason: str
    limit_price: int | None = None  # None: marketable order
    quantity: int | None = None  # None: engine sizes buys from the candidate weight

    def __post_init__(self) -> None:
        if not isinstance(self.action, DecisionAction):
            try:
                action = DecisionAction(self.action)
            except ValueError:
                known = ", ".join(a.value for a in DecisionAction)
                raise ValueError(f"unknown decision action {self.action!r} for {self.code} (one of: {known}; "
                                 "exits come from exit_reason)") from None
            object.__setattr__(self, "action", action)


@dataclass(frozen=True)
class Selected:
    """Phase 2 outcome: the candidates, the regime that sized the list (None: the strategy has none) and why
    the other watchlist stocks were not taken."""

    candidates: list[Candidate]
    regime: MarketRegime | None = None
    skipped: dict[str, str] = field(default_factory=dict)  # code -> why a watchlist stock was not taken


class Strategy(ABC):
    """The contract every strategy satisfies: built-ins, plugins, and test strategies alike."""

    name: ClassVar[str] = ""  # the registry name (stored with every run)
    description: ClassVar[str] = ""  # one line for `hantu strategy list` (default: the class docstring's first)
    handover_type: ClassVar[type[Handover] | None] = None  # what Phase 1 hands Phase 2 (`StockScore.handover`)
    flatten_at_close: bool = False  # True: the session sells everything before the closing auction
    config_hash: str = ""  # a fingerprint of the resolved settings, stored with each run ("" without settings)

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        self.params: dict[str, Any] = dict(params or {})

    # --- hooks with defaults --------------------------------------------------------------------------
    @property
    def lookback_days(self) -> int:
        """Trading days of data a screen reads (the store loads this many; backtests slice this window)."""
        return DEFAULT_LOOKBACK_DAYS

    @property
    def required_history_days(self) -> int:
        """Trading days of data a stock needs before the strategy can pick it; 0: not checked. Backtests refuse
        a range the data cannot carry (`hantu.backtest.service.check_history`)."""
        return 0

    @classmethod
    def summary(cls) -> str:
        """`description`, else the first line of the class docstring."""
        return cls.description or (cls.__doc__ or "").strip().split("\n")[0]

    def settings(self) -> dict[str, Any]:
        """Every setting with its value (what `--param` accepts); by default the params."""
        return dict(self.params)

    # --- the decisions ----------------------------------------------------------------------------------
    @abstractmethod
    def screen(self, panel: DailyPanel, on: date, instruments: Any = None) -> ScreenResult:
        """Phase 1 over the whole market, using data up to `on`. `instruments`: the instrument master's rows
        (halts, sectors, SPAC and preferred flags) or None."""

    @abstractmethod
    def select(self, panel: DailyPanel, screen: ScreenResult, on: date) -> list[Candidate]:
        """Phase 2: the entry candidates for the trading day after `on`'s data (or `on` pre-open)."""

    @abstractmethod
    def on_price(self, candidate: Candidate, price: float, now: datetime, day_open: float | None) -> Decision | None:
        """Intraday entry decision for one candidate on a new price."""

    @abstractmethod
    def exit_reason(self, position: HeldPosition, price: float, now: datetime, day_open: float | None) -> str | None:
        """Why to sell a held position now (stop, target, trailing, time), or None to hold."""

    def select_detailed(self, panel: DailyPanel, screen: ScreenResult, on: date) -> Selected:
        """Phase 2 with its regime and the reasons stocks were not taken (what `run_selection` stores); by
        default `select` with neither."""
        return Selected(candidates=list(self.select(panel, screen, on)))

    def explain(self, panel: DailyPanel, on: date, code: str, instruments: Any = None) -> dict[str, Any]:
        """One stock's screening and selection: factors, score, pass/fail with reasons, watchlist rank and (when
        taken) the candidate. `KeyError` for a code not in the data."""
        column = panel.column(code)
        result = self.screen(panel, on, instruments)
        stock = next((s for s in result.scores if s.code == code), None)
        if stock is None:
            raise KeyError(code)
        selected = self.select_detailed(panel, result, on) if stock.passed else None
        candidate = next((c for c in selected.candidates if c.code == code), None) if selected else None
        factors = stock.factors
        return {
            "strategy": self.name, "on": on.isoformat(),
            "data_date": result.figures.get("data_date", panel.date_at(panel.shape[0] - 1).isoformat()),
            "code": stock.code, "name": stock.name, "market": str(panel.markets[column]), "sector": stock.sector,
            "score": stock.score, "passed": stock.passed, "reasons": list(stock.reasons),
            "watchlist_rank": result.watchlist.index(code) + 1 if code in result.watchlist else None,
            "indicators": {k: v for k, v in factors.items() if not k.startswith(("score.", "rank."))},
            "group_scores": {k[6:]: v for k, v in factors.items() if k.startswith("score.")},
            "factor_ranks": {k[5:]: v for k, v in factors.items() if k.startswith("rank.")},
            "weights": {},
            "regime": selected.regime.describe() if selected and selected.regime else None,
            "candidate": candidate,
            "not_selected_because": selected.skipped.get(code) if selected and candidate is None else None,
            "figures": result.figures,
        }


@runtime_checkable
class ExitsAtOpen(Protocol):
    """Optional, for a strategy whose own exits are daily signals (decided from daily data up to the day before,
    whatever the price or time of the day), such as a moving-average cross.

    `exits_at_open()` names the codes `exit_reason` sells today and its reason for each: the two must agree
    (`exit_reason(position, price, now, open)` returns that reason for those codes and None for the others, at
    any price and time of the day after the last `screen`). A backtest then asks the strategy once per day
    instead of at every point of every held stock's day path."""

    def exits_at_open(self) -> Mapping[str, str]:
        ...
