"""Pure ASGI middleware (cheaper than `BaseHTTPMiddleware`): the key check and the request metrics."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from hantu.api.security import PUBLIC_PATHS, host_is_loopback, key_matches, presented_key
from hantu.config.check import is_loopback

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}


async def _reply(send: Send, status: int, detail: str, extra: Sequence[tuple[bytes, bytes]] = ()) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class ApiKeyMiddleware:
    """Every non-public route needs the key when one is configured; without one, only loopback Host names."""

    def __init__(self, app: ASGIApp, key: str | None) -> None:
        self.app = app
        self.key = key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        if self.key is None:
            server = scope.get("server")  # the local address the request arrived on (port None: a unix socket)
            if server and server[0] and server[1] is not None and not is_loopback(str(server[0])):
                await _reply(send, 403, "this server has no API_SERVER_KEY and answers on loopback only")
                return
            if not host_is_loopback(headers.get("host")):
                await _reply(send, 400, "this server has no API_SERVER_KEY and answers loopback host names only")
                return
        elif scope["path"] not in PUBLIC_PATHS and scope.get("method") != "OPTIONS" and \
                not key_matches(presented_key(headers), self.key):
            await _reply(send, 401, "missing or wrong X-API-Key", [(b"www-authenticate", b"ApiKey")])
            return
        await self.app(scope, receive, send)


class RouteTemplates:
    """Maps a raw path to its route template (`/api/v1/orders/{order_id}/cancel`), so metric labels stay few.

    Built lazily from the app's OpenAPI paths, which every FastAPI version exposes the same way.
    """

    def __init__(self, paths: Callable[[], list[str]]) -> None:
        self._paths = paths
        self._exact: dict[str, str] | None = None
        self._patterns: list[tuple[re.Pattern[str], str]] = []

    def _build(self) -> dict[str, str]:
        exact: dict[str, str] = {}
        for template in self._paths():
            if "{" in template:
                regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
                self._patterns.append((re.compile(f"^{regex}$"), template))
            else:
                exact[template] = template
        return exact

    def match(self, path: str) -> str:
        if self._exact is None:
            self._exact = self._build()
        found = self._exact.get(path)
        if found is not None:
            return found
        for pattern, template in self._patterns:
            if pattern.match(path):
                return template
        return "(other)"


class MetricsMiddleware:
    """Counts requests and times them per route template (not per raw path: bounded label sets)."""

    def __init__(self, app: ASGIApp, metrics: Any, paths: Callable[[], list[str]]) -> None:
        self.app = app
        self.metrics = metrics
        self.templates = RouteTemplates(paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status_holder = [500]

        async def send_wrapper(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.metrics.observe(scope.get("method", ""), self.templates.match(scope["path"]), status_holder[0],
                                 time.perf_counter() - started)
