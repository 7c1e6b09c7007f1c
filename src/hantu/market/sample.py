"""A deterministic synthetic KRX market: the embedded default for the demo and for long-history tests.

KOSPI/KOSDAQ/KONEX stocks with Korean names and sectors, log-normal price levels, fat-tailed (Student-t)
returns driven by a market factor and sector factors, tick-rounded prices within the ±30 % limits of the
day's tick table, volume regimes, occasional multi-day halts, zero-volume days of illiquid stocks, and a few
listings and delistings inside the window. Same (stocks, days, seed, end) → the same market, bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from hantu.market.calendar import trading_days
from hantu.market.rules import limit_bounds, round_to_ticks, tick_ladder
from hantu.market.store import DayBars, Instrument, MarketStore

SECTORS = ("반도체", "2차전지", "바이오", "자동차", "화학", "금융", "인터넷", "게임", "조선", "건설", "유통",
           "식품", "엔터", "철강", "통신", "전력")
_PREFIXES = ("한빛", "대성", "미래", "세진", "동양", "삼화", "신영", "태광", "우진", "국제", "대한", "서울",
             "현대", "동방", "하나", "청호", "일진", "경인", "코리아", "글로벌", "에이스", "제일", "대원", "성우",
             "진흥", "한솔", "아세아", "오성", "남선", "KS")
_SUFFIX = {"반도체": "반도체", "2차전지": "에너지", "바이오": "바이오", "자동차": "모터스", "화학": "화학",
           "금융": "금융지주", "인터넷": "네트웍스", "게임": "게임즈", "조선": "중공업", "건설": "건설",
           "유통": "리테일", "식품": "식품", "엔터": "엔터", "철강": "스틸", "통신": "텔레콤", "전력": "전기"}
MARKET_SHARES = (("KOSPI", 0.36), ("KOSDAQ", 0.60), ("KONEX", 0.04))
# Real names at their real codes, so that the examples in `--help` and the docs (`hantu explain 005930`) work
# on the sample market too. Their prices are as synthetic as every other stock's.
WELL_KNOWN = (("005930", "삼성전자", "KOSPI", "반도체"), ("000660", "SK하이닉스", "KOSPI", "반도체"),
              ("005380", "현대차", "KOSPI", "자동차"), ("035420", "NAVER", "KOSPI", "인터넷"),
              ("035720", "카카오", "KOSPI", "인터넷"), ("051910", "LG화학", "KOSPI", "화학"),
              ("068270", "셀트리온", "KOSPI", "바이오"), ("105560", "KB금융", "KOSPI", "금융"))
WELL_KNOWN_CODES = frozenset(code for code, *_ in WELL_KNOWN)


@dataclass
class SampleMarket:
    days: list[DayBars]
    instruments: list[Instrument]


def sample_dates(days: int, end: date) -> list[date]:
    """The last `days` trading days up to and including `end`."""
    span = int(days * 1.5) + 30
    dates = trading_days(end - timedelta(days=span), end)
    while len(dates) < days:
        span *= 2
        dates = trading_days(end - timedelta(days=span), end)
    return dates[-days:]


def _place_well_known(codes_int: np.ndarray, codes: np.ndarray, names: np.ndarray, markets: np.ndarray,
                      sectors: np.ndarray) -> None:
    """Relabel the stock at each well-known code's place in the sorted codes (in place: the order stays sorted
    and no random draw changes, so the rest of the market is the same)."""
    for code, name, market, sector in WELL_KNOWN:
        i = int(np.searchsorted(codes_int, int(code)))
        if i >= len(codes_int) or (codes[i] != code and codes[i] in WELL_KNOWN_CODES):
            continue  # beyond the last code, or taken by another well-known code between the same neighbours
        codes_int[i], codes[i], names[i], markets[i], sectors[i] = int(code), code, name, market, sector


@dataclass
class SampleWritten:
    """What `write_sample_market` wrote (the days themselves went to the store month by month)."""

    dates: list[date]
    instruments: list[Instrument]


def generate_sample_market(stocks: int = 2500, days: int = 500, seed: int = 1, end: date | None = None,
                           progress: Callable[[int], None] | None = None) -> SampleMarket:
    """Build the synthetic market (see the module docstring) in memory; `end` defaults to 2026-01-30."""
    instruments: list[Instrument] = []
    out = list(iter_sample_market(stocks, days, seed, end, progress, instruments))
    return SampleMarket(days=out, instruments=instruments)


def iter_sample_market(stocks: int, days: int, seed: int, end: date | None,
                       progress: Callable[[int], None] | None, instruments_out: list[Instrument]) -> Iterator[DayBars]:
    """The market's days one by one (the same draws as the whole market at once); when the last day has been
    taken, `instruments_out` receives the instrument master. Memory stays one day of bars, at any size."""
    if stocks <= 0 or days <= 0:
        raise ValueError("stocks and days must be positive")
    end = end or date(2026, 1, 30)
    dates = sample_dates(days, end)
    rng = np.random.default_rng(seed)
    n = stocks

    # --- the instruments ------------------------------------------------------------------------
    codes_int = np.sort(rng.choice(np.arange(1, 99_999), size=n, replace=False)) * 10
    codes = np.array([f"{c:06d}" for c in codes_int])
    market_names = np.array([m for m, _ in MARKET_SHARES])
    markets = market_names[rng.choice(len(MARKET_SHARES), size=n, p=[p for _, p in MARKET_SHARES])]
    sector_idx = rng.integers(0, len(SECTORS), size=n)
    sectors = np.array(SECTORS)[sector_idx]
    names_list: list[str] = []
    seen: set[str] = set()
    for i in range(n):
        base = f"{_PREFIXES[int(rng.integers(len(_PREFIXES)))]}{_SUFFIX[str(sectors[i])]}"
        name, k = base, 2
        while name in seen:
            name, k = f"{base}{k}", k + 1
        seen.add(name)
        names_list.append(name)
    names = np.array(names_list)
    _place_well_known(codes_int, codes, names, markets, sectors)
    is_kosdaq = markets != "KOSPI"
    price0 = np.exp(rng.normal(np.log(9_000), 1.1, size=n)).clip(300, 900_000)
    vol = np.where(is_kosdaq, rng.uniform(0.018, 0.045, n), rng.uniform(0.012, 0.03, n))
    beta = rng.uniform(0.6, 1.4, n)
    shares = (np.exp(rng.normal(np.log(2e7), 1.0, n))).astype(np.int64).clip(1_000_000, 6_000_000_000)
    turnover = np.exp(rng.normal(np.log(0.004), 0.9, n))  # share of listed shares traded per day
    illiquid = rng.random(n) < 0.03
    administrative = rng.random(n) < 0.01

    t_count = len(dates)
    listed_from = np.zeros(n, dtype=np.int64)  # first day index listed
    listed_until = np.full(n, t_count, dtype=np.int64)  # first day index no longer listed
    late = rng.random(n) < 0.03
    listed_from[late] = rng.integers(1, max(t_count, 2), late.sum())
    gone = (rng.random(n) < 0.015) & ~late
    listed_until[gone] = rng.integers(1, max(t_count, 2), gone.sum())

    # --- the days -------------------------------------------------------------------------------
    close_prev = round_to_ticks(price0, dates[0], "KOSPI")
    market_masks = {str(m): markets == m for m in market_names}
    regime_high = np.zeros(n, dtype=bool)
    halt_left = np.zeros(n, dtype=np.int64)
    for t, day in enumerate(dates):
        market_ret = rng.standard_t(4) * 0.009
        sector_ret = rng.standard_t(4, size=len(SECTORS)) * 0.007
        idio = rng.standard_t(3, size=n) * vol / np.sqrt(3.0)
        ret = beta * market_ret + sector_ret[sector_idx] + idio
        listed = (t >= listed_from) & (t < listed_until)
        # halts: start with a small daily probability, last 1-10 days
        halt_left = np.maximum(halt_left - 1, 0)
        starts = (rng.random(n) < 0.0006) & listed
        halt_left[starts] = rng.integers(1, 11, starts.sum())
        no_trade = (halt_left > 0) | (illiquid & (rng.random(n) < 0.08))
        regime_high ^= rng.random(n) < np.where(regime_high, 0.15, 0.02)

        open_ = np.empty(n)
        high = np.empty(n)
        low = np.empty(n)
        close = np.empty(n)
        groups: dict[tuple, tuple[str, np.ndarray]] = {}
        for market in market_names:  # markets sharing the day's tick table are priced in one pass
            ladder = tick_ladder(day, str(market))
            mask = market_masks[str(market)]
            prev = groups.get(ladder)
            groups[ladder] = (str(market), mask if prev is None else prev[1] | mask)
        for market, m in groups.values():
            lo_lim, hi_lim = limit_bounds(close_prev[m], day, market)
            c = np.clip(close_prev[m] * (1 + ret[m]), lo_lim, hi_lim)
            o = np.clip(close_prev[m] * (1 + rng.normal(0, 0.3, m.sum()) * vol[m]), lo_lim, hi_lim)
            spread = np.abs(rng.normal(0, 0.6, m.sum())) * vol[m]
            h = np.minimum(np.maximum(o, c) * (1 + spread), hi_lim)
            lw = np.maximum(np.minimum(o, c) * (1 - np.abs(rng.normal(0, 0.6, m.sum())) * vol[m]), lo_lim)
            c, o, h, lw = (round_to_ticks(x, day, market) for x in (c, o, h, lw))
            c = np.clip(c, lo_lim, hi_lim)
            o = np.clip(o, lo_lim, hi_lim)
            h = np.clip(np.maximum(h, np.maximum(o, c)), None, hi_lim)
            lw = np.clip(np.minimum(lw, np.minimum(o, c)), lo_lim, None)
            open_[m], high[m], low[m], close[m] = o, h, lw, c
        volume = (shares * turnover * (1 + 8 * np.abs(ret)) * np.where(regime_high, 3.0, 1.0)
                  * rng.lognormal(0, 0.5, n)).astype(np.int64) + 1
        volume[no_trade] = 0
        open_[no_trade] = high[no_trade] = low[no_trade] = 0
        close[no_trade] = close_prev[no_trade]  # KRX keeps the base price as the close of a no-trade day
        amount = np.where(volume > 0, volume * (open_ + high + low + close) / 4, 0).astype(np.int64)
        close_prev = np.where(listed, close, close_prev)
        sel = np.flatnonzero(listed)
        yield DayBars(
            day=day, codes=codes[sel], open=open_[sel].astype(np.int64), high=high[sel].astype(np.int64),
            low=low[sel].astype(np.int64), close=close[sel].astype(np.int64), volume=volume[sel],
            amount=amount[sel], names=names[sel], markets=markets[sel], shares=shares[sel],
            halted=(halt_left[sel] > 0), administrative=administrative[sel], sectors=sectors[sel])
        if progress is not None:
            progress(1)

    instruments_out[:] = [
        Instrument(code=str(codes[i]), name=str(names[i]), market=str(markets[i]), listed_shares=int(shares[i]),
                   listed_on=dates[int(listed_from[i])] if late[i] else None,
                   delisted_on=dates[int(listed_until[i])] if gone[i] else None,
                   is_halted=bool(halt_left[i] > 0) and not gone[i], is_administrative=bool(administrative[i]),
                   sector=str(sectors[i]))
        for i in range(n)]


def write_sample_market(store: MarketStore, stocks: int = 2500, days: int = 500, seed: int = 1,
                        end: date | None = None, progress: Callable[[int], None] | None = None) -> SampleWritten:
    """Replace the store's content with the sample market (master included: sectors, listings, flags).

    Streamed: each month is written as soon as it is generated, so memory holds one month of bars whatever
    the size (2,900 × 1,300 needed 1.5 GB when the whole market was built first)."""
    instruments: list[Instrument] = []
    source = f"sample(stocks={stocks},days={days},seed={seed})"
    store.clear()
    written: list[date] = []
    month: list[DayBars] = []
    for bars in iter_sample_market(stocks, days, seed, end, progress, instruments):
        if month and (bars.day.year, bars.day.month) != (month[0].day.year, month[0].day.month):
            store.write_days(month, source=source)
            month = []
        month.append(bars)
        written.append(bars.day)
    store.write_days(month, source=source)
    stored = {i.code: i for i in store.instruments()}
    for inst in instruments:
        if inst.code in stored:
            inst.first_date, inst.last_date = stored[inst.code].first_date, stored[inst.code].last_date
            inst.is_preferred, inst.is_spac = stored[inst.code].is_preferred, stored[inst.code].is_spac
    store.write_instruments(instruments)
    return SampleWritten(dates=written, instruments=instruments)
