"""The minute-bar store (`hantu.market.minutes`): ticks → bars, the REST-over-ticks merge, the compressed day file."""

from __future__ import annotations

import os
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from hantu.clock import KST
from hantu.market.minutes import REST, TICKS, MinuteBars, MinuteStore, TickBuffer, bars_from_ticks, merge
from hantu.market.store import MarketStoreCorrupt

DAY = date(2024, 1, 5)  # a Friday, 09:00-15:30


def secs(hhmmss: str) -> float:
    h, m, s = int(hhmmss[:2]), int(hhmmss[2:4]), float(hhmmss[4:])
    return h * 3600 + m * 60 + s


def ticks(*rows: tuple[str, int, int, int]) -> MinuteBars:
    """Bars from (HHMMSS, price, cumulative volume, tick volume) rows, in the order given (arrival order)."""
    return bars_from_ticks(DAY, np.array([secs(r[0]) for r in rows]), np.array([r[1] for r in rows]),
                           np.array([r[2] for r in rows]), np.array([r[3] for r in rows]))


def as_rows(bars: MinuteBars) -> list[tuple[str, int, int, int, int, int]]:
    return [(t.strftime("%H:%M"), int(o), int(h), int(lo), int(c), int(v))
            for t, o, h, lo, c, v in zip(bars.times(), bars.open, bars.high, bars.low, bars.close, bars.volume,
                                         strict=True)]


def test_ticks_make_ohlcv_bars_and_a_minute_without_ticks_has_no_bar() -> None:
    bars = ticks(("090000", 70000, 100, 100), ("090012", 70300, 150, 50), ("090059", 69900, 160, 10),
                 ("090230", 70100, 200, 40))  # nothing traded in 09:01
    assert as_rows(bars) == [("09:00", 70000, 70300, 69900, 69900, 160), ("09:02", 70100, 70100, 70100, 70100, 40)]
    assert set(bars.source.tolist()) == {TICKS}


def test_out_of_order_and_repeated_ticks_give_the_trade_order_and_the_true_volume() -> None:
    in_order = ticks(("100000", 500, 1000, 10), ("100010", 510, 1020, 20), ("100020", 490, 1050, 30),
                     ("100050", 505, 1060, 10))
    shuffled = ticks(("100050", 505, 1060, 10), ("100010", 510, 1020, 20), ("100000", 500, 1000, 10),
                     ("100020", 490, 1050, 30), ("100010", 510, 1020, 20))  # one replayed after a reconnect
    assert as_rows(shuffled) == as_rows(in_order) == [("10:00", 500, 510, 490, 505, 70)]
    same_second = ticks(("100000", 501, 1002, 1), ("100000", 500, 1001, 1))  # one second, two trades
    assert as_rows(same_second)[0][1] == 500 and as_rows(same_second)[0][4] == 501  # open/close by volume


def test_the_closing_auction_print_is_the_1530_bar_and_after_hours_ticks_are_dropped() -> None:
    bars = ticks(("085950", 100, 0, 0), ("151959", 101, 500, 5), ("153000", 103, 900, 400),
                 ("153001", 103, 900, 400), ("160500", 104, 950, 50))
    assert as_rows(bars) == [("15:19", 101, 101, 101, 101, 5), ("15:30", 103, 103, 103, 103, 400)]


def test_without_cumulative_volumes_the_tick_volumes_are_summed() -> None:
    bars = ticks(("093000", 100, 0, 7), ("093030", 101, 0, 8))
    assert as_rows(bars) == [("09:30", 100, 101, 100, 101, 15)]


def test_the_tick_buffer_appends_aware_times_and_builds_the_same_bars() -> None:
    buffer = TickBuffer(DAY)
    for hhmmss, price, cum, vol in (("090001", 100, 10, 10), ("090101", 102, 30, 20)):
        t = datetime.strptime(hhmmss, "%H%M%S").time()
        buffer.append(datetime.combine(DAY, t, tzinfo=KST), price, cum, vol)
    assert len(buffer) == 2
    assert as_rows(buffer.bars()) == [("09:00", 100, 100, 100, 100, 10), ("09:01", 102, 102, 102, 102, 20)]


def test_rest_bars_are_the_record_where_both_sources_have_a_minute() -> None:
    tick = MinuteBars.of(DAY, [540, 541, 542], [10, 11, 12], [10, 11, 12], [10, 11, 12], [10, 11, 12],
                         [1, 1, 1], TICKS)
    rest = MinuteBars.of(DAY, [541, 543], [21, 23], [21, 23], [21, 23], [21, 23], [5, 5], REST)
    for merged in (merge(tick, rest), merge(rest, tick)):  # whichever was written first
        assert merged.minute.tolist() == [540, 541, 542, 543]
        assert merged.close.tolist() == [10, 21, 12, 23]
        assert merged.source.tolist() == [TICKS, REST, TICKS, REST]
    newer = MinuteBars.of(DAY, [541], [31], [31], [31], [31], [9], REST)
    assert merge(merge(tick, rest), newer).close.tolist() == [10, 31, 12, 23]  # same source: the newer one


