"""Dashboard controls in a real headless Chromium against the KIS sandbox: cancel an order and exit a position
through the confirmation dialog (the same action layer and audit as Telegram), refused without the key."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
from control_kit import KAKAO, SAMSUNG
from sqlalchemy import select

from hantu.bot.actions import ActionService
from hantu.domain.order_state import OrderStatus
from hantu.domain.orders import OrderType, Side
from hantu.market.closes import closes_reader
from hantu.store.models import AuditEntry
from hantu.store.models.control import ControlAction
from hantu.trading.account import AccountService

API_KEY = "control-key-83c1d2e4f5a6"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI requires {CHROMIUM} (scripts/ci/system_deps.sh installs it)")
    pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")


@pytest.fixture
def api_url(desk, monkeypatch):  # type: ignore[no-untyped-def]
    """The API for the KIS account on the desk's clock, served by uvicorn on loopback in this process."""
    import uvicorn

    from hantu.api.app import create_app
    from hantu.config import load_settings, reset_settings_cache

    monkeypatch.setenv("API_SERVER_KEY", API_KEY)
    monkeypatch.setenv("TRADING_MODE", "kis")
    reset_settings_cache()
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(load_settings(), desk.clock), host="127.0.0.1", port=port,
                                           log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


def executor(desk, store_root) -> ActionService:  # type: ignore[no-untyped-def]
    """What the scheduler's control-actions thread runs: the executing side of the same action layer."""
    return ActionService(AccountService("kis", closes_reader(store_root)), desk.clock, engine=desk.engine)


def test_controls_are_refused_without_the_key(desk, api_url) -> None:  # type: ignore[no-untyped-def]
    for path, body in (("/api/v1/controls/actions", {"kind": "flatten"}),
                       ("/api/v1/controls/actions", {"kind": "halt"}),
                       ("/api/v1/controls/actions/0123456789abcdef/confirm", {"stage": 1})):
        assert httpx.post(api_url + path, json=body).status_code == 401
        assert httpx.post(api_url + path, json=body, headers={"X-API-Key": "wrong"}).status_code == 401
    with desk.database.session() as s:
        assert s.scalar(select(ControlAction.id)) is None
    ok = httpx.post(api_url + "/api/v1/controls/actions", json={"kind": "sell", "code": SAMSUNG, "quantity": 999},
                    headers={"X-API-Key": API_KEY})
    assert ok.status_code == 409 and "20주" in ok.json()["detail"]


@pytest.mark.browser
def test_cancel_and_exit_from_the_dashboard(desk, api_url, control_store_root, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _require_chromium()
    from playwright.sync_api import expect, sync_playwright

    low = desk.broker.quote(KAKAO).lower_limit
    placed = desk.engine().submit(KAKAO, Side.BUY, 2, OrderType.LIMIT, low, "manual", "test", "cli", actor="cli:t")
    assert placed.order is not None
    client_id = placed.order.client_order_id
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1400}, locale="ko-KR")
            page.goto(api_url + "/")
            page.fill("#api-key", API_KEY)
            page.click("#save-key")
            row = page.locator(f'#orders tr[data-order="{client_id}"]')
            expect(row).to_contain_text("카카오")
            # cancel: the dialog shows the order; "취소" in the dialog sends nothing
            row.locator("button.cancel").click()
            expect(page.locator("#confirm-dialog")).to_be_visible()
            expect(page.locator("#confirm-lines")).to_contain_text(f"주문 취소: 매수 카카오 ({KAKAO}) 0/2주")
            page.click("#confirm-no")
            expect(page.locator("#control-status")).to_contain_text("아무것도 실행되지 않았습니다")
            executor(desk, control_store_root).run_confirmed(desk.database)
            assert [o.status for o in desk.broker_orders("buy")] == [OrderStatus.SUBMITTED]
            # again, and confirm: the scheduler's executor cancels it at the broker
            row.locator("button.cancel").click()
            page.click("#confirm-yes")
            expect(page.locator("#control-status")).to_contain_text("확인되었습니다")
            assert [o.status for o in desk.broker_orders("buy")] == [OrderStatus.SUBMITTED]  # not before execution
            done = executor(desk, control_store_root).run_confirmed(desk.database)
            assert len(done) == 1
            assert [o.status for o in desk.broker_orders("buy")] == [OrderStatus.CANCELLED]
            page.reload()
            cancelled = page.locator(f'#orders tr[data-order="{client_id}"]')
            expect(cancelled).to_have_attribute("data-status", "cancelled")
            expect(cancelled).to_contain_text("취소됨")
            expect(cancelled.locator("button")).to_have_count(0)  # nothing left to cancel
            # the dashboard's helpers: round axis ticks in won, durations in minutes and seconds
            ticks = page.evaluate("niceTicks(7123456, 7456789, 4)")
            assert ticks[0] <= 7123456 and ticks[-1] >= 7456789 and all(t % 100_000 == 0 for t in ticks), ticks
            assert page.evaluate("niceTicks(51400000 * 0.99, 51400000 * 1.01, 4)") == [
                50_500_000, 51_000_000, 51_500_000, 52_000_000]
            assert page.evaluate("dur(75.2)") == "1분 15초" and page.evaluate("dur(9)") == "9초"
            expect(page.locator("#stale-banner")).to_contain_text("필요한 종가(전 거래일) 2024-01-04")
            # exit a position: the dialog shows quantity and price; confirm → one sell at the broker
            page.locator(f'#positions tr[data-code="{SAMSUNG}"] button.exit').click()
            expect(page.locator("#confirm-lines")).to_contain_text(f"매도 삼성전자 ({SAMSUNG}) 20주 시장가")
            page.click("#confirm-yes")
            expect(page.locator("#control-status")).to_contain_text("확인되었습니다")
            executor(desk, control_store_root).run_confirmed(desk.database)
            executor(desk, control_store_root).run_confirmed(desk.database)  # a second round sends nothing more
            assert [(o.code, o.quantity) for o in desk.broker_orders("sell")] == [(SAMSUNG, 20)]
            page.screenshot(path=str(tmp_path / "controls.png"), full_page=True)
        finally:
            browser.close()
    with desk.database.session() as s:
        audited = s.scalars(select(AuditEntry.action).where(AuditEntry.source == "api")).all()
    assert {"propose_cancel", "confirm_cancel", "execute_cancel", "propose_sell", "execute_sell"} <= set(audited)
