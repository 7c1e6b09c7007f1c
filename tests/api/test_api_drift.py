"""The drift report on the API (`/drift`, `/drift/{day}`) and on the dashboard, in headless Chromium: the table of
days and the chart of cumulative live vs model P&L, with a screenshot."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from api_seed import API_KEY, NOW
from test_api_dashboard_browser import CHROMIUM, CHROMIUM_ARGS, _require_chromium, live_server  # noqa: F401

from hantu.store.models import DriftReport

DAYS = [(date(2026, 3, 11), 20_000.0, 25_000.0, {"slippage": -3_000.0, "missed_fill": -2_000.0}),
        (date(2026, 3, 12), -5_000.0, -5_000.0, {}),
        (date(2026, 3, 13), 41_000.0, 30_000.0, {"manual": 12_500.0, "latency": -1_500.0})]


def seed_drift(database) -> None:  # type: ignore[no-untyped-def]
    with database.session() as s:
        for day, live, model, causes in DAYS:
            drift = live - model
            s.add(DriftReport(trading_date=day, broker="paper", strategy="momentum", created_at=NOW - timedelta(days=3),
                              equity_base=10_000_000.0, live_pnl=live, model_pnl=model, drift=drift,
                              drift_bps=drift / 10_000_000 * 10_000, causes=causes,
                              trades=[{"code": "005930", "side": "buy", "kind": "engine", "causes": causes}],
                              slippage_ticks=[{"code": "005930", "side": "buy", "ticks": 1.0}],
                              alerted=abs(drift) > 5_000))
        s.add(DriftReport(trading_date=date(2026, 3, 13), broker="kis", strategy="momentum", created_at=NOW,
                          equity_base=1.0, live_pnl=9e9, model_pnl=0.0, drift=9e9, drift_bps=9e9, causes={},
                          trades=[], slippage_ticks=[], alerted=True))  # another account's: never shown


def test_drift_routes(client, seeded) -> None:  # type: ignore[no-untyped-def]
    seed_drift(seeded)
    body = client.get("/api/v1/drift").json()
    assert body["broker"] == "paper"
    assert [i["trading_date"] for i in body["items"]] == ["2026-03-11", "2026-03-12", "2026-03-13"]
    assert [i["cumulative_live"] for i in body["items"]] == [20_000.0, 15_000.0, 56_000.0]
    assert [i["cumulative_model"] for i in body["items"]] == [25_000.0, 20_000.0, 50_000.0]
    assert body["total_drift"] == 6_000.0
    assert body["causes"] == {"slippage": -3_000.0, "missed_fill": -2_000.0, "manual": 12_500.0, "latency": -1_500.0}
    assert len(client.get("/api/v1/drift?days=1").json()["items"]) == 1
    day = client.get("/api/v1/drift/2026-03-13").json()
    assert day["day"]["drift"] == 11_000.0 and day["lines"][0]["code"] == "005930"
    assert day["slippage_ticks"] == [{"code": "005930", "side": "buy", "ticks": 1.0}]
    missing = client.get("/api/v1/drift/2026-03-10")
    assert missing.status_code == 404 and "no drift report" in missing.text
    assert client.get("/api/v1/drift/not-a-day").status_code == 422


@pytest.mark.browser
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_dashboard_shows_the_drift_table_and_chart(live_server, seeded, tmp_path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    _require_chromium()
    from playwright.sync_api import expect, sync_playwright

    seed_drift(seeded)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1400}, locale="ko-KR")
            page.goto(live_server + "/")
            page.fill("#api-key", API_KEY)
            page.click("#save-key")
            section = page.locator("#drift-section")
            expect(section.locator("h2")).to_contain_text("실거래-모델 차이")
            rows = page.locator("#drift tbody tr")
            expect(rows).to_have_count(3)
            expect(rows.first).to_have_attribute("data-date", "2026-03-13")  # newest first
            newest = page.locator('#drift tr[data-date="2026-03-13"]')
            expect(newest).to_contain_text("41,000")
            expect(newest).to_contain_text("+11,000")
            expect(newest).to_contain_text("수동 주문 +12,500")
            expect(newest).to_contain_text("지연 -1,500")
            expect(page.locator('#drift tr[data-date="2026-03-11"]')).to_contain_text("체결가 차이 -3,000")
            expect(page.locator('#drift tr[data-date="2026-03-12"]')).to_contain_text("없음")
            expect(page.locator("#drift-total")).to_have_text("(차이 +6,000)")
            # the chart: the live running sum and the model's (dashed) over the same days
            expect(page.locator("#drift-chart path")).to_have_count(2)
            expect(page.locator('#drift-chart path[data-series="모델"]')).to_have_count(1)
            labels = page.locator("#drift-chart text")
            expect(labels.filter(has_text="2026-03-11")).to_have_count(1)
            expect(labels.filter(has_text="2026-03-13")).to_have_count(1)
            assert "9,000,000,000" not in page.locator("#drift-section").inner_text()
            section.screenshot(path=str(tmp_path / "drift.png"))
            page.screenshot(path=str(tmp_path / "dashboard-drift.png"), full_page=True)
        finally:
            browser.close()
    assert (tmp_path / "drift.png").stat().st_size > 5_000
    print(f"screenshot: {tmp_path / 'drift.png'}")