def test_store_round_trip_is_compressed_atomic_and_merges(tmp_path: Path) -> None:
    store = MinuteStore(tmp_path / "minutes")
    assert store.days_with_minutes() == [] and store.read(DAY) == {}
    n = 381
    minute = np.arange(540, 540 + n)
    price = 70000 + (np.arange(n) % 7) * 100
    full = MinuteBars.of(DAY, minute, price, price + 100, price - 100, price, np.full(n, 1234), REST)
    other = MinuteBars.of(DAY, [540, 930, 935], [5, 6, 7], [5, 6, 7], [5, 6, 7], [5, 6, 7], [1, 2, 3], TICKS)
    store.write(DAY, {"005930": full, "000660": other})
    store.write(date(2024, 1, 8), {"005930": full})
    assert store.days_with_minutes() == [DAY, date(2024, 1, 8)]
    back = store.read(DAY)
    assert set(back) == {"005930", "000660"}
    for name in ("minute", "open", "high", "low", "close", "volume", "source"):
        assert np.array_equal(getattr(back["005930"], name), getattr(full, name))
    assert back["000660"].minute.tolist() == [540, 930]  # 15:35 is after the closing auction: not kept
    assert list(store.read(DAY, ["000660"])) == ["000660"]
    raw = sum(a.nbytes for a in (full.minute, full.open, full.high, full.low, full.close, full.volume, full.source))
    with zipfile.ZipFile(store.path(DAY)) as archive:
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in archive.infolist())
    assert os.path.getsize(store.path(DAY)) < raw / 2
    assert not [p for p in store.root.iterdir() if p.name.endswith(".tmp")]  # no temp file left behind
    store.write(DAY, {"000660": MinuteBars.of(DAY, [541], [8], [8], [8], [8], [4], REST)})
    assert store.read(DAY)["000660"].minute.tolist() == [540, 541, 930]
    assert len(store.read(DAY)["005930"]) == n  # the other code untouched by the merge


def test_a_damaged_day_file_is_reported_and_never_written_over(tmp_path: Path) -> None:
    store = MinuteStore(tmp_path)
    store.path(DAY).write_bytes(b"not a zip")
    with pytest.raises(MarketStoreCorrupt):
        store.read(DAY)
    with pytest.raises(MarketStoreCorrupt):
        store.write(DAY, {"005930": MinuteBars.of(DAY, [540], [1], [1], [1], [1], [1], REST)})
    assert store.path(DAY).read_bytes() == b"not a zip"


def test_covers_session_needs_the_open_and_the_close() -> None:
    def span(first: int, last: int) -> MinuteBars:
        m = np.arange(first, last + 1)
        return MinuteBars.of(DAY, m, m, m, m, m, m, REST)

    assert span(540, 919).covers_session()  # 09:00 .. 15:19
    assert not span(600, 919).covers_session()  # joined at 10:00
    assert not span(540, 720).covers_session()  # stopped at noon
    assert not MinuteBars.empty(DAY).covers_session()


def test_a_minute_of_repeated_ticks_only_had_no_trade_and_has_no_bar() -> None:
    bars = ticks(("151900", 101, 500, 5), ("152500", 101, 500, 5), ("152600", 101, 500, 5))
    assert as_rows(bars) == [("15:19", 101, 101, 101, 101, 5)]


def test_a_busy_stock_is_folded_into_bars_as_it_goes_with_the_same_result() -> None:
    rng = np.random.default_rng(3)
    n = 5000
    seconds = np.sort(rng.uniform(secs("090000"), secs("152000"), n))
    prices = 1000 + rng.integers(-20, 20, n)
    volumes = rng.integers(1, 50, n)
    cumulative = 700 + np.cumsum(volumes)  # 700 shares traded before the session started watching
    whole = bars_from_ticks(DAY, seconds, prices, cumulative, volumes)
    buffer = TickBuffer(DAY, fold_at=300)
    midnight = datetime(DAY.year, DAY.month, DAY.day, tzinfo=KST)
    for s, p, c, v in zip(seconds, prices, cumulative, volumes, strict=True):
        buffer.append(midnight + timedelta(seconds=float(s)), int(p), int(c), int(v))
    assert len(buffer) < 300  # never more than `fold_at` ticks held
    folded = buffer.bars()
    for name in ("minute", "open", "high", "low", "close", "volume"):
        assert np.array_equal(getattr(folded, name), getattr(whole, name)), name
    assert int(folded.volume.sum()) == int(volumes.sum())
    buffer.append(midnight + timedelta(seconds=secs("090000")), 999, 1, 1)  # hours late: dropped, counted
    assert buffer.late == 1 and np.array_equal(buffer.bars().close, whole.close)
