"""Request input: typed parameters and bodies refuse what they do not document (issue 17.20), malformed bodies
are a declared 422 (17.21), and control requests are bounded (24.7: a fuzzer once queued 465 job runs)."""

from __future__ import annotations

from datetime import timedelta

from api_seed import OPEN_ORDER
from sqlalchemy import select

from hantu.api.controls import JOB_RUN_RATE, MAX_PENDING
from hantu.store.kv import kv_get, kv_set
from hantu.store.models import AuditEntry

NOT_DATES = [
    "0",
    "1700000000",
    "2026-03-13T00:00:00",
    "2026-03-13T00:00Z",
    "20260313",
    "2026-3-13",
    "٢٠٢٦-٠٣-١٣",
]
MALFORMED = [b"\xff\xfe{", b'{"reason": "\xff"}', b"[" * 100_000, b"{bad", b'{"reason": ', b"\x00{"]


def date_parameters(document: dict) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    """(path, parameter) of every query parameter the document types as a date."""
    found = []
    for path, operations in document["paths"].items():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] != "query":
                    continue  # a path parameter (`/drift/{day}`) is checked by its own route's tests
                schemas = parameter["schema"].get("anyOf", [parameter["schema"]])
                if any(s.get("format") == "date" for s in schemas):
                    found.append((path, parameter["name"]))
    return found


def body_operations(document: dict) -> list[str]:  # type: ignore[type-arg]
    """Paths of every operation that takes a JSON body (all POST)."""
    return [
        path
        for path, operations in document["paths"].items()
        for operation in operations.values()
        if "requestBody" in operation
    ]


def test_every_date_parameter_takes_only_yyyy_mm_dd(ro_client) -> None:  # type: ignore[no-untyped-def]
    document = ro_client.get("/openapi.json").json()
    params = date_parameters(document)
    assert {
        ("/api/v1/orders", "to"),
        ("/api/v1/fills", "to"),
        ("/api/v1/screening", "date"),
        ("/api/v1/selections", "date"),
        ("/api/v1/data/benchmark", "from"),
    } <= set(params) and len(params) == 10
    for path, name in params:
        for value in NOT_DATES:
            response = ro_client.get(path, params={name: value})
            assert response.status_code == 422, (path, name, value, response.text)
            assert response.json()["detail"] == [
                {
                    "loc": ["query", name],
                    "type": "value_error",
                    "msg": "Value error, expected a date as YYYY-MM-DD",
                }
            ]
            assert value not in response.text  # the rejected input is never echoed
        assert ro_client.get(path, params={name: "2026-03-13"}).status_code == 200, (path, name)
    assert ro_client.get("/api/v1/orders", params={"date": "2026-02-30"}).status_code == 422


def test_a_job_run_date_that_is_not_a_date_queues_nothing(client, seeded) -> None:  # type: ignore[no-untyped-def]
    for value in [0, 1773619200, "0", "2026-03-13T09:00:00+09:00", [2026, 3, 13], True]:
        response = client.post("/api/v1/controls/jobs/daily_report/run", json={"date": value})
        assert response.status_code == 422, (value, response.text)
        assert response.json()["detail"][0]["loc"] == ["body", "date"]
    with seeded.session() as s:
        assert kv_get(s, "scheduler.requests") is None
        assert s.scalars(select(AuditEntry)).all() == []


def test_malformed_bodies_are_a_declared_422_and_change_nothing(client, seeded) -> None:  # type: ignore[no-untyped-def]
    document = client.get("/openapi.json").json()
    paths = body_operations(document)
    assert {"/api/v1/controls/halt", "/api/v1/controls/resume", "/api/v1/controls/jobs/{job}/run"} <= set(
        paths
    )
    for path in paths:
        assert "422" in document["paths"][path]["post"]["responses"], path
        url = path.replace("{job}", "screening")
        for body in MALFORMED:
            response = client.post(url, content=body, headers={"content-type": "application/json"})
            assert response.status_code == 422, (url, body[:12], response.text)
            assert response.json()["detail"][0]["type"] == "json_invalid"
    assert client.get("/api/v1/status").json()["halt"]["halted"] is False
    with seeded.session() as s:
        assert kv_get(s, "scheduler.requests") is None
        assert s.scalars(select(AuditEntry)).all() == []


