"""The response cache: repeated reads are served from memory, and never outlive a database change or their
time bucket (on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from api_seed import NOW, heartbeat, write_log

from hantu.store.kv import kv_set


def eventually_hit(client, path: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """GET until the answer comes from the cache. On PostgreSQL the version is the cluster's snapshot, which
    other databases on a shared test server also move; each such move only costs a recomputation."""
    for _ in range(50):
        response = client.get(path)
        if response.headers.get("x-cache") == "hit":
            return response.json()  # type: ignore[no-any-return]
    raise AssertionError(f"{path} never served from the cache")


def metric(text: str, name: str) -> float:
    return float(next(line for line in text.splitlines() if line.startswith(name + " ")).split()[1])


def test_reads_are_cached_until_the_database_changes(client, seeded, clock) -> None:  # type: ignore[no-untyped-def]
    first = client.get("/api/v1/status")
    assert "x-cache" not in first.headers
    assert eventually_hit(client, "/api/v1/status") == first.json()
    # another process commits (here: another connection): the next read is fresh
    with seeded.session() as s:
        kv_set(s, "scheduler.heartbeat", heartbeat(NOW, state="trading"))
    fresh = client.get("/api/v1/status")
    assert "x-cache" not in fresh.headers and fresh.json()["scheduler"]["state"] == "trading"
    # a control action through the API clears the cache too
    eventually_hit(client, "/api/v1/status")
    client.post("/api/v1/controls/halt", json={"reason": "t"})
    assert client.get("/api/v1/status").json()["halt"]["halted"] is True
    # time-dependent answers expire with their bucket (the status: one second)
    eventually_hit(client, "/api/v1/status")
    clock.advance(timedelta(seconds=1))
    after = client.get("/api/v1/status")
    assert "x-cache" not in after.headers and after.json()["now"] != fresh.json()["now"]
    metrics = client.get("/metrics").text
    assert metric(metrics, "hantu_api_cache_hits") >= 3 and metric(metrics, "hantu_api_cache_misses") >= 4


def test_file_backed_routes_are_not_cached(client, isolated_env) -> None:  # type: ignore[no-untyped-def]
    write_log(isolated_env, "api", [{"time": "t1", "level": "INFO", "logger": "x", "message": "one"}])
    assert [line["message"] for line in client.get("/api/v1/logs").json()["lines"]] == ["one"]
    write_log(isolated_env, "api", [{"time": "t2", "level": "INFO", "logger": "x", "message": "two"}])
    response = client.get("/api/v1/logs")
    assert "x-cache" not in response.headers
    assert [line["message"] for line in response.json()["lines"]] == ["one", "two"]


def test_no_key_no_cached_answer(keyed) -> None:  # type: ignore[no-untyped-def]
    assert keyed.get("/api/v1/account").status_code == 200
    eventually_hit(keyed, "/api/v1/account")
    assert keyed.get("/api/v1/account", headers={"X-API-Key": "nope"}).status_code == 401
