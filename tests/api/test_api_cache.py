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


def test_cache_holds_at_most_max_bytes(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The response cache is bounded in bytes as well as entries: large pages cannot grow the lean process."""
    import asyncio
    from datetime import UTC, datetime

    from hantu.api import cache

    monkeypatch.setattr(cache, "MAX_BYTES", 1000)

    class Version:
        async def current(self) -> str:
            return "1"

    class Clock:
        def now(self) -> datetime:
            return datetime(2026, 1, 5, tzinfo=UTC)

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        size = int(scope["query_string"].decode().split("=")[1])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"x" * size})

    middleware = cache.ResponseCache(app, version=Version(), clock=Clock())  # type: ignore[arg-type]

    async def get(size: int) -> None:
        async def send(_message):  # type: ignore[no-untyped-def]
            return None
        scope = {"type": "http", "method": "GET", "path": "/api/v1/orders", "query_string": f"n={size}".encode()}
        await middleware(scope, None, send)

    async def run() -> None:
        for size in (400, 300, 400, 500, 5000, 100):
            await get(size)
            assert middleware.held == sum(len(e[2]) for e in middleware.entries.values()) <= 1000

    asyncio.run(run())
    # 500 B after 700 B held: cleared first; 5000 B is never held; then 100 B
    assert middleware.held == 100 and len(middleware.entries) == 1
