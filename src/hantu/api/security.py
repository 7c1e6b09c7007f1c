"""Who may call the API.

The rule (quality bar S1):
- With `API_SERVER_KEY` set, every route except the public ones needs `X-API-Key` (or `Authorization: Bearer`,
  for Prometheus) equal to the key, compared in constant time; anything else gets 401.
- Without a key the server binds loopback only (`check_bind` refuses anything else) and accepts every request
  whose `Host` is a loopback name — the host check stops a web page from reaching the API through DNS
  rebinding. Whoever can open a socket on the machine is trusted, as with any local tool.
- Public routes reveal nothing: `/health` (liveness), `/ready` (two booleans), the dashboard shell `/`
  (labels and script, no data: the page fetches its data with the key) and the OpenAPI document.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from fastapi.security import APIKeyHeader

from hantu.config.check import is_loopback

# Declared for the OpenAPI document (clients see the header they must send); enforced by ApiKeyMiddleware.
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="The API_SERVER_KEY")

PUBLIC_PATHS = frozenset({"/health", "/ready", "/", "/openapi.json", "/docs", "/docs/oauth2-redirect",
                          "/favicon.ico"})
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


class UnsafeBindError(RuntimeError):
    """Raised before listening when the configuration would expose the API without a key."""


def check_bind(host: str, key: str | None) -> None:
    """Refuse a non-loopback bind address unless a key is configured."""
    if not is_loopback(host) and not key:
        raise UnsafeBindError(
            f"refusing to listen on {host}: API_SERVER_KEY is not set. Anyone who can reach this address "
            "could read your account and halt trading. Set API_SERVER_KEY in .env (e.g. "
            "`python -c \"import secrets; print(secrets.token_urlsafe(32))\"`), or bind API_HOST=127.0.0.1."
        )


def key_matches(presented: str | None, expected: str) -> bool:
    """Constant-time comparison (on bytes, so non-ASCII input cannot raise)."""
    if not presented:
        return False
    return hmac.compare_digest(presented.encode("utf-8"), expected.encode("utf-8"))


def presented_key(headers: Mapping[str, str]) -> str | None:
    """The key a request carries: `X-API-Key`, or a bearer token."""
    get = headers.get
    key = get("x-api-key")
    if key:
        return key
    auth = get("authorization") or ""
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return None


def host_is_loopback(host_header: str | None) -> bool:
    """True when the Host header names a loopback address (with or without a port)."""
    if not host_header:
        return False
    host = host_header.strip().lower()
    if host.startswith("["):
        host = host[: host.find("]") + 1] if "]" in host else host
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host in LOOPBACK_HOSTS or is_loopback(host.strip("[]"))
