"""Corporate actions: the factor table in the store, the adjusted panel view, the backtest's whole-panel pass
across an action, and the KIS master format's round trip and errors."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from hantu.market.corporate_actions import CorporateAction, classify, effective, factor_matrix
from hantu.market.kis_master import MasterFormatError, MasterRow, parse_master, write_master
from hantu.market.sample import generate_sample_market, write_sample_market
from hantu.market.store import MarketStore

END = date(2024, 2, 13)


def test_factor_matrix_and_backward_adjusted_views() -> None:
    dates = np.array(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"], dtype="datetime64[D]")
    codes = np.array(["000010", "000020"])
    actions = [
        CorporateAction("000010", date(2024, 1, 4), 0.2, "split", "detected"),
        CorporateAction("000020", date(2024, 1, 9), 3.0, "reverse_split", "detected"),
    ]  # after the panel
    factor = factor_matrix(dates, codes, actions)
    assert factor is not None
    assert factor[:, 0].tolist() == [0.2, 0.2, 1.0, 1.0] and factor[:, 1].tolist() == [1.0] * 4
    assert factor_matrix(dates, codes, actions[1:]) is None  # nothing inside: no array at all
    from hantu.market.panel import DailyPanel

    close = np.array([[100.0, 50.0], [105.0, 51.0], [21.0, 52.0], [22.0, 53.0]])
    panel = DailyPanel(
        dates=dates,
        codes=codes,
        names=codes,
        markets=np.array(["KOSPI"] * 2),
        open=close,
        high=close,
        low=close,
        close=close,
        volume=np.full((4, 2), 10.0),
        amount=close * 10,
        factor=factor,
    )
    assert panel.adjusted_close[:, 0].tolist() == pytest.approx([20.0, 21.0, 21.0, 22.0])
    assert panel.adjusted_volume[:, 0].tolist() == [50.0, 50.0, 10.0, 10.0]
    # a slice ending before the ex-date is its own reference: nothing to adjust there
    before = panel.slice_days(0, 2)
    assert before.price_scale() is None and before.adjusted_close[:, 0].tolist() == [100.0, 105.0]


def test_strongest_source_wins_and_classify_refuses_what_it_cannot_explain() -> None:
    day = date(2024, 1, 8)
    rows = [
        CorporateAction("000010", day, 0.5, "bonus_issue", "detected"),
        CorporateAction("000010", day, 0.4, "bonus_issue", "kis"),
        CorporateAction("000010", day, 1 / 3, "bonus_issue", "manual"),
    ]
    assert effective(rows)[0].source == "manual" and effective(rows[:2])[0].factor == 0.4
    with pytest.raises(ValueError, match="factor"):
        CorporateAction("000010", day, 0.0, "split", "manual")
    with pytest.raises(ValueError, match="source"):
        CorporateAction("000010", day, 0.5, "split", "guess")
    bar = {"open": 14490.0, "high": 17410.0, "low": 14020.0, "close": 15380.0}
    found = classify("336370", day, "KOSPI", 27000.0, 35_111_195, bar, 35_111_195)
    assert isinstance(found, CorporateAction) and found.kind == "bonus_issue"
    rise = {"open": 3965.0, "high": 4500.0, "low": 3900.0, "close": 4475.0}
    assert (
        classify("419270", date(2024, 1, 12), "KOSPI", 2425.0, 4_305_000, rise, 4_305_000)
        == "rise beyond the limit without a share change"
    )
    consolidation = {"open": 1674.0, "high": 1700.0, "low": 1450.0, "close": 1518.0}
    found = classify("076610", day, "KOSDAQ", 312.0, 127_265_994, consolidation, 25_453_198)
    assert isinstance(found, CorporateAction) and found.factor == pytest.approx(5.0, rel=1e-6)


def test_store_keeps_actions_by_source_and_detection_reruns_on_write(tmp_path: Path) -> None:
    store = MarketStore(tmp_path / "market")
    write_sample_market(store, stocks=8, days=30, seed=2, end=END)
    market = generate_sample_market(stocks=8, days=30, seed=2, end=END)  # the same days, in memory
    assert store.corporate_actions() == []  # the sample moves within its limits: nothing detected
    code = store.instruments()[0].code
    manual = CorporateAction(code, store.trading_dates()[10], 0.5, "split", "manual")
    store.add_action(manual)
    assert store.corporate_actions() == [manual]
    store.write_days(market.days[-3:], source="again")  # rewriting days keeps other sources' rows
    assert store.corporate_actions() == [manual]
    panel = store.load(30)
    col, row = panel.column(code), panel.row(manual.ex_date)
    assert panel.factor is not None and panel.factor[row - 1, col] == 0.5 and panel.factor[row, col] == 1.0


def test_backtest_candidates_stay_in_raw_won_before_an_action(tmp_path: Path) -> None:
    """The whole-panel pass adjusts a chunk to its last row; a watchlist stock with an action later in the chunk
    gets its candidate from the live window path, so its limit price is the day's real price."""
    from hantu.backtest.screens import PanelScreens
    from hantu.strategy.registry import create_strategy

    store = MarketStore(tmp_path / "market")
    write_sample_market(store, stocks=150, days=120, seed=11, end=END)
    strategy = create_strategy("momentum", {}, use_settings=False)
    panel = store.load(120)
    row = 90
    plain = PanelScreens(strategy, panel, store.instruments(), prefetch=False).candidates_after(row)
    assert plain, "the sample market yields candidates on that day"
    code = plain[0].code
    store.add_action(CorporateAction(code, panel.date_at(row + 5), 0.2, "split", "manual"))
    adjusted_panel = store.load(120)
    screens = PanelScreens(strategy, adjusted_panel, store.instruments(), prefetch=False)
    found = {c.code: c for c in screens.candidates_after(row)}
    close = float(panel.close[row, panel.column(code)])
    assert code in found and abs(found[code].entry_price / close - 1) < 0.05  # not a fifth of it
    assert found[code].entry_price == plain[0].entry_price


def test_master_round_trip_and_format_errors() -> None:
    row = MasterRow(
        code="005930",
        standard_code="KR7005930003",
        name="삼성전자",
        market="KOSPI",
        group="ST",
        sector_large="0027",
        sector_mid="0013",
        sector_small="",
        spac=False,
        overheat=True,
        halted=False,
        liquidation=False,
        administrative=True,
        warning="danger",
        warning_notice=True,
        preferred=False,
        listed_shares=5_969_782_550,
        listed_on=date(1975, 6, 11),
        base_price=71000,
    )
    assert parse_master(write_master([row]), "KOSPI") == [row]
    kosdaq = MasterRow(**{**row.__dict__, "code": "035720", "market": "KOSDAQ", "listed_shares": 445_000_000})
    assert parse_master(write_master([kosdaq]), "KOSDAQ") == [kosdaq]
    assert row.sector == "KOSPI:0013"
    with pytest.raises(MasterFormatError, match=r"<master>:1: line of"):
        parse_master(write_master([kosdaq]), "KOSPI")  # a KOSDAQ line is too short for the KOSPI layout
    with pytest.raises(MasterFormatError, match="not cp949"):
        parse_master(b"\xff\xfe\xfa", "KOSPI")
