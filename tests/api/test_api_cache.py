"""The response cache: repeated reads are served from memory, and never outlive a database change or their
time bucket (on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from api_seed import NOW, heartbeat, write_log

from hantu.store.kv import kv_set


def test_reads_are_cached_until_the_database_changes(client, seeded, clock) -> None:  # type: ignore[no-untyped-def]
    first = client.get("/api/v1/status")
    again = client.get("/api/v1/status")
    assert "x-cache" not in first.headers and again.headers["x-cache"] == "hit"
    assert again.json() == first.json()
    # another process commits (here: another connection): the next read is fresh
    with seeded.session() as s:
        kv_set(s, "scheduler.heartbeat", heartbeat(NOW, state="trading"))
    fresh = client.get("/api/v1/status")
    assert "x-cache" not in fresh.headers and fresh.json()["scheduler"]["state"] == "trading"
    # a control action through the API clears the cache too
    assert client.get("/api/v1/status").headers.get("x-cache") == "hit"
    client.post("/api/v1/controls/halt", json={"reason": "t"})
    assert client.get("/api/v1/status").json()["halt"]["halted"] is True
    # time-dependent answers expire with their bucket (the status: one second)
    assert client.get("/api/v1/status").headers.get("x-cache") == "hit"
    clock.advance(timedelta(seconds=1))
    after = client.get("/api/v1/status")
    assert "x-cache" not in after.headers and after.json()["now"] != fresh.json()["now"]
    metrics = client.get("/metrics").text
    assert "hantu_api_cache_hits 3.0" in metrics and "hantu_api_cache_misses 4.0" in metrics, metrics[-400:]


def test_file_backed_routes_are_not_cached(client, isolated_env) -> None:  # type: ignore[no-untyped-def]
    write_log(isolated_env, "api", [{"time": "t1", "level": "INFO", "logger": "x", "message": "one"}])
    assert [line["message"] for line in client.get("/api/v1/logs").json()["lines"]] == ["one"]
    write_log(isolated_env, "api", [{"time": "t2", "level": "INFO", "logger": "x", "message": "two"}])
    response = client.get("/api/v1/logs")
    assert "x-cache" not in response.headers
    assert [line["message"] for line in response.json()["lines"]] == ["one", "two"]


def test_no_key_no_cached_answer(keyed) -> None:  # type: ignore[no-untyped-def]
    assert keyed.get("/api/v1/account").status_code == 200
    assert keyed.get("/api/v1/account").headers.get("x-cache") == "hit"
    assert keyed.get("/api/v1/account", headers={"X-API-Key": "nope"}).status_code == 401
