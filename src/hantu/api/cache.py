"""A response cache for the read routes, invalidated by any database commit.

Fifty dashboards polling must not mean fifty times the database work: a GET under `/api/v1/` is computed once
per (URL, database version, time bucket) and served from memory to everyone else in that time. The database
version changes with every commit by any process — SQLite's `PRAGMA data_version` on a dedicated connection,
PostgreSQL's current snapshot (which changes when a writing transaction starts or ends; it is the whole
server's, so on a server shared with other databases their writes cost recomputations too) — so an answer never
outlives a database change, and time-dependent answers expire with their time bucket (`BUCKET_SECONDS`). Concurrent
misses of one key wait for the first (single flight). Any write request (POST, ...) clears the cache. Routes that read
files are either not cached (logs) or keyed by those files' names and modification times too (`files`: the
market data status and benchmark, whose figures a child process computes from the market store).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import text

from hantu.clock import Clock
from hantu.store.db import Database

MAX_ENTRIES = 512
MAX_BYTES = 8 * 1024 * 1024  # bodies held at most (a `limit=500` page is ~200 kB): the cache cannot grow the process
SNAPSHOT_SQL = "SELECT pg_current_snapshot()::text"
# How long an answer may be reused while the database does not change, by what else it depends on: the status
# shows the time and the heartbeat's age; valuations read the market store's files (which a commit does not
# announce); everything else is a pure function of the database and the date (60 s buckets align with KST
# midnight, whose offset is a whole number of minutes).
DEFAULT_BUCKET_SECONDS = 60
BUCKET_SECONDS = {"status": 1, "account": 10, "positions": 10, "performance": 10}


class DataVersion:
    """A value that changes whenever a transaction commits to the database (from any connection).

    SQLite answers from a dedicated connection in microseconds, so it is asked inline. PostgreSQL needs a
    round trip, which must not block the event loop: it is asked on a dedicated async connection, one query at
    a time; requests arriving while a query is in flight share the *next* query (sent after they arrived, so
    they never miss a commit that preceded them).
    """

    def __init__(self, database: Database) -> None:
        self.database = database
        self._lock = threading.Lock()
        self._connection: Any = None
        self._async: Any = None
        self._loop: Any = None
        self._running: asyncio.Future[str | None] | None = None
        self._next: asyncio.Future[str | None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def _sqlite(self) -> str:
        import sqlite3

        if self._connection is None:
            path = self.database.url.split("///", 1)[1]
            self._connection = sqlite3.connect(path, check_same_thread=False, timeout=10)
        return str(self._connection.execute("PRAGMA data_version").fetchone()[0])

    def _postgres(self) -> str:
        if self._connection is None:
            self._connection = self.database.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        return str(self._connection.execute(text(SNAPSHOT_SQL)).scalar())

    def __call__(self) -> str | None:
        """The version, read synchronously (None when it cannot be read: then nothing is cached)."""
        with self._lock:
            try:
                return self._sqlite() if self.database.is_sqlite else self._postgres()
            except Exception:
                self._close_sync()
                return None

    async def current(self) -> str | None:
        """The version, without blocking the event loop."""
        if self.database.is_sqlite:
            return self()
        loop = asyncio.get_running_loop()
        if self._running is None:
            self._running = loop.create_future()
            self._spawn(self._running)
            return await asyncio.shield(self._running)
        if self._next is None:
            self._next = loop.create_future()
        return await asyncio.shield(self._next)

    async def _probe(self, result: asyncio.Future[str | None]) -> None:
        value: str | None = None
        try:
            loop = asyncio.get_running_loop()
            if self._async is None or self._loop is not loop or self._async.closed:
                import psycopg

                dsn = self.database.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
                self._async = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
                self._loop = loop
            cursor = await self._async.execute(SNAPSHOT_SQL)
            row = await cursor.fetchone()
            value = str(row[0]) if row else None
        except Exception:
            self._async = None
        result.set_result(value)
        waiting, self._next = self._next, None
        self._running = waiting
        if waiting is not None:
            self._spawn(waiting)

    def _spawn(self, result: asyncio.Future[str | None]) -> None:
        task = asyncio.get_running_loop().create_task(self._probe(result))
        self._tasks.add(task)  # keep a reference until it is done
        task.add_done_callback(self._tasks.discard)

    def _close_sync(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except Exception:
                pass
            self._connection = None

    def close(self) -> None:
        self._close_sync()
        self._async = None  # closed with its event loop


class ResponseCache:
    """Pure ASGI middleware; sits inside the key check, so only authorised requests ever reach it."""

    def __init__(self, app: Any, version: DataVersion, clock: Clock, metrics: Any = None,
                 prefix: str = "/api/v1/", uncached: tuple[str, ...] = (),
                 files: Mapping[str, Callable[[], object]] | None = None) -> None:
        self.app = app
        self.version = version
        self.clock = clock
        self.prefix = prefix
        self.uncached = uncached
        self.files = tuple((files or {}).items())  # path prefix -> fingerprint of the files its answers read
        self.buckets = {prefix + name: seconds for name, seconds in BUCKET_SECONDS.items()}
        # one answer per URL: (the key it was computed under, response start message, body)
        self.entries: dict[tuple[Any, ...], tuple[tuple[Any, ...], dict[str, Any], bytes]] = {}
        self.inflight: dict[tuple[Any, ...], asyncio.Future[None]] = {}
        self.metrics = metrics
        self.held = 0  # bytes of the cached bodies

    async def _key(self, scope: dict[str, Any]) -> tuple[Any, ...] | None:
        path = scope["path"]
        if not path.startswith(self.prefix) or path.startswith(self.uncached):
            return None
        version = await self.version.current()
        if version is None:
            return None
        bucket = self.buckets.get(path, DEFAULT_BUCKET_SECONDS)
        files = next((fingerprint() for start, fingerprint in self.files if path.startswith(start)), None)
        return path, scope.get("query_string", b""), version, int(self.clock.now().timestamp()) // bucket, files

    def _clear(self) -> None:
        self.entries.clear()
        self.held = 0

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
                self._clear()
            return
        key = await self._key(scope) if scope["method"] == "GET" else None
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
                body = b"".join(chunks)
                old = self.entries.pop(key[:2], None)
                if old is not None:
                    self.held -= len(old[2])
                if len(self.entries) >= MAX_ENTRIES or self.held + len(body) > MAX_BYTES:
                    self._clear()
                if len(body) <= MAX_BYTES:
                    self.entries[key[:2]] = (key, captured, body)
                    self.held += len(body)
        finally:
            del self.inflight[key]
            done.set_result(None)