def test_control_refusals_are_declared(client) -> None:  # type: ignore[no-untyped-def]
    paths = client.get("/openapi.json").json()["paths"]
    assert {"404", "409", "422", "429"} <= set(paths["/api/v1/controls/jobs/{job}/run"]["post"]["responses"])
    assert {"404", "409", "429"} <= set(
        paths["/api/v1/controls/orders/{order_id}/cancel"]["post"]["responses"]
    )
    assert "503" in paths["/ready"]["get"]["responses"]


def test_one_pending_run_per_job_and_date(client, seeded, clock) -> None:  # type: ignore[no-untyped-def]
    run = "/api/v1/controls/jobs/screening/run"
    assert client.post(run, json={"date": "2026-03-13"}).status_code == 202
    again = client.post(run, json={"date": "2026-03-13"})
    assert again.status_code == 409
    assert "already pending" in again.json()["detail"] and "testclient" in again.json()["detail"]
    assert client.post(run, json={"date": "2026-03-12"}).status_code == 202  # another day
    assert client.post(run, json={}).status_code == 202  # the scheduler's today
    assert client.post(run, json={}).status_code == 409
    with seeded.session() as s:
        assert [(r["job"], r["date"]) for r in kv_get(s, "scheduler.requests")] == [
            ("screening", "2026-03-13"),
            ("screening", "2026-03-12"),
            ("screening", None),
        ]
        assert len(s.scalars(select(AuditEntry)).all()) == 3  # refusals are not control actions
    from hantu.scheduler.heartbeat import take_requests

    with seeded.session() as s:
        take_requests(s)  # the scheduler took them: the same run may be asked again
    assert client.post(run, json={"date": "2026-03-13"}).status_code == 202


def test_job_run_requests_are_rate_limited(client, seeded, clock) -> None:  # type: ignore[no-untyped-def]
    run = "/api/v1/controls/jobs/screening/run"
    answers = [client.post(run, json={"date": f"2026-02-{day:02d}"}).status_code for day in range(1, 13)]
    assert answers == [202] * JOB_RUN_RATE + [429] * (12 - JOB_RUN_RATE)
    refused = client.post(run, json={"date": "2026-02-20"})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert "a minute" in refused.json()["detail"]
    clock.advance(timedelta(seconds=int(refused.headers["retry-after"])))
    assert client.post(run, json={"date": "2026-02-20"}).status_code == 202
    with seeded.session() as s:
        assert len(kv_get(s, "scheduler.requests")) == JOB_RUN_RATE + 1


def test_a_full_request_list_refuses_more(client, seeded) -> None:  # type: ignore[no-untyped-def]
    with seeded.session() as s:  # left by a scheduler that has not been running for a while
        kv_set(
            s,
            "scheduler.requests",
            [
                {
                    "job": "data_sync",
                    "date": f"2025-{1 + i // 28:02d}-{1 + i % 28:02d}",
                    "by": "x",
                    "at": "2026-03-16T09:00:00+09:00",
                }
                for i in range(MAX_PENDING)
            ],
        )
    full = client.post("/api/v1/controls/jobs/screening/run", json={})
    assert full.status_code == 429 and "pending already" in full.json()["detail"]
    with seeded.session() as s:
        assert len(kv_get(s, "scheduler.requests")) == MAX_PENDING


def test_one_pending_cancel_per_order(client, seeded) -> None:  # type: ignore[no-untyped-def]
    cancel = f"/api/v1/controls/orders/{OPEN_ORDER}/cancel"
    assert client.post(cancel).status_code == 202
    again = client.post(cancel)
    assert again.status_code == 409 and "already pending" in again.json()["detail"]
    with seeded.session() as s:
        assert [r["order_id"] for r in kv_get(s, "trading.cancel_requests")] == [OPEN_ORDER]
