"""The read routes on seeded data, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from api_seed import BASE_CASH, BOUGHT, CASH, CLOSES, NAMES, NOW, OPEN_ORDER, PICKS, POSITIONS, write_log

from hantu.store.kv import kv_set


def test_status_reports_mode_heartbeat_and_halt(ro_client) -> None:  # type: ignore[no-untyped-def]
    body = ro_client.get("/api/v1/status").json()
    assert body["mode"] == {"trading_mode": "paper", "server": "virtual", "real_money": False,
                            "strategy": "momentum", "language": "ko"}
    assert body["now"].startswith("2026-03-16T10:30:00")
    scheduler = body["scheduler"]
    assert scheduler["published"] and scheduler["fresh"]
    assert scheduler["age_seconds"] == 5.0 and scheduler["pid"] == 4242 and scheduler["state"] == "idle"
    assert scheduler["next_jobs"][0]["job"] == "close_out"
    assert body["halt"]["halted"] is False


def test_heartbeat_goes_stale_after_90_seconds(client, clock) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/ready").status_code == 200
    clock.advance(timedelta(seconds=80))
    assert client.get("/api/v1/status").json()["scheduler"]["fresh"] is True
    clock.advance(timedelta(seconds=20))
    assert client.get("/api/v1/status").json()["scheduler"]["fresh"] is False
    ready = client.get("/ready")
    assert ready.status_code == 503
    assert ready.json() == {"ready": False, "checks": {"database": True, "scheduler": False}}


def test_ready_without_scheduler_and_with_a_stopped_one(database, make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client()
    assert client.get("/ready").json()["checks"] == {"database": True, "scheduler": False}
    from api_seed import heartbeat

    with database.session() as s:
        kv_set(s, "scheduler.heartbeat", heartbeat(NOW, state="stopped"))
    assert client.get("/ready").status_code == 503
    with database.session() as s:
        kv_set(s, "scheduler.heartbeat", heartbeat(NOW, state="idle"))
    assert client.get("/ready").status_code == 200


def test_account_and_positions_at_the_last_close(ro_client) -> None:  # type: ignore[no-untyped-def]
    last = CLOSES[max(CLOSES)]
    value = sum(q * last[code] for code, (q, _) in POSITIONS.items())
    account = ro_client.get("/api/v1/account").json()
    assert account["broker"] == "paper" and account["priced"] is True
    assert account["cash"] == CASH
    assert account["positions_value"] == value == 2_130_000
    assert account["equity"] == CASH + value
    # P&L against the equity at the previous close (base cash + the base holding at that close)
    assert account["day_pnl"] == CASH + value - (BASE_CASH + 20 * last["035720"]) == 9_805
    assert account["positions"] == 3
    positions = ro_client.get("/api/v1/positions").json()["items"]
    assert [(p["code"], p["name"], p["quantity"], p["last_price"]) for p in positions] == sorted(
        (code, NAMES[code], qty, last[code]) for code, (qty, _) in POSITIONS.items())
    kakao = next(p for p in positions if p["code"] == "035720")
    assert kakao["unrealized_pnl"] == 20 * (41_000 - 40_000)
    assert abs(kakao["unrealized_pnl_pct"] - 0.025) < 1e-12


def test_performance_curve_from_base_fills_and_closes(ro_client) -> None:  # type: ignore[no-untyped-def]
    body = ro_client.get("/api/v1/performance").json()
    curve = [(p["date"], p["equity"]) for p in body["points"]]
    assert curve == [("2026-03-11", BASE_CASH + 20 * 42_000), ("2026-03-12", BASE_CASH + 20 * 40_000),
                     ("2026-03-13", BASE_CASH + 20 * 41_000), ("2026-03-16", 7_130_000)]
    assert body["points"][1]["pnl"] == -40_000
    assert abs(body["points"][1]["drawdown"] - 40_000 / (BASE_CASH + 840_000)) < 1e-12
    assert abs(body["max_drawdown"] - 40_000 / (BASE_CASH + 840_000)) < 1e-12
    assert abs(body["total_return"] - (7_130_000 / (BASE_CASH + 840_000) - 1)) < 1e-12
    assert body["day_pnl"] == 9_805
    outcomes = {(o["date"], o["code"]): o for o in body["selections"]}
    older = outcomes[("2026-03-12", "000660")]
    assert older["price_then"] == 115_000 and older["price_now"] == 121_000
    assert abs(older["return_pct"] - (121_000 / 115_000 - 1)) < 1e-12
    assert outcomes[("2026-03-16", "035720")]["return_pct"] == 0.0


def test_screening_watchlist_and_selections(ro_client) -> None:  # type: ignore[no-untyped-def]
    screening = ro_client.get("/api/v1/screening").json()
    assert screening["run"]["passed"] == 40
    assert [(w["code"], w["reasons"]) for w in screening["items"]] == [
        ("035720", ["20일 수익률 상위 5%", "거래량 2.1배"]), ("005930", ["신고가 근접"])]
    assert ro_client.get("/api/v1/watchlist").json()["items"] == screening["items"]
    assert ro_client.get("/api/v1/screening", params={"date": "2026-03-01"}).json() == {"run": None, "items": []}
    picks = ro_client.get("/api/v1/selections").json()
    assert picks["date"] == "2026-03-16" and picks["run"]["regime"] == "bull"
    assert [(p["rank"], p["code"], p["reason"]) for p in picks["items"]] == [
        (i, code, reason) for i, (code, _, reason) in enumerate(PICKS, start=1)]
    earlier = ro_client.get("/api/v1/selections", params={"date": "2026-03-13"}).json()
    assert earlier["date"] == "2026-03-12" and earlier["items"][0]["code"] == "000660"
    assert ro_client.get("/api/v1/selections/runs").json()["total"] == 2
    assert ro_client.get("/api/v1/screening/runs").json()["items"][0]["strategy"] == "momentum"


def test_backtests(ro_client) -> None:  # type: ignore[no-untyped-def]
    page = ro_client.get("/api/v1/backtests").json()
    assert page["total"] == 1 and page["items"][0]["metrics"]["cagr"] == 0.125
    run_id = page["items"][0]["id"]
    detail = ro_client.get(f"/api/v1/backtests/{run_id}").json()
    assert detail["trades"][0]["pnl"] == 28_800.0 and detail["equity_curve"]["equity"][-1] == 11_250_000
    assert ro_client.get("/api/v1/backtests/999999").status_code == 404


def test_data_status(ro_client) -> None:  # type: ignore[no-untyped-def]
    body = ro_client.get("/api/v1/data").json()
    assert body["market"]["first_date"] == "2026-03-11" and body["market"]["last_date"] == "2026-03-13"
    assert body["market"]["days"] == 3 and body["market"]["stocks_last_day"] == 3
    assert body["stale_days"] == 3 and body["instruments"] == 3
    assert body["last_sync"]["job"] == "data_sync" and body["last_sync"]["status"] == "success"


def test_orders_filters_and_pagination(ro_client) -> None:  # type: ignore[no-untyped-def]
    page = ro_client.get("/api/v1/orders").json()
    assert page["total"] == 3 and len(page["items"]) == 3
    assert page["items"][0]["client_order_id"] == OPEN_ORDER  # newest first
    assert page["items"][0]["name"] == "카카오" and page["items"][0]["is_open"] is True
    open_only = ro_client.get("/api/v1/orders", params={"open": "true"}).json()
    assert [o["client_order_id"] for o in open_only["items"]] == [OPEN_ORDER]
    by_code = ro_client.get("/api/v1/orders", params={"code": "005930"}).json()
    assert by_code["total"] == 1 and by_code["items"][0]["status"] == "filled"
    second = ro_client.get("/api/v1/orders", params={"limit": 1, "offset": 1}).json()
    assert second["total"] == 3 and len(second["items"]) == 1
    assert second["items"][0]["client_order_id"] == "C-20260316-0002"
    assert ro_client.get("/api/v1/orders", params={"date": "2026-03-13"}).json()["total"] == 0
    assert ro_client.get("/api/v1/orders", params={"status": "filled", "side": "buy"}).json()["total"] == 2
    assert ro_client.get("/api/v1/orders", params={"side": "short"}).status_code == 422
    assert ro_client.get("/api/v1/orders", params={"limit": 0}).status_code == 422


def test_fills(ro_client) -> None:  # type: ignore[no-untyped-def]
    page = ro_client.get("/api/v1/fills").json()
    assert page["total"] == 2
    assert {f["code"]: f["quantity"] for f in page["items"]} == {c: q for c, (q, _) in BOUGHT.items()}
    assert ro_client.get("/api/v1/fills", params={"code": "000660"}).json()["items"][0]["price"] == 120_000


def test_jobs_timeline(ro_client) -> None:  # type: ignore[no-untyped-def]
    body = ro_client.get("/api/v1/jobs").json()
    runs = body["runs"]["items"]
    assert [r["job"] for r in runs] == ["selection", "screening", "data_sync"]
    assert runs[0]["status"] == "failed" and "no data" in runs[0]["error"]
    assert runs[0]["duration_seconds"] == 42.0
    assert body["next_jobs"][0]["job"] == "close_out"
    assert ro_client.get("/api/v1/jobs", params={"status": "success"}).json()["runs"]["total"] == 2


def test_log_tail_masks_secrets_and_filters(database, make_client, isolated_env) -> None:  # type: ignore[no-untyped-def]
    secret = "SUPERSECRETAPPKEY1234567890"
    write_log(isolated_env, "scheduler", [
        {"time": "2026-03-16T09:00:00.000+09:00", "level": "INFO", "logger": "x", "message": "started"},
        {"time": "2026-03-16T09:01:00.000+09:00", "level": "ERROR", "logger": "x", "message": f"leak {secret}"},
    ])
    write_log(isolated_env, "api", [{"time": "2026-03-16T09:00:30.000+09:00", "level": "INFO", "logger": "y",
                                     "message": "listening"}])
    client = make_client({"APP_KEY": secret})
    body = client.get("/api/v1/logs").json()
    assert body["files"] == ["api", "scheduler"]
    assert [line["message"] for line in body["lines"]] == ["started", "listening", "leak ***"]
    errors = client.get("/api/v1/logs", params={"file": "scheduler", "level": "ERROR"}).json()["lines"]
    assert [line["level"] for line in errors] == ["ERROR"]
    assert client.get("/api/v1/logs", params={"file": "../etc/passwd"}).status_code == 404
    assert client.get("/api/v1/logs", params={"lines": 1}).json()["lines"][0]["message"] == "leak ***"


def test_health_is_public_and_says_nothing(database, make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client(key="k" * 20)
    response = client.get("/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_metrics(ro_client) -> None:  # type: ignore[no-untyped-def]
    ro_client.get("/api/v1/status")
    ro_client.get("/api/v1/orders/")  # unknown path: counted under a fixed label
    text = ro_client.get("/metrics").text
    assert 'hantu_api_requests_total{method="GET",route="/api/v1/status",status="200"} 1.0' in text
    assert "hantu_trading_halted 0.0" in text
    assert "hantu_scheduler_heartbeat_age_seconds 5.0" in text


def test_dashboard_page_in_korean_and_english(seeded, make_client) -> None:  # type: ignore[no-untyped-def]
    korean = make_client().get("/")
    assert korean.status_code == 200 and '<html lang="ko">' in korean.text and "매매 중지" in korean.text
    assert "no-store" in korean.headers["cache-control"] and "frame-ancestors 'none'" in \
        korean.headers["content-security-policy"]
    assert "<script src=" not in korean.text and "https://" not in korean.text  # inline script, no CDN
    english = make_client({"HANTU_LANGUAGE": "en"}).get("/")
    assert '<html lang="en">' in english.text and "Halt trading" in english.text


def test_route_list_matches_the_openapi_document(client) -> None:  # type: ignore[no-untyped-def]
    from hantu.api.app import HIDDEN_PATHS, route_paths

    assert sorted(route_paths(client.app)) == sorted({*client.app.openapi()["paths"], *HIDDEN_PATHS})


def test_default_picks_are_the_newest_run_even_one_dated_after_today(client) -> None:  # type: ignore[no-untyped-def]
    """The demo's simulated day lies after the wall date: its picks are still what the dashboard shows."""
    from hantu.clock import FrozenClock

    # the app's today (2026-03-12) is before the newest runs (2026-03-16)
    client.app.state.ctx.clock = FrozenClock(NOW - timedelta(days=4))
    assert client.get("/api/v1/selections").json()["date"] == "2026-03-16"
    assert [w["code"] for w in client.get("/api/v1/watchlist").json()["items"]] == ["035720", "005930"]
    assert client.get("/api/v1/selections", params={"date": "2026-03-12"}).json()["date"] == "2026-03-12"


def test_dashboard_fast_path_sends_the_routes_page(seeded, make_client) -> None:  # type: ignore[no-untyped-def]
    """`GET /` is answered from the bytes built once; they are the route's own page and headers."""
    from hantu.api.dashboard import HEADERS, render

    client = make_client()
    first, second = client.get("/"), client.get("/")
    assert first.status_code == second.status_code == 200
    key_required = client.app.state.ctx.api_key is not None
    assert first.content == second.content == render("ko", key_required).encode()
    for name, value in HEADERS.items():
        assert first.headers[name] == value
    assert first.headers["content-type"].startswith("text/html")
    assert client.post("/").status_code == 405  # other methods still go through the router
