"""Controls: halt/resume, run a job, cancel an order — each recorded for its worker and audited (source api)."""

from __future__ import annotations

from api_seed import NOW, OPEN_ORDER
from sqlalchemy import select

from hantu.store.kv import kv_get
from hantu.store.models import AuditEntry


def audit_rows(database) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    with database.session() as s:
        return list(s.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def test_halt_and_resume(client, seeded) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/controls/halt", json={"reason": "manual check"})
    assert response.status_code == 200
    assert response.json()["halted"] is True and response.json()["by"] == "api:testclient"
    status = client.get("/api/v1/status").json()
    assert status["halt"] == {"halted": True, "reason": "manual check", "by": "api:testclient",
                              "at": NOW.isoformat()}
    assert "hantu_trading_halted 1.0" in client.get("/metrics").text
    assert client.post("/api/v1/controls/resume", json={}).json()["halted"] is False
    assert client.get("/api/v1/status").json()["halt"]["halted"] is False
    rows = audit_rows(seeded)
    assert [(r.source, r.actor, r.action, r.details) for r in rows] == [
        ("api", "testclient", "halt", {"reason": "manual check"}),
        ("api", "testclient", "resume", {"reason": "resumed from the API"})]
    assert client.post("/api/v1/controls/halt", json={"reason": "x" * 501}).status_code == 422
    assert client.post("/api/v1/controls/halt", json={"bogus": 1}).status_code == 422


def test_run_job_is_a_request_for_the_scheduler(client, seeded) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/controls/jobs/screening/run", json={"date": "2026-03-13"})
    assert response.status_code == 202
    with seeded.session() as s:
        pending = kv_get(s, "scheduler.requests")
    assert pending == [{"job": "screening", "date": "2026-03-13", "by": "testclient", "at": NOW.isoformat()}]
    assert client.get("/api/v1/jobs").json()["requested"][0]["job"] == "screening"
    # the scheduler takes requests with hantu.scheduler.heartbeat.take_requests: same key, same shape
    from hantu.scheduler.heartbeat import take_requests

    with seeded.session() as s:
        assert [r["job"] for r in take_requests(s)] == ["screening"]
    assert client.post("/api/v1/controls/jobs/launch_missiles/run", json={}).status_code == 404
    # a job of the timetable that never ran yet is accepted
    assert client.post("/api/v1/controls/jobs/backtest_refresh/run", json={}).status_code == 202
    assert client.post("/api/v1/controls/jobs/Bad Name/run", json={}).status_code == 422
    assert [r.action for r in audit_rows(seeded)] == ["run_job", "run_job"]


def test_cancel_order_is_a_request_for_the_engine(client, seeded) -> None:  # type: ignore[no-untyped-def]
    response = client.post(f"/api/v1/controls/orders/{OPEN_ORDER}/cancel")
    assert response.status_code == 202 and response.json()["order_id"] == OPEN_ORDER
    with seeded.session() as s:
        pending = kv_get(s, "trading.cancel_requests")
    assert [p["order_id"] for p in pending] == [OPEN_ORDER]
    order = client.get("/api/v1/orders", params={"open": "true"}).json()["items"][0]
    assert order["cancel_requested"] is True and order["status"] == "submitted"  # the engine cancels, not the API
    assert client.post("/api/v1/controls/orders/C-20260316-0001/cancel").status_code == 409  # filled
    assert client.post("/api/v1/controls/orders/nope/cancel").status_code == 404
    assert [(r.action, r.details["order_id"]) for r in audit_rows(seeded)] == [("cancel_order", OPEN_ORDER)]


def test_risk_daily_loss_block_shows_in_status(client, seeded) -> None:  # type: ignore[no-untyped-def]
    from hantu.trading.risk import RiskManager

    assert client.get("/api/v1/status").json()["risk"][0]["active"] is False
    with seeded.session() as s:
        shadow = RiskManager("shadow", owns_kill_switch=False)
        assert shadow.update_equity(s, 10_000_000, NOW) == []
        assert shadow.update_equity(s, 9_690_000, NOW) == ["daily_loss"]  # another book's block
    assert client.get("/api/v1/status").json()["risk"][0]["active"] is False
    with seeded.session() as s:
        assert RiskManager("paper").update_equity(s, 10_000_000, NOW) == []
        assert RiskManager("paper").update_equity(s, 9_690_000, NOW) == ["daily_loss"]
    risk = client.get("/api/v1/status").json()["risk"][0]
    assert risk == {"name": "daily_loss", "active": True, "reason": "daily loss 3.1%", "day": "2026-03-16"}




def test_resume_after_a_drawdown_halt_does_not_halt_again_at_the_next_mark(client, seeded) -> None:  # type: ignore[no-untyped-def]
    from hantu.trading.halt import halt_state
    from hantu.trading.risk import RiskManager, load_config, save_config

    risk = RiskManager("paper")
    with seeded.session() as s:
        save_config(s, load_config(s).with_values(max_drawdown=0.1, daily_loss_limit=0.5), "cli", "test")
        risk.update_equity(s, 12_000_000, NOW)  # the peak
        assert risk.update_equity(s, 10_700_000, NOW) == ["max_drawdown"]
    assert client.get("/api/v1/status").json()["halt"]["halted"] is True
    resumed = client.post("/api/v1/controls/resume", json={"reason": "checked"}).json()
    assert resumed["halted"] is False and resumed["by"] == "api:testclient"
    with seeded.session() as s:
        assert risk.update_equity(s, 10_700_000, NOW) == []  # measured from here on
        assert halt_state(s).halted is False
    assert ("api", "resume", {"reason": "checked"}) in [(r.source, r.action, r.details) for r in audit_rows(seeded)]
