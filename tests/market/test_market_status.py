"""Market-status rules (issue #20): the dated VI table, VI detection over a minute path, circuit-breaker stages,
what each status lets an order do, and the KIS field readings."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hantu.domain.orders import OrderType, Side
from hantu.market import rules
from hantu.market.status import (
    StockStatus,
    circuit_breaker_stage,
    detect_vi,
    halted_from_tick,
    kis_vi_code,
    vi_from_kis,
    vi_from_tick,
)
from hantu.notify.templates import render

DAY = date(2026, 11, 6)


def test_the_vi_table_has_krx_bands_by_group_and_session() -> None:
    assert rules.vi_rates(DAY, "KOSPI200") == (Decimal("0.10"), Decimal("0.03"))
    assert rules.vi_rates(DAY, "KOSPI200", "closing") == (Decimal("0.10"), Decimal("0.02"))
    assert rules.vi_rates(DAY, "KOSPI") == (Decimal("0.10"), Decimal("0.06"))
    assert rules.vi_rates(DAY, "KOSDAQ", "closing")[1] == Decimal("0.04")
    assert rules.vi_rates(DAY, "KONEX")[1] == Decimal("0.06")  # follows KOSDAQ


def test_static_and_dynamic_vis_are_found_and_the_watch_restarts_after_each_auction() -> None:
    flat = [10_000] * 10
    jump = flat + [11_000, 11_050, 11_100, 11_100] + [11_100] * 5
    windows = detect_vi(jump, DAY, "KOSDAQ")
    assert [(w.start, w.end, w.kind, w.reference, w.auction_price) for w in windows] == [
        (10, 12, "static+dynamic", 10_000, 11_100)]
    small = flat + [10_400] + [10_400] * 5  # +4 % in a minute: dynamic for a KOSPI200 stock only
    assert [w.kind for w in detect_vi(small, DAY, "KOSPI", index_member=True)] == ["dynamic"]
    assert detect_vi(small, DAY, "KOSPI", index_member=False) == []
    creep = [10_000 + 100 * i for i in range(15)]  # +1 % a minute: static once 10 % from the open
    found = detect_vi(creep, DAY, "KOSPI")
    assert [w.kind for w in found] == ["static"] and found[0].start == 10
    assert detect_vi([10_000, 12_000], DAY, "KOSPI") == []  # too late in the day for an auction to end


def test_circuit_breaker_stages_go_one_at_a_time_and_not_late() -> None:
    assert circuit_breaker_stage(-0.07, 0, 200) is None
    assert circuit_breaker_stage(-0.081, 0, 200) == 1
    assert circuit_breaker_stage(-0.16, 0, 200) == 1  # stage 2 needs stage 1 first
    assert circuit_breaker_stage(-0.151, 1, 200) == 2
    assert circuit_breaker_stage(-0.09, 1, 200) is None
    assert circuit_breaker_stage(-0.09, 0, 30) is None  # the last 40 minutes: no stage 1-2
    assert circuit_breaker_stage(-0.21, 2, 30) == 3  # stage 3 ends the day whenever


def test_what_each_status_lets_an_order_do() -> None:
    vi = StockStatus(vi="static")
    assert vi.hold_reason(OrderType.MARKET, Side.SELL) == "static VI auction: market order held until it ends"
    assert vi.hold_reason(OrderType.LIMIT, Side.SELL) is None  # a priced order joins the auction
    halted = StockStatus(halted=True, vi="dynamic")
    assert halted.kind == "halted" and halted.hold_reason(OrderType.LIMIT, Side.BUY) is not None
    locked = StockStatus(upper_locked=True)
    assert locked.hold_reason(OrderType.MARKET, Side.BUY) is not None
    assert locked.hold_reason(OrderType.MARKET, Side.SELL) is None
    assert StockStatus().hold_reason(OrderType.MARKET, Side.BUY) is None


def test_kis_fields_are_read_both_ways() -> None:
    assert [vi_from_kis(c) for c in ("N", "", "1", "2", "3", "X")] == ["", "", "static", "dynamic",
                                                                       "static+dynamic", "vi"]
    assert all(vi_from_kis(kis_vi_code(kind)) == kind for kind in ("", "static", "dynamic", "static+dynamic"))
    assert vi_from_tick({"HOUR_CLS_CODE": "C"}) == "vi" and vi_from_tick({"HOUR_CLS_CODE": "0"}) == ""
    assert halted_from_tick({"TRHT_YN": "Y"}) and not halted_from_tick({"TRHT_YN": "N"})


def test_the_held_alert_says_why_in_korean_and_english() -> None:
    data = {"code": "005930", "name": "삼성전자", "side": "sell", "quantity": 10, "status": "vi", "vi": "dynamic",
            "order_type": "market", "order_reason": "stop_loss: price 9,000 <= stop 9,500"}
    ko = render("order_held", data)
    assert "주문 대기" in ko and "동적 VI 발동 (2분 단일가 매매)" in ko and "손절:" in ko
    en = render("order_held", {**data, "status": "upper_lock", "side": "buy"}, "en")
    assert "Order held" in en and "no sellers" in en
