"""Backtests walk recorded minute bars where the session kept them (`hantu.market.minutes`) and the synthetic
four-anchor path elsewhere; the outcome, its JSON and HTML report and `hantu backtest` say how many of each."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from backtest.toys import ToyBreakout, make_panel
from hantu.backtest.daypath import DayPath, RecordedMinutes
from hantu.backtest.engine import BacktestEngine
from hantu.backtest.report import render_html
from hantu.market.minutes import REST, MinuteBars, MinuteStore

from helpers import run_hantu

# stock 1 rises 98 → 100 (a candidate: entry 102, stop 95, target 110), then trades 100/106/94/104 on DAY
CLOSES = np.array([[98.0, 50.0], [100.0, 50.0], [104.0, 50.0], [104.0, 50.0]])
OPENS = np.array([[98.0, 50.0], [100.0, 50.0], [100.0, 50.0], [104.0, 50.0]])
HIGHS = np.array([[98.0, 50.0], [100.0, 50.0], [106.0, 50.0], [104.0, 50.0]])
LOWS = np.array([[98.0, 50.0], [100.0, 50.0], [94.0, 50.0], [104.0, 50.0]])
DAY = date(2024, 1, 4)  # row 2 of the toy panel (2024-01-02 …)


def recorded_day(day: date = DAY) -> MinuteBars:
    """The day as it really went: up to 103 by 09:05 (through the entry), down to 94 at 10:00 (through the stop),
    up to 106 at 13:20, 104 at the close, and the closing auction at 104 (15:30)."""
    minute = np.arange(540, 920)
    anchors = ([540, 545, 600, 800, 919], [100, 103, 94, 106, 104])
    close = np.rint(np.interp(minute, *anchors)).astype(int)
    open_ = np.r_[100, close[:-1]]
    minute, open_, close = np.r_[minute, 930], np.r_[open_, 104], np.r_[close, 104]
    return MinuteBars.of(day, minute, open_, np.maximum(open_, close), np.minimum(open_, close), close,
                         np.full(minute.shape, 1000), REST)


def toy() -> ToyBreakout:
    return ToyBreakout(k=0.02, hold=5, stop=0.05, target=0.1)


def run(minutes: RecordedMinutes | None):  # type: ignore[no-untyped-def]
    panel = make_panel(CLOSES, opens=OPENS, highs=HIGHS, lows=LOWS)
    assert panel.date_at(2) == DAY
    return BacktestEngine(toy(), panel, minutes=minutes).run(panel.date_at(1), panel.date_at(3))


@pytest.fixture
def minutes(tmp_path: Path) -> RecordedMinutes:
    store = MinuteStore(tmp_path / "minutes")
    store.write(DAY, {"000001": recorded_day()})
    return RecordedMinutes(store)


def test_the_recorded_day_walks_its_minutes_and_the_others_the_synthetic_path(minutes: RecordedMinutes) -> None:
    outcome = run(minutes)
    figures = outcome.metrics["intraday"]
    assert figures == {"minute_bar_stock_days": 1, "synthetic_stock_days": 1, "minute_bar_days": [DAY.isoformat()]}
    assert outcome.to_dict()["metrics"]["intraday"] == figures  # in the result JSON
    html = render_html(outcome)
    assert 'id="intraday-path"' in html
    assert "1 stock-days on recorded minute bars (2024-01-04), 1 on the synthetic path" in html
    assert run(None).metrics["intraday"] == {"minute_bar_stock_days": 0, "synthetic_stock_days": 2,
                                             "minute_bar_days": []}


def test_real_minutes_change_the_fills_when_they_differ_from_the_synthetic_path(minutes: RecordedMinutes) -> None:
    synthetic, real = run(None), run(minutes)
    # synthetic up day: open → low (94) → high (106) → close; the entry at 102 comes on the way up, after the low:
    # no stop that day
    assert [(f.side, f.day) for f in synthetic.fills] == [("buy", DAY)]
    assert synthetic.fills[0].at.hour >= 11
    # recorded: through 102 at 09:03, then down through the stop (95) before 10:00: bought and stopped out
    assert [(f.side, f.day, f.reason) for f in real.fills] == [("buy", DAY, "breakout"), ("sell", DAY, "stop_loss")]
    buy, sell = real.fills
    assert (buy.at.hour, buy.at.minute) == (9, 3) and sell.at.hour == 9 and sell.at < sell.at.replace(hour=10)
    assert sell.price <= 95 < buy.price
    assert real.final_equity < synthetic.final_equity


def test_a_partial_recording_stays_synthetic(tmp_path: Path) -> None:
    store = MinuteStore(tmp_path / "minutes")
    morning = recorded_day()
    keep = np.flatnonzero(morning.minute <= 720)  # the socket died at noon, no backfill
    store.write(DAY, {"000001": morning.take(keep)})
    assert run(RecordedMinutes(store)).metrics["intraday"]["minute_bar_stock_days"] == 0


def test_the_minute_path_keeps_the_bar_order_and_the_auction_close() -> None:
    path = DayPath.from_minutes(recorded_day(), "KOSPI")
    assert path.recorded and path.open == 100 and path.close == 104 and path.last == 4 * 381 - 1
    assert path.high_between(0, path.last) == 106 and path.low_between(0, path.last) == 94
    assert path.time(path.last).strftime("%H:%M:%S") == "15:30:59"
    s = path.crossing(102, from_above=False, after=0)
    assert s is not None and path.time(s).strftime("%H:%M") == "09:03"  # 101.8 rounds to 102


def test_hantu_backtest_prints_which_path_it_walked(isolated_env: Path) -> None:
    """The CLI on a sample store with one recorded stock-day: the line, the JSON report and the HTML say so."""
    from hantu.backtest.service import load_market, run_on_panel
    from hantu.market import calendar
    from hantu.market.intraday import minute_path
    from hantu.market.minutes import minute_store_beside
    from hantu.market.sample import write_sample_market
    from hantu.market.store import MarketStore

    store = MarketStore(isolated_env / "market")
    write_sample_market(store, stocks=120, days=130, seed=2)
    days = store.trading_dates()
    start, end = days[60], days[-1]
    plain = run_on_panel("volatility_breakout", load_market(store, start, end), start, end)
    assert plain.fills and plain.metrics["intraday"]["minute_bar_stock_days"] == 0
    fill = plain.fills[0]
    panel = store.load_range(fill.day, fill.day)
    col = panel.column(fill.code)
    bar = [float(getattr(panel, k)[0, col]) for k in ("open", "high", "low", "close", "volume")]
    path = minute_path(*bar, session=calendar.session(fill.day), on=fill.day, market="KOSPI", seed=5)
    minute = np.array([t.hour * 60 + t.minute for t in path.times])
    prev = np.r_[path.prices[0], path.prices[:-1]]
    minute_store_beside(store.root).write(fill.day, {fill.code: MinuteBars.of(
        fill.day, minute, prev, np.maximum(prev, path.prices), np.minimum(prev, path.prices), path.prices,
        path.volumes, REST)})

    result = run_hantu("backtest", "-s", "volatility_breakout", "--from", start.isoformat(), "--to",
                       end.isoformat())
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("intraday path:"))
    assert f"1 stock-days on recorded minute bars ({fill.day.isoformat()})" in line
    report = next(x for x in result.stdout.splitlines() if x.startswith("report:")).split(": ", 1)[1]
    data = json.loads(Path(report).with_suffix(".json").read_text(encoding="utf-8"))
    figures = data["metrics"]["intraday"]
    assert figures["minute_bar_stock_days"] == 1 and figures["minute_bar_days"] == [fill.day.isoformat()]
    assert figures["synthetic_stock_days"] == plain.metrics["intraday"]["synthetic_stock_days"] - 1
    assert 'id="intraday-path"' in Path(report).read_text(encoding="utf-8")
