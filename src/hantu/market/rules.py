"""KRX price and cost rules: tick sizes, price limits, the sell-tax schedule and the commission.

Every number lives in one dated table below (facts: `krx-market-rules.md`); nothing else in the code
repeats them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

from hantu.domain.orders import Side

if TYPE_CHECKING:  # the vectorised helpers import numpy when called: the scalar rules stay numpy-free
    import numpy as np

MARKETS = ("KOSPI", "KOSDAQ", "KONEX")
# Markets accepted as aliases of the three above (KRX's files name KOSDAQ's global segment separately).
MARKET_ALIASES = {"KOSDAQ GLOBAL": "KOSDAQ", "KOSDAQGLOBAL": "KOSDAQ", "KSQ": "KOSDAQ", "KQ": "KOSDAQ",
                  "KS": "KOSPI", "STK": "KOSPI", "KNX": "KONEX"}

INF = math.inf

# A tick ladder: ((upper bound exclusive, tick), ...) ascending; the last bound is infinity.
Ladder = tuple[tuple[float, int], ...]

_LADDER_2023 = ((2_000, 1), (5_000, 5), (20_000, 10), (50_000, 50), (200_000, 100), (500_000, 500),
                (INF, 1_000))
_LADDER_OLD_KOSPI = ((1_000, 1), (5_000, 5), (10_000, 10), (50_000, 50), (100_000, 100), (500_000, 500),
                     (INF, 1_000))
_LADDER_OLD_KOSDAQ = ((1_000, 1), (5_000, 5), (10_000, 10), (50_000, 50), (INF, 100))
_LADDER_ETF = ((INF, 5),)

# Dated tick tables, newest first: (effective from, {market: ladder}).
# Before 2023-01-25 KONEX followed KOSDAQ's table (its rules derive from KOSDAQ's).
TICK_TABLES: tuple[tuple[date, dict[str, Ladder]], ...] = (
    (date(2023, 1, 25), {"KOSPI": _LADDER_2023, "KOSDAQ": _LADDER_2023, "KONEX": _LADDER_2023,
                         "ETF": _LADDER_ETF}),
    (date.min, {"KOSPI": _LADDER_OLD_KOSPI, "KOSDAQ": _LADDER_OLD_KOSDAQ, "KONEX": _LADDER_OLD_KOSDAQ,
                "ETF": _LADDER_ETF}),
)

# Daily price limit as a fraction of the base price (normally the previous close).
PRICE_LIMIT = Decimal("0.30")

# --- market status: volatility interruptions, circuit breaker, sidecar (facts: `krx-market-rules.md`) ---------
# Sources: KRX 변동성완화장치 (VI) rules as summarised by KB증권 (kbthink.com/investment/101/vi.html) and the
# press (infostockdaily.co.kr VI tables); 서킷브레이커/사이드카 from KRX's announcement of 2020-03-19 as reported
# by 아주경제 (m.ajunews.com/view/20200319113110549) and kokstock.com's 주식 상식 page (2020-06-24).
# Static VI: the price leaves ±rate of the reference (the last single-price auction's price: the open, or the
# last VI auction's price). Dynamic VI: the price leaves ±rate of the trade just before (rate by index
# membership and session). Either switches the stock to a single-price auction of `VI_AUCTION_MINUTES`
# (KRX adds a random end of up to 30 s, which minute replay ignores).
VI_AUCTION_MINUTES = 2
# Dated, newest first: (from, {"static": rate, "dynamic": {group: {session: rate}}}). Groups: "KOSPI200" (its
# members), "KOSPI" (the other KOSPI stocks), "KOSDAQ" (KOSDAQ150 members and the rest alike); sessions:
# "continuous", "closing" (15:20-15:30 closing auction), "after_hours" (시간외 단일가).
VI_TABLE: tuple[tuple[date, dict[str, object]], ...] = (
    (date(2015, 6, 15), {  # introduced with the ±30 % price limit
        "static": Decimal("0.10"),
        "dynamic": {
            "KOSPI200": {"continuous": Decimal("0.03"), "closing": Decimal("0.02"), "after_hours": Decimal("0.03")},
            "KOSPI": {"continuous": Decimal("0.06"), "closing": Decimal("0.04"), "after_hours": Decimal("0.06")},
            "KOSDAQ": {"continuous": Decimal("0.06"), "closing": Decimal("0.04"), "after_hours": Decimal("0.06")},
        },
    }),
)
# Market-wide circuit breaker (KOSPI or KOSDAQ index vs the previous close, held for 1 minute): stage → fall.
# Stages 1 and 2 halt every order for `CB_HALT_MINUTES`, then a `CB_AUCTION_MINUTES` single-price auction
# reopens; stage 3 ends the day. Each stage at most once a day; stages 1-2 not in the last 40 minutes.
CIRCUIT_BREAKER_STAGES: tuple[tuple[int, Decimal], ...] = ((1, Decimal("0.08")), (2, Decimal("0.15")),
                                                           (3, Decimal("0.20")))
CB_HALT_MINUTES = 20
CB_AUCTION_MINUTES = 10
CB_SUSTAIN_MINUTES = 1
# Sidecar: the index future ±5 % (KOSPI200 futures) / ±6 % (KOSDAQ150 futures, with the index ±3 %) for 1 minute
# suspends program-trading orders for 5 minutes; once a day, not in the last 40 minutes. Regular orders trade on.
SIDECAR_RATES = {"KOSPI": Decimal("0.05"), "KOSDAQ": Decimal("0.06")}
SIDECAR_MINUTES = 5
MARKET_HALT_CUTOFF_MINUTES = 40  # before the close: no stage 1-2 circuit breaker or sidecar from then on

# Sell-side tax (transaction tax + rural special tax for KOSPI), newest first: (from, {market: rate}).
# Dates before the first row use the first row's rates (older history is out of this table's scope).
SELL_TAX_TABLE: tuple[tuple[date, dict[str, Decimal]], ...] = (
    (date(2026, 1, 1), {"KOSPI": Decimal("0.0020"), "KOSDAQ": Decimal("0.0020"), "KONEX": Decimal("0.0010")}),
    (date(2025, 1, 1), {"KOSPI": Decimal("0.0015"), "KOSDAQ": Decimal("0.0015"), "KONEX": Decimal("0.0010")}),
    (date(2024, 1, 1), {"KOSPI": Decimal("0.0018"), "KOSDAQ": Decimal("0.0018"), "KONEX": Decimal("0.0010")}),
    (date(2023, 1, 1), {"KOSPI": Decimal("0.0020"), "KOSDAQ": Decimal("0.0020"), "KONEX": Decimal("0.0010")}),
    (date.min, {"KOSPI": Decimal("0.0023"), "KOSDAQ": Decimal("0.0023"), "KONEX": Decimal("0.0010")}),
)

DEFAULT_COMMISSION_RATE = 0.00015  # 0.015 % per side; `HANTU_COMMISSION_RATE` overrides it


def normalize_market(market: str) -> str:
    """KOSPI / KOSDAQ / KONEX (or ETF) from any accepted spelling; `ValueError` for an unknown market."""
    key = market.strip().upper()
    key = MARKET_ALIASES.get(key, key)
    if key not in (*MARKETS, "ETF"):
        raise ValueError(f"unknown market {market!r} (expected KOSPI, KOSDAQ, KOSDAQ GLOBAL or KONEX)")
    return key


def _dated(table, on: date):
    for start, value in table:
        if on >= start:
            return value
    return table[-1][1]


@lru_cache(maxsize=4096)
def tick_ladder(on: date, market: str) -> Ladder:
    """The tick ladder in force on `on` for `market` (remembered: the tables are fixed, and every tick
    rounding asks)."""
    return _dated(TICK_TABLES, on)[normalize_market(market)]


def tick_size(price: float, on: date, market: str) -> int:
    """The tick (호가가격단위) for an order at `price` won."""
    for bound, tick in tick_ladder(on, market):
        if price < bound:
            return tick
    raise AssertionError("unreachable: the last bound is infinite")


def tick_sizes(prices: np.ndarray, on: date, market: str) -> np.ndarray:
    """`tick_size` for an array of prices at once (NaN gives the smallest tick)."""
    import numpy as np

    bounds, ticks = _ladder_arrays(tick_ladder(on, market))
    return ticks[np.searchsorted(bounds, prices, side="right")]  # NaN sorts last: the largest tick


@lru_cache(maxsize=16)
def _ladder_arrays(ladder: Ladder) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np

    bounds = np.array([b for b, _ in ladder[:-1]], dtype=np.float64)
    ticks = np.array([t for _, t in ladder], dtype=np.float64)
    return bounds, ticks


_EPS = 1e-9
TickDirection = Literal["up", "down", "nearest"]


def round_to_tick(price: float, direction: TickDirection, on: date, market: str) -> int:
    """The valid order price next to `price`: at or above (`up`), at or below (`down`) or the closer of the
    two (`nearest`, ties go up). Band edges are multiples of the lower band's tick, so rounding within the
    band of `price` always lands on a valid price."""
    if not math.isfinite(price) or price <= 0:
        raise ValueError(f"price must be positive and finite, got {price!r}")
    tick = tick_size(math.floor(price + _EPS), on, market)
    units = price / tick
    down = math.floor(units + _EPS) * tick
    up = math.ceil(units - _EPS) * tick
    if direction == "down":
        return max(int(down), 1)
    if direction == "up":
        return int(up)
    if direction == "nearest":
        return int(up) if (up - price) <= (price - down) + _EPS else max(int(down), 1)
    raise ValueError(f"direction must be up, down or nearest, got {direction!r}")


def round_to_ticks(prices: np.ndarray, on: date, market: str, direction: TickDirection = "nearest") -> np.ndarray:
    """`round_to_tick` for an array of positive prices (float in, float out; NaN stays NaN): the same steps,
    so the same prices (tested against the scalar rule); the tick is taken at the rounded-down price."""
    import numpy as np

    if direction not in ("up", "down", "nearest"):
        raise ValueError(f"direction must be up, down or nearest, got {direction!r}")
    p = np.asarray(prices, dtype=np.float64)
    ticks = tick_sizes(np.floor(p + _EPS), on, market)
    units = p / ticks
    if direction == "up":
        return np.ceil(units - _EPS) * ticks
    down = np.floor(units + _EPS) * ticks
    if direction == "down":
        return np.maximum(down, 1.0)
    up = np.ceil(units - _EPS) * ticks
    out = np.where(up - p <= p - down + _EPS, up, down)
    return np.maximum(out, 1.0)


def limit_prices(base: int, on: date, market: str) -> tuple[int, int]:
    """(lower, upper) price limits: base ∓ 30 %, rounded to the tick inward (lower up, upper down).
    The raw limits are floor(base × 1.3) and ceil(base × 0.7), exact in integers (PRICE_LIMIT as a fraction)."""
    if base <= 0:
        raise ValueError(f"base price must be positive, got {base}")
    num, den = _ratio(PRICE_LIMIT)
    n, d = Decimal(base).as_integer_ratio()  # exact for any base Decimal takes (a whole won: n/1)
    upper_raw = n * (den + num) // (d * den)
    lower_raw = -(-n * (den - num) // (d * den))
    return round_to_tick(lower_raw, "up", on, market), round_to_tick(upper_raw, "down", on, market)


def limit_price_arrays(base: np.ndarray, on: date, market: str) -> tuple[np.ndarray, np.ndarray]:
    """`limit_prices` of an array of whole-won bases (int64, each > 0): the same integer steps, so the same
    limits (tested against the scalar rule); a backtest prices a day's orders at the open at once."""
    import numpy as np

    num, den = _ratio(PRICE_LIMIT)
    b = np.asarray(base, dtype=np.int64)
    upper_raw = b * (den + num) // den
    lower_raw = -(-b * (den - num) // den)
    return (round_to_ticks(lower_raw.astype(np.float64), on, market, "up").astype(np.int64),
            round_to_ticks(upper_raw.astype(np.float64), on, market, "down").astype(np.int64))


def limit_bounds(base: np.ndarray, on: date, market: str) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised `limit_prices` (float arrays) for generators and checks; NaN base gives NaN bounds."""
    import numpy as np

    b = np.asarray(base, dtype=np.float64)
    factor = float(PRICE_LIMIT)
    upper_raw = np.floor(b * (1 + factor) + _EPS)
    lower_raw = np.ceil(b * (1 - factor) - _EPS)
    t_up = tick_sizes(upper_raw, on, market)
    t_lo = tick_sizes(lower_raw, on, market)
    upper = np.floor(upper_raw / t_up + _EPS) * t_up
    lower = np.ceil(lower_raw / t_lo - _EPS) * t_lo
    return lower, upper


def vi_rates(on: date, group: str, session: str = "continuous") -> tuple[Decimal, Decimal]:
    """(static, dynamic) VI rates in force on `on` for a stock of `group` (KOSPI200 | KOSPI | KOSDAQ | KONEX;
    KONEX and ETF follow KOSDAQ here) in `session` (continuous | closing | after_hours)."""
    row = _dated(VI_TABLE, on)
    dynamic = row["dynamic"]
    assert isinstance(dynamic, dict)
    by_session = dynamic.get(group) or dynamic["KOSDAQ"]
    static = row["static"]
    assert isinstance(static, Decimal)
    return static, by_session[session]


def sell_tax_rate_decimal(on: date, market: str) -> Decimal:
    return _dated(SELL_TAX_TABLE, on)[_tax_market(market)]


def _tax_market(market: str) -> str:
    key = normalize_market(market)
    return "KOSPI" if key == "ETF" else key


def sell_tax_rate(on: date, market: str) -> float:
    """Tax on the sell amount (transaction tax + rural special tax), as a fraction (0.002 = 0.20 %)."""
    return float(sell_tax_rate_decimal(on, market))


def commission_rate(configured: float | None = None) -> float:
    """Broker commission per side as a fraction: `configured` (the `HANTU_COMMISSION_RATE` setting, which its
    callers pass in), else the standard `DEFAULT_COMMISSION_RATE` (0.00015 = 0.015 %)."""
    return DEFAULT_COMMISSION_RATE if configured is None else float(configured)


@dataclass(frozen=True)
class Costs:
    """Integer won costs of one trade."""

    commission: int
    tax: int
    total: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "total", self.commission + self.tax)


def costs(side: Side | str, amount: int, market: str, on: date, rate: float = DEFAULT_COMMISSION_RATE) -> Costs:
    """Commission (both sides) and sell tax (sells only) on a trade of `amount` won.

    Rounding: each component is computed exactly (Decimal) and truncated to the won below (원 미만 절사),
    as KIS and the tax office do; `total` is the sum of the two truncated components.
    `rate`: the broker's commission per side (`commission_rate(configured)`).
    """
    side = side if isinstance(side, Side) else Side(str(side).lower())
    if amount < 0:
        raise ValueError(f"amount must be non-negative, got {amount}")
    amount = int(amount)
    num, den = _commission_ratio(rate)
    commission = amount * num // den  # floor of the exact product, in integers (a backtest computes ~10⁵ of these)
    tax = 0
    if side is Side.SELL:
        num, den = _tax_ratio(on, market)
        tax = amount * num // den
    return Costs(commission=commission, tax=tax)


def cost_arrays(side: Side, amounts: np.ndarray, market: str, on: date,
                rate: float = DEFAULT_COMMISSION_RATE) -> tuple[np.ndarray, np.ndarray]:
    """`costs` of an array of whole-won amounts (commission, tax), truncated to the won as `costs` does. The
    exact integer products run in int64 when they fit and in Python integers otherwise (never rounded)."""
    import numpy as np

    a = np.asarray(amounts, dtype=np.int64)
    if a.size and int(a.min()) < 0:
        raise ValueError("amounts must be non-negative")

    def floor_product(ratio: tuple[int, int]) -> np.ndarray:
        num, den = ratio
        if not a.size or int(a.max()) * num < 2**62:
            return a * num // den
        return np.array([int(x) * num // den for x in a.tolist()], dtype=np.int64)

    commission = floor_product(_commission_ratio(rate))
    tax = floor_product(_tax_ratio(on, market)) if side is Side.SELL else np.zeros_like(a)
    return commission, tax


@lru_cache(maxsize=64)
def _ratio(rate: Decimal) -> tuple[int, int]:
    """A rate as an exact fraction: floor(amount × rate) = amount × num // den, the Decimal figure without its
    28-digit context."""
    return rate.as_integer_ratio()


@lru_cache(maxsize=64)
def _commission_ratio(rate: float) -> tuple[int, int]:
    """`_ratio` of a commission rate as written (its repr: 0.00015 is 15/100000, not the binary float)."""
    return _ratio(Decimal(repr(rate)))


@lru_cache(maxsize=4096)
def _tax_ratio(on: date, market: str) -> tuple[int, int]:
    """`_ratio` of the sell tax on `on` in `market` (the tables are fixed: remembered per day and market)."""
    return _ratio(sell_tax_rate_decimal(on, market))
