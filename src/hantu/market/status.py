"""Market status: a stock in a volatility-interruption auction (정적/동적 VI), halted (거래정지), locked at the upper
limit, and the market-wide circuit breaker (서킷브레이커) and sidecar (사이드카).

Two users: the trading engine asks `hold_reason` before it sends an order (no market order into a VI auction,
nothing into a halted stock, no market buy into an upper-limit lock — the engine waits and looks again), and the
KIS sandbox replays the same rules over its intraday paths (`detect_vi`, `circuit_breaker_stage`). Every number
is `hantu.market.rules`' (the dated VI table, the circuit-breaker stages); nothing here repeats one.

KIS fields read (`../shared/docs/kis-api.md`, KIS's `open-trading-api` samples): the quote's `vi_cls_code`
(VI적용구분코드: `N` none; this code reads `1` static, `2` dynamic, `3` both — KIS's VI-status sort codes — and
any other value as a VI of unknown kind) and `temp_stop_yn` (거래정지); the real-time H0STCNT0 record's
`TRHT_YN` (거래정지 여부) and `HOUR_CLS_CODE` (시간 구분 코드, `C`: 예상가 after 09:00, i.e. a VI auction).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from hantu.domain.orders import OrderType, Side
from hantu.market import rules

VI_STATIC = "static"
VI_DYNAMIC = "dynamic"
VI_BOTH = "static+dynamic"
VI_UNKNOWN = "vi"  # a VI whose kind the source does not say
_KIS_VI = {"1": VI_STATIC, "2": VI_DYNAMIC, "3": VI_BOTH}
VI_AUCTION_TIME_CODE = "C"  # H0STCNT0 HOUR_CLS_CODE while a VI auction runs (9시 이후 예상가)


def vi_from_kis(code: str | None) -> str:
    """The VI kind of a KIS `vi_cls_code` ("" when none)."""
    text = (code or "").strip().upper()
    if text in ("", "N", "0"):
        return ""
    return _KIS_VI.get(text, VI_UNKNOWN)


def kis_vi_code(kind: str) -> str:
    """The `vi_cls_code` the sandbox shows for a VI kind (the inverse of `vi_from_kis`)."""
    if not kind:
        return "N"
    return {v: k for k, v in _KIS_VI.items()}.get(kind, "1")


def vi_from_tick(fields: Mapping[str, str]) -> str:
    """The VI state of a real-time H0STCNT0 record (`HOUR_CLS_CODE` C), "" when trading continuously."""
    return VI_UNKNOWN if str(fields.get("HOUR_CLS_CODE", "")).strip().upper() == VI_AUCTION_TIME_CODE else ""


def halted_from_tick(fields: Mapping[str, str]) -> bool:
    return str(fields.get("TRHT_YN", "")).strip().upper() == "Y"


def is_upper_locked(price: int | float, upper_limit: int | None) -> bool:
    """At the upper price limit: the queue is all buyers (a market buy waits behind it, unfilled)."""
    return bool(upper_limit) and price >= (upper_limit or 0) > 0


def vi_label(kind: str) -> str:
    """Short English name of a VI kind for reasons ("static VI", "dynamic VI", ...)."""
    return {VI_STATIC: "static VI", VI_DYNAMIC: "dynamic VI", VI_BOTH: "static+dynamic VI"}.get(kind, "VI")


@dataclass(frozen=True)
class StockStatus:
    """What the market lets an order of one stock do right now."""

    vi: str = ""  # "" | static | dynamic | static+dynamic | vi
    halted: bool = False
    upper_locked: bool = False

    @property
    def kind(self) -> str:
        """halted | vi | upper_lock | "" (normal): the one that decides, in that order."""
        if self.halted:
            return "halted"
        if self.vi:
            return "vi"
        return "upper_lock" if self.upper_locked else ""

    def hold_reason(self, order_type: OrderType, side: Side) -> str | None:
        """Why an order of `order_type`/`side` must not be sent now (English, stored), None when it may go.

        A halted stock takes no order; in a VI auction a market order would fill at whatever the auction
        decides, so only priced orders go in; at an upper-limit lock a market buy has no sellers."""
        if self.halted:
            return "trading halted: order held until trading resumes"
        if self.vi and order_type is OrderType.MARKET:
            return f"{vi_label(self.vi)} auction: market order held until it ends"
        if self.upper_locked and order_type is OrderType.MARKET and side is Side.BUY:
            return "locked at the upper limit (no sellers): market buy held"
        return None


def vi_group(market: str, index_member: bool) -> str:
    """The dynamic-VI group of a stock: KOSPI200 members, other KOSPI stocks, KOSDAQ (and the rest)."""
    key = rules.normalize_market(market)
    if key == "KOSPI":
        return "KOSPI200" if index_member else "KOSPI"
    return "KOSDAQ"


@dataclass(frozen=True)
class ViWindow:
    """One VI of a replayed day, in minutes of its intraday path: the auction runs over minutes
    `start` .. `end - 1` (no trade) and uncrosses at minute `end` at `auction_price`."""

    start: int
    end: int
    kind: str  # static | dynamic | static+dynamic
    reference: int  # the price the move was measured from
    trigger_price: int  # the price that would have traded
    auction_price: int


def detect_vi(prices: Sequence[int], on: date, market: str, index_member: bool = False,
              auction_minutes: int = rules.VI_AUCTION_MINUTES) -> list[ViWindow]:
    """The VIs a minute path triggers (continuous session): static when a price leaves ±rate of the last
    single-price price (the open, then each VI's auction price), dynamic when it leaves ±rate of the
    minute before. After an auction the watch restarts from its price."""
    static_dec, dynamic_dec = rules.vi_rates(on, vi_group(market, index_member), "continuous")
    static_rate, dynamic_rate = float(static_dec) - 1e-12, float(dynamic_dec) - 1e-12  # floats: ~400 a path
    windows: list[ViWindow] = []
    if len(prices) < 2:
        return windows
    reference = int(prices[0])
    i = 1
    while i < len(prices):
        price, before = int(prices[i]), int(prices[i - 1])
        static = reference > 0 and abs(price / reference - 1) >= static_rate
        dynamic = before > 0 and abs(price / before - 1) >= dynamic_rate
        if not (static or dynamic) or i + auction_minutes >= len(prices):
            i += 1
            continue
        kind = VI_BOTH if static and dynamic else VI_STATIC if static else VI_DYNAMIC
        end = i + auction_minutes
        auction = int(prices[end])
        windows.append(ViWindow(i, end, kind, reference if static else before, price, auction))
        reference = auction
        i = end + 1
    return windows


def circuit_breaker_stage(index_change: float, done: int, minutes_to_close: float) -> int | None:
    """The circuit-breaker stage an index fall of `index_change` (e.g. -0.085) triggers, given the stages
    `done` today (0-3) and the minutes left to the close; None when none."""
    following = [(stage, fall) for stage, fall in rules.CIRCUIT_BREAKER_STAGES if stage == done + 1]
    if not following or index_change > -float(following[0][1]):
        return None  # one stage at a time: each needs the one before it
    stage = following[0][0]
    if stage < 3 and minutes_to_close <= rules.MARKET_HALT_CUTOFF_MINUTES:
        return None
    return stage
