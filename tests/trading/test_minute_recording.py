"""A KIS session keeps what it saw (`hantu.trading.minutes`): the WebSocket ticks aggregated into minute bars, then
the REST minute chart of the watched and traded codes, in the minute store — against the KIS sandbox."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from simkit import DAY, at, candidates_for
from test_session_faults import Rig, kis  # noqa: F401 (fixture: a KIS sandbox and broker on a frozen clock)

from hantu.market.minutes import REST, TICKS, MinuteStore, open_minute_store
from hantu.strategy.base import Candidate, Decision, HeldPosition
from hantu.trading.minutes import MinuteRecorder, chart_fetch
from hantu.trading.session import SessionConfig, run

from helpers import IntradayOnly, hantu_home

WATCHED = ("100000", "100020")


@dataclass
class BuyFirst(IntradayOnly):
    """Buys the first candidate at the market, nothing else (one traded code, one only watched)."""

    name: ClassVar[str] = "buy-first"
    params: dict[str, Any] = field(default_factory=dict)

    def on_price(self, candidate: Candidate, price: float, now: datetime, day_open: float | None) -> Decision | None:
        return Decision("buy", candidate.code, "now", quantity=3) if candidate.code == WATCHED[0] else None

    def exit_reason(self, position: HeldPosition, price: float, now: datetime, day_open: float | None) -> str | None:
        return None


def test_a_kis_session_ends_with_the_days_minute_bars_in_the_store(kis: Rig) -> None:  # noqa: F811 (the fixture)
    candidates = [c for c in candidates_for(kis.panel) if c.code in WATCHED]
    report = run(DAY, candidates, BuyFirst(), kis.broker, kis.clock, database=kis.database, home=hantu_home(),
                 config=SessionConfig(poll_seconds=300, decision_seconds=300))
    assert report.feed == "StreamingFeed" and report.errors == 0 and report.orders_sent == 1
    store = open_minute_store(hantu_home())  # $HANTU_HOME/market/minutes
    assert store.days_with_minutes() == [DAY]
    stored = store.read(DAY)
    assert set(stored) == set(WATCHED)  # the traded code and the watched one
    assert report.minute_bars == sum(len(b) for b in stored.values())
    for code, bars in stored.items():
        path = kis.sandbox.state.market.path(code, DAY)
        assert bars.covers_session()
        rest = bars.source == REST  # the REST chart is the record: the whole continuous session
        assert bars.close[rest].tolist() == path.prices.tolist()
        # tick bars stay only where the chart has none (the sandbox streams its last price after 15:19)
        assert all(m > 15 * 60 + 19 for m in bars.minute[~rest].tolist())


def test_ticks_become_bars_and_the_rest_chart_replaces_them_minute_by_minute(kis: Rig, tmp_path: Path) -> None:  # noqa: F811 (the fixture)
    from hantu.trading.feed import StreamingFeed

    store = MinuteStore(tmp_path / "minutes")
    recorder = MinuteRecorder(store)  # ticks only, first
    feed = StreamingFeed.for_kis(kis.broker, kis.clock, max_age_seconds=600, recorder=recorder)
    feed.start()
    try:
        assert feed.socket.wait_connected(10)
        feed.quotes([WATCHED[0]], kis.clock.now())  # subscribes
        for minute in range(3):  # 14:40, 14:41, 14:42: the sandbox sends a tick when a minute brings a trade
            deadline = time.monotonic() + 10
            while recorder.ticks <= minute and time.monotonic() < deadline:
                time.sleep(0.02)
            assert recorder.ticks > minute, f"no tick in minute {minute}"
            kis.clock.advance(timedelta(minutes=1))
    finally:
        feed.stop()
    path = kis.sandbox.state.market.path(WATCHED[0], DAY)
    first = path.index_at(at("14:40"))
    assert recorder.finish(DAY, []) == {WATCHED[0]: 3}
    ticked = store.read(DAY)[WATCHED[0]]
    assert [t.strftime("%H:%M") for t in ticked.times()] == ["14:40", "14:41", "14:42"]
    assert ticked.close.tolist() == path.prices[first: first + 3].tolist()
    assert ticked.volume.tolist()[1:] == path.volumes[first + 1: first + 3].tolist()  # cumulative growth
    assert set(ticked.source.tolist()) == {TICKS}

    kis.clock.set(at("15:35"))
    backfill = MinuteRecorder(store, chart_fetch(kis.broker.api, kis.clock, DAY))
    assert backfill.finish(DAY, [WATCHED[0]]) == {WATCHED[0]: 380}
    merged = store.read(DAY)[WATCHED[0]]
    assert set(merged.source.tolist()) == {REST} and merged.close.tolist() == path.prices.tolist()


def test_a_session_stopped_early_keeps_its_tick_bars_without_waiting_for_the_chart(kis: Rig, tmp_path: Path) -> None:  # noqa: F811 (the fixture)
    """A shutdown mid-day: `run` stores what the ticks made and asks the REST chart nothing."""
    import threading

    from hantu.trading.feed import StreamingFeed

    stop = threading.Event()
    stop.set()
    before = sum(1 for r in kis.sandbox.stats()["requests"] if r["tr_id"] == "FHKST03010200")
    report = run(DAY, [c for c in candidates_for(kis.panel) if c.code in WATCHED], BuyFirst(), kis.broker,
                 kis.clock, stop, database=kis.database, home=hantu_home(), config=SessionConfig(poll_seconds=300))
    assert report.stopped_early and report.minute_bars == 0
    assert sum(1 for r in kis.sandbox.stats()["requests"] if r["tr_id"] == "FHKST03010200") == before
    store = MinuteStore(tmp_path / "minutes")
    recorder = MinuteRecorder(store, chart_fetch(kis.broker.api, kis.clock, DAY))
    feed = StreamingFeed.for_kis(kis.broker, kis.clock, max_age_seconds=600, recorder=recorder)
    feed.start()
    try:
        assert feed.socket.wait_connected(10)
        feed.quotes([WATCHED[0]], kis.clock.now())
        deadline = time.monotonic() + 10
        while recorder.ticks == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        feed.stop()
    assert recorder.finish(DAY, list(WATCHED), backfill=False) == {WATCHED[0]: 1}  # the 14:40 tick bar only
    assert set(store.read(DAY)[WATCHED[0]].source.tolist()) == {TICKS}
