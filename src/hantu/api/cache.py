"""A response cache for the read routes, invalidated by any database commit.

Fifty dashboards polling must not mean fifty times the database work: a GET under `/api/v1/` is computed once
per (URL, database version, time bucket) and served from memory to everyone else in that time. The database
version changes with every commit by any process — SQLite's `PRAGMA data_version` on a dedicated connection,
PostgreSQL's current snapshot (which changes when a writing transaction starts or ends) — so an answer never
outlives a database change, and time-dependent answers expire with their time bucket (`BUCKET_SECONDS`). Concurrent
misses of one key wait for the first (single flight). Any write request (POST, ...) clears the cache. Routes that read
files (logs, market data status) are not cached.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import text

from hantu.clock import Clock
from hantu.store.db import Database

MAX_ENTRIES = 512
# How long an answer may be reused while the database does not change, by what else it depends on: the status
# shows the time and the heartbeat's age; valuations read the market store's files (which a commit does not
# announce); everything else is a pure function of the database and the date (60 s buckets align with KST
# midnight, whose offset is a whole number of minutes).
DEFAULT_BUCKET_SECONDS = 60
BUCKET_SECONDS = {"status": 1, "account": 10, "positions": 10, "performance": 10}


class DataVersion:
    """A value that changes whenever a transaction commits to the database (from any connection)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._lock = threading.Lock()
        self._connection: Any = None

    def _sqlite(self) -> str:
        import sqlite3

        if self._connection is None:
            path = self.database.url.split("///", 1)[1]
            self._connection = sqlite3.connect(path, check_same_thread=False, timeout=10)
        return str(self._connection.execute("PRAGMA data_version").fetchone()[0])

    def _postgres(self) -> str:
        if self._connection is None:
            self._connection = self.database.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        return str(self._connection.execute(text("SELECT pg_current_snapshot()::text")).scalar())

    def __call__(self) -> str | None:
        """The version, or None when it cannot be read (then nothing is cached)."""
        with self._lock:
            try:
                return self._sqlite() if self.database.is_sqlite else self._postgres()
            except Exception:
                self.close()
                return None

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except Exception:
                pass
            self._connection = None


class ResponseCache:
    """Pure ASGI middleware; sits inside the key check, so only authorised requests ever reach it."""

    def __init__(self, app: Any, version: Callable[[], str | None], clock: Clock, metrics: Any = None,
                 prefix: str = "/api/v1/", uncached: tuple[str, ...] = ()) -> None:
        self.app = app
        self.version = version
        self.clock = clock
        self.prefix = prefix
        self.uncached = uncached
        self.buckets = {prefix + name: seconds for name, seconds in BUCKET_SECONDS.items()}
        # one answer per URL: (the key it was computed under, response start message, body)
        self.entries: dict[tuple[Any, ...], tuple[tuple[Any, ...], dict[str, Any], bytes]] = {}
        self.inflight: dict[tuple[Any, ...], asyncio.Future[None]] = {}
        self.metrics = metrics

    def _key(self, scope: dict[str, Any]) -> tuple[Any, ...] | None:
        path = scope["path"]
        if not path.startswith(self.prefix) or path.startswith(self.uncached):
            return None
        version = self.version()
        if version is None:
            return None
        bucket = self.buckets.get(path, DEFAULT_BUCKET_SECONDS)
        return path, scope.get("query_string", b""), version, int(self.clock.now().timestamp()) // bucket

    def _lookup(self, key: tuple[Any, ...]) -> tuple[dict[str, Any], bytes] | None:
        entry = self.entries.get(key[:2])
        return (entry[1], entry[2]) if entry is not None and entry[0] == key else None

    async def _replay(self, send: Any, entry: tuple[dict[str, Any], bytes]) -> None:
        start, body = entry
        await send({**start, "headers": [*start["headers"], (b"x-cache", b"hit")]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] in ("POST", "PUT", "PATCH", "DELETE"):
            try:
                await self.app(scope, receive, send)
            finally:
                self.entries.clear()
            return
        key = self._key(scope) if scope["method"] == "GET" else None
        if key is None:
            await self.app(scope, receive, send)
            return
        entry = self._lookup(key)
        if entry is None and key in self.inflight:
            await asyncio.shield(self.inflight[key])
            entry = self._lookup(key)
        if entry is not None:
            if self.metrics is not None:
                self.metrics.cache_hits.inc()
            await self._replay(send, entry)
            return
        if self.metrics is not None:
            self.metrics.cache_misses.inc()
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.inflight[key] = done
        captured: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                captured.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, capture)
            if captured.get("status") == 200:
                if len(self.entries) >= MAX_ENTRIES:
                    self.entries.clear()
                self.entries[key[:2]] = (key, captured, b"".join(chunks))
        finally:
            del self.inflight[key]
            done.set_result(None)
