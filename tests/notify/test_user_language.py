"""Korean everywhere a user reads, English with HANTU_LANGUAGE=en, from one catalogue (`hantu.notify.i18n`): the
backtest report's labels and exit reasons, the selection and watchlist reasons the dashboard shows."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest

from backtest.test_engine import random_panel
from backtest.toys import ToyBreakout
from hantu.api.selections import screening, selections
from hantu.backtest.engine import BacktestEngine
from hantu.backtest.report import render_html
from hantu.clock import KST
from hantu.notify.i18n import LABELS, label, reason
from hantu.store.models.strategy import ScreenRun, SelectionCandidate, SelectionRun, WatchlistEntry

HANGUL = re.compile(r"[가-힣]")


def test_every_label_has_both_languages() -> None:
    for key, (ko, en) in LABELS.items():
        assert ko.strip() and en.strip(), key
        assert HANGUL.search(ko), f"{key}: the Korean label has no Korean"
        assert not HANGUL.search(en), f"{key}: the English label has Korean"
    assert label("report.trades") == "거래 내역" and label("report.trades", "en") == "Trades"
    with pytest.raises(KeyError):
        label("report.no_such_label")


def test_reasons_are_translated_for_ko_and_kept_for_en() -> None:
    stored = "stop_loss: price 9,500 <= stop 9,600"
    assert reason(stored) == "손절: 현재가 9,500 ≤ 손절가 9,600"
    assert reason(stored, "en") == stored
    assert reason(None) == "" and reason("", "en") == ""


def headings(page: str) -> list[str]:
    return re.findall(r"<h[12]>(.*?)</h[12]>", page) + re.findall(r"<th>([^<]*)</th>", page)


@pytest.fixture(scope="module")
def outcome():  # type: ignore[no-untyped-def]
    panel = random_panel(days=60, stocks=8, seed=5)
    result = BacktestEngine(ToyBreakout(), panel).run(panel.date_at(3), date(2030, 1, 1))
    assert result.trades, "the toy run must trade for the reasons to show"
    return result


def test_backtest_report_in_korean_by_default_and_in_english_on_request(outcome) -> None:  # type: ignore[no-untyped-def]
    ko, en = render_html(outcome), render_html(outcome, "en")
    assert '<html lang="ko">' in ko and '<html lang="en">' in en
    for key in ("report.figures", "report.monthly", "report.drawdown", "trade.reason", "metric.total_return"):
        ko_label, en_label = LABELS[key]
        assert ko_label in ko and en_label not in headings(ko), key
        assert en_label in en and ko_label not in en, key
    ko_heads = [h for h in headings(ko) if h.strip() and not h.strip().isdigit()]
    assert all(HANGUL.search(h) for h in ko_heads), [h for h in ko_heads if not HANGUL.search(h)]
    assert not any(HANGUL.search(h) for h in headings(en))
    # the exit reasons: stored in English, shown in the report's language
    stored = [t["exit_reason"] for t in outcome.to_dict()["trades"] if t["exit_reason"]]
    assert stored
    for text in stored:
        assert reason(text, "ko") in ko.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        assert text in en.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    assert any(reason(t) != t for t in stored)  # at least one really was translated


def test_dashboard_reasons_follow_the_language(sqlite_database) -> None:  # type: ignore[no-untyped-def]
    now = datetime(2026, 3, 16, 8, 0, tzinfo=KST)
    with sqlite_database.session() as s:
        screen = ScreenRun(run_date=date(2026, 3, 16), strategy="momentum", data_date=date(2026, 3, 13),
                           created_at=now, universe=10, eligible=5, passed=1, watchlist_size=1, config_hash="x",
                           params={}, figures={})
        s.add(screen)
        s.flush()
        s.add(WatchlistEntry(run_id=screen.id, rank=1, code="005930", name="삼성전자", sector=None, score=0.9,
                             reasons=["momentum score 0.91", "breakout"], factors={}))
        run = SelectionRun(run_date=date(2026, 3, 16), strategy="momentum", data_date=date(2026, 3, 13),
                           created_at=now, regime="bull", max_candidates=5, config_hash="x", figures={})
        s.add(run)
        s.flush()
        s.add(SelectionCandidate(run_id=run.id, rank=1, code="005930", name="삼성전자", sector=None,
                                 entry_price=70000, stop_price=66500, target_price=77000, weight=0.2, score=0.9,
                                 atr=1000.0, reason="momentum score 0.91; regime bull", extra={}))
    with sqlite_database.session() as s:
        ko_pick = selections(s, None, None).items[0]
        en_pick = selections(s, None, None, "en").items[0]
        ko_watch = screening(s, None, None).items[0]
        en_watch = screening(s, None, None, "en").items[0]
    assert ko_pick.reason == en_pick.reason == "momentum score 0.91; regime bull"  # the stored field is stable
    assert ko_pick.reason_text == "모멘텀 점수 0.91; 시장 상승장"
    assert en_pick.reason_text == "momentum score 0.91; regime bull"
    assert ko_watch.reasons_text == ["모멘텀 점수 0.91", "돌파"]
    assert en_watch.reasons_text == ["momentum score 0.91", "breakout"]
