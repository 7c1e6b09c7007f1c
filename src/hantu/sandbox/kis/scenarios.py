"""A small library of replayable market-event days for the KIS sandbox (tests, `hantu sandbox kis --scenario`,
`hantu demo --scenario`, `POST /_sandbox/scenario`).

A scenario is a recipe over whatever market the sandbox replays: on one day it shapes prices (a curve of the
change vs the previous close) and injects events (`events.py`) on the market or on a few stocks — by default the
stocks that traded the most won the data day before (the likeliest to be in a strategy's picks), or the
`codes` given. Times are KRX's regular session (09:00-15:30); the shapes are in the spirit of the days named,
not their tick data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from hantu.sandbox.kis.events import MarketStatusBook
from hantu.sandbox.kis.market import MarketReplay


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    stocks: int  # how many stocks it acts on (0: the whole market only)
    build: Callable[[MarketStatusBook, date, list[str]], None]


def _circuit_breaker(book: MarketStatusBook, day: date, codes: list[str]) -> None:
    """A slide from the open (sidecar at 11:40), the stage-1 circuit breaker on both markets at 12:05 (20 min
    halt, 10 min reopening auction at 12:25-12:35), a weak afternoon and a close near -8 % — 2020-03-19-like."""
    book.shape(day, [("09:00", -0.015), ("10:00", -0.03), ("11:00", -0.05), ("11:40", -0.065), ("12:04", -0.083),
                     ("12:40", -0.07), ("14:00", -0.065), ("15:19", -0.082)])
    book.add("sidecar", day, "11:40", note="KOSPI200 futures -5 % for 1 minute: program orders suspended 5 min")
    book.add("circuit_breaker", day, "12:05", stage=1, note="index -8 % for 1 minute")


def _afternoon_crash(book: MarketStatusBook, day: date, codes: list[str]) -> None:
    """A quiet morning, a fall from 13:00, KOSDAQ's circuit breaker at 14:07 and KOSPI's at 14:14 (both
    stage 1), a close near -9 % — 2024-08-05-like."""
    book.shape(day, [("09:00", -0.02), ("12:30", -0.035), ("13:30", -0.06), ("14:06", -0.084), ("14:45", -0.08),
                     ("15:19", -0.088)])
    book.add("sidecar", day, "13:50", market="KOSPI", note="KOSPI200 futures -5 % for 1 minute")
    book.add("circuit_breaker", day, "14:07", market="KOSDAQ", stage=1, note="KOSDAQ -8 % for 1 minute")
    book.add("circuit_breaker", day, "14:14", market="KOSPI", stage=1, note="KOSPI -8 % for 1 minute")


def _single_halt(book: MarketStatusBook, day: date, codes: list[str]) -> None:
    """The first stock is halted 10:30-13:30 (거래정지, e.g. pending a disclosure), then trades again."""
    book.add("halt", day, "10:30", 180, code=codes[0], note="거래정지 (조회공시 답변 대기)")


def _vi_cascade(book: MarketStatusBook, day: date, codes: list[str]) -> None:
    """Three stocks in a theme frenzy: the first jumps at 09:30 (static + dynamic VI), again at 10:30 (another
    static VI from the first auction's price) and locks at the upper limit from 11:30; the second falls in two
    steps (static VIs at 10:00 and 11:00); the third jumps 7 % at 13:00 (a dynamic VI)."""
    book.shape(day, [("09:29", 0.0), ("09:30", 0.11), ("10:29", 0.11), ("10:30", 0.22), ("11:29", 0.24)],
               code=codes[0])
    book.add("upper_lock", day, "11:30", code=codes[0], note="상한가 잠김")
    if len(codes) > 1:
        book.shape(day, [("09:59", 0.0), ("10:00", -0.11), ("10:59", -0.11), ("11:00", -0.21)], code=codes[1])
    if len(codes) > 2:
        book.shape(day, [("12:59", 0.0), ("13:00", 0.07)], code=codes[2])


SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("circuit-breaker", "market slides, sidecar 11:40, stage-1 circuit breaker 12:05 (2020-03-19-like)", 0,
             _circuit_breaker),
    Scenario("afternoon-crash", "fall from 13:00, circuit breakers KOSDAQ 14:07 / KOSPI 14:14 (2024-08-05-like)",
             0, _afternoon_crash),
    Scenario("halt", "one stock halted 10:30-13:30", 1, _single_halt),
    Scenario("vi-cascade", "three stocks through static/dynamic VIs, one locked at the upper limit", 3,
             _vi_cascade),
)}


def default_codes(market: MarketReplay, day: date, count: int) -> list[str]:
    """The `count` stocks with the most traded won on the data day before `day`."""
    row = market.row_on_or_before(date.fromordinal(day.toordinal() - 1))
    if row < 0 or count <= 0:
        return []
    amount = np.nan_to_num(market.panel.amount[row], nan=-1.0)
    top = np.argsort(-amount, kind="stable")[:count]
    return [str(market.panel.codes[c]) for c in top if amount[c] > 0]


def load(market: MarketReplay, name: str, day: date, codes: Sequence[str] | None = None) -> dict[str, Any]:
    """Put scenario `name` on `day` into the sandbox market (replacing any earlier one); what was loaded."""
    scenario = SCENARIOS.get(name)
    if scenario is None:
        raise ValueError(f"unknown scenario {name!r}; one of {', '.join(SCENARIOS)}")
    chosen = list(codes) if codes else default_codes(market, day, scenario.stocks)
    unknown = [c for c in chosen if not market.has(c)]
    if unknown:
        raise ValueError(f"scenario {name}: unknown stock(s) {', '.join(unknown)}")
    if len(chosen) < scenario.stocks:
        raise ValueError(f"scenario {name} needs {scenario.stocks} stock(s), got {len(chosen)}")
    book = market.status
    book.clear()
    scenario.build(book, day, chosen)
    book.scenario = {"name": name, "day": day.isoformat(), "codes": chosen, "summary": scenario.summary}
    return {**book.scenario, "events": [e.to_dict() for e in book.events]}
