"""The dashboard in a real headless Chromium (Debian's, driven by Playwright): it shows the seeded numbers, the
halt button halts trading, and a screenshot is saved for a human to look at."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest
from api_seed import API_KEY, NOW, PICKS, seed_market

from hantu.trading.halt import halt_state

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI requires {CHROMIUM} (scripts/ci/system_deps.sh installs it)")
    pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium); the dashboard browser test needs it")


@pytest.fixture
def live_server(seeded, isolated_env, monkeypatch):  # type: ignore[no-untyped-def]
    """The app on a frozen clock, served by uvicorn on a free loopback port in this process."""
    import uvicorn

    from hantu.api.app import create_app
    from hantu.clock import FrozenClock
    from hantu.config import load_settings

    seed_market(isolated_env)
    monkeypatch.setenv("API_SERVER_KEY", API_KEY)
    # the listening socket is bound here and handed to uvicorn: no window in which another xdist worker (or
    # anything else) could take a port picked as free
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(load_settings(), FrozenClock(NOW))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
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


@pytest.mark.browser
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_dashboard_shows_the_numbers_and_halts(live_server, seeded, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _require_chromium()
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1100}, locale="ko-KR")
            page.on("dialog", lambda dialog: dialog.accept())
            page.goto(live_server + "/")
            # without the key the data routes answer 401 and the page asks for the key
            expect(page.locator("#keybox")).to_be_visible()
            expect(page.locator("#message")).to_contain_text("API 키가 필요합니다")
            expect(page.locator("#equity")).to_have_text("–")
            page.fill("#api-key", API_KEY)
            page.click("#save-key")
            expect(page.locator("#equity")).to_have_text("7,130,000")
            expect(page.locator("#cash")).to_have_text("5,000,000")
            expect(page.locator("#day-pnl")).to_have_text("+9,805")
            expect(page.locator("#max-drawdown")).to_have_text("-0.56%")
            expect(page.locator("#mode")).to_have_text("모의(페이퍼)")
            expect(page.locator("#scheduler")).to_contain_text("정상")
            expect(page.locator("#halt-state")).to_have_text("진행 중")
            rows = page.locator("#positions tbody tr")
            expect(rows).to_have_count(3)
            expect(page.locator('#positions tr[data-code="035720"]')).to_contain_text("카카오")
            expect(page.locator('#positions tr[data-code="035720"]')).to_contain_text("41,000")
            expect(page.locator('#positions tr[data-code="035720"]')).to_contain_text("+2.50%")
            picks = page.locator("#picks tbody tr")
            expect(picks).to_have_count(len(PICKS))
            expect(picks.first).to_contain_text(PICKS[0][2])
            expect(page.locator("#jobs")).to_contain_text("selection — 실패")
            # the equity curve and the cap-weighted KOSPI line from /data/benchmark (the seeded store has shares)
            expect(page.locator("#equity-chart path")).to_have_count(2)
            expect(page.locator('#equity-chart path[data-series^="KOSPI"]')).to_have_count(1)
            expect(page.locator("#drawdown-chart path")).to_have_count(2)
            assert page.evaluate("localStorage.getItem('hantu.apiKey')") == API_KEY

            page.click("#halt-button")  # the confirmation dialog shows what will happen; nothing before 확인
            expect(page.locator("#confirm-dialog")).to_be_visible()
            expect(page.locator("#confirm-lines")).to_contain_text("매매 중지 — dashboard")
            with seeded.session() as s:
                assert not halt_state(s).halted
            page.click("#confirm-yes")
            expect(page.locator("#halt-state")).to_have_text("중지됨")
            expect(page.locator("#halt-button")).to_have_text("매매 재개")
            with seeded.session() as s:
                state = halt_state(s)
            assert state.halted and state.by == "api:127.0.0.1" and state.reason == "dashboard"
            page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
        finally:
            browser.close()
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000
    print(f"screenshot: {tmp_path / 'dashboard.png'}")
