"""S1/S2: the key guards every non-public route, a keyless server stays on loopback, no secret is ever served."""

from __future__ import annotations

import subprocess
import sys

import pytest
from api_seed import API_KEY, write_log

from hantu.api.security import PUBLIC_PATHS, UnsafeBindError, check_bind, host_is_loopback, key_matches

from helpers import REPO_ROOT, hantu_cmd

# Auth does not depend on the database backend: these run on SQLite only (the read tests cover both).
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

SAMPLE_PARAMS = {"order_id": "C-20260316-0003", "job": "screening", "run_id": "1", "token": "0123456789abcdef", "day": "2026-03-16"}


def all_operations(app) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Every (method, concrete path) the app serves: the OpenAPI operations plus the undocumented pages."""
    from hantu.api.app import HIDDEN_PATHS

    ops = []
    for template, methods in app.openapi()["paths"].items():
        path = template
        for name, value in SAMPLE_PARAMS.items():
            path = path.replace("{" + name + "}", value)
        assert "{" not in path, f"no sample value for a parameter of {template}"
        ops.extend((method.upper(), path) for method in methods)
    ops.extend(("GET", path) for path in HIDDEN_PATHS)
    return ops


@SQLITE_ONLY
def test_every_non_public_route_needs_the_key(keyed) -> None:  # type: ignore[no-untyped-def]
    operations = all_operations(keyed.app)
    assert len(operations) >= 25
    protected = [(m, p) for m, p in operations if p not in PUBLIC_PATHS]
    assert ("GET", "/metrics") in protected and ("POST", "/api/v1/controls/halt") in protected
    for method, path in protected:
        for headers in ({}, {"X-API-Key": "wrong"}, {"X-API-Key": API_KEY[:-1]}, {"Authorization": "Bearer nope"}):
            response = keyed.request(method, path, headers={"X-API-Key": "", **headers}, json={})
            assert response.status_code == 401, (method, path, headers, response.status_code)
            assert response.json() == {"detail": "missing or wrong X-API-Key"}
    for method, path in operations:
        if method == "GET":
            response = keyed.get(path)
            assert response.status_code not in (401, 403) and response.status_code < 500, (path, response.text)
    # the bearer form (for Prometheus) works too
    assert keyed.get("/metrics", headers={"X-API-Key": "", "Authorization": f"Bearer {API_KEY}"}).status_code == 200


@SQLITE_ONLY
def test_public_routes_reveal_nothing(keyed) -> None:  # type: ignore[no-untyped-def]
    keyed.headers.pop("X-API-Key")
    assert keyed.get("/health").json() == {"status": "ok"}
    assert set(keyed.get("/ready").json()) == {"ready", "checks"}
    page = keyed.get("/").text
    assert "한투 퀀트" in page and "삼성전자" not in page and "5,000,000" not in page


@SQLITE_ONLY
def test_keyless_server_answers_loopback_only(client, make_client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/api/v1/status").status_code == 200
    assert client.get("/api/v1/status", headers={"Host": "evil.example:8000"}).status_code == 400
    from fastapi.testclient import TestClient

    outside = TestClient(client.app, base_url="http://10.1.2.3:8000")  # a request that arrived on a public address
    assert outside.get("/api/v1/status", headers={"Host": "127.0.0.1"}).status_code == 403


def test_bind_rules() -> None:
    check_bind("127.0.0.1", None)
    check_bind("::1", None)
    check_bind("0.0.0.0", "a-key")
    for host in ("0.0.0.0", "192.168.0.10", "::", "example.com"):
        with pytest.raises(UnsafeBindError, match="API_SERVER_KEY"):
            check_bind(host, None)
    assert host_is_loopback("127.0.0.1:8000") and host_is_loopback("[::1]:80") and host_is_loopback("localhost")
    assert not host_is_loopback("127.0.0.1.evil.com") and not host_is_loopback(None)
    assert key_matches("k1", "k1") and not key_matches("k1", "k2") and not key_matches("키", "k") \
        and not key_matches(None, "k")


@SQLITE_ONLY
def test_create_app_refuses_a_public_host_without_key(database, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from hantu.api.app import create_app
    from hantu.config import load_settings

    monkeypatch.setenv("API_HOST", "0.0.0.0")
    with pytest.raises(UnsafeBindError):
        create_app(load_settings())
    monkeypatch.setenv("API_SERVER_KEY", API_KEY)
    assert create_app(load_settings()) is not None


@pytest.mark.parametrize("command", ["cli", "script"])
def test_server_refuses_to_start_on_0000_without_key(command, isolated_env) -> None:  # type: ignore[no-untyped-def]
    import os

    env = {**os.environ, "API_HOST": "0.0.0.0", "API_PORT": "1"}
    argv = hantu_cmd("api") if command == "cli" else [sys.executable, str(REPO_ROOT / "api-server" / "main.py")]
    result = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 2
    assert "refusing to listen on 0.0.0.0: API_SERVER_KEY is not set" in result.stderr


@SQLITE_ONLY
def test_cors_is_off_by_default_and_configurable(seeded, make_client) -> None:  # type: ignore[no-untyped-def]
    origin = "https://dash.example"
    client = make_client()
    response = client.get("/api/v1/status", headers={"Origin": origin})
    assert "access-control-allow-origin" not in response.headers
    client = make_client({"API_CORS_ORIGINS": f"{origin}, https://other.example"}, key=API_KEY)
    preflight = client.options("/api/v1/status", headers={"Origin": origin, "Access-Control-Request-Method": "GET",
                                                          "Access-Control-Request-Headers": "x-api-key"})
    assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"] == origin
    denied = client.get("/api/v1/status", headers={"Origin": "https://evil.example", "X-API-Key": API_KEY})
    assert "access-control-allow-origin" not in denied.headers


SECRETS = {"APP_KEY": "PSkey0123456789abcdefXYZ", "APP_SECRET": "secretSECRET0123456789/+=abc",
           "ACCOUNT_NUMBER": "50123456-01", "TELEGRAM_BOT_TOKEN": "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
           "DB_PASSWORD": "dbPassw0rd!x", "API_SERVER_KEY": API_KEY}


@SQLITE_ONLY
def test_no_secret_in_any_response(seeded, make_client, isolated_env) -> None:  # type: ignore[no-untyped-def]
    write_log(isolated_env, "scheduler", [
        {"time": "2026-03-16T09:00:00+09:00", "level": "ERROR", "logger": "kis",
         "message": f"token refresh failed for {SECRETS['APP_KEY']} / {SECRETS['APP_SECRET']} acct 50123456",
         "exception": f"Traceback: url=https://api.telegram.org/bot{SECRETS['TELEGRAM_BOT_TOKEN']}/send"}])
    client = make_client(SECRETS)
    client.headers["X-API-Key"] = API_KEY
    needles = [v for k, v in SECRETS.items()] + ["50123456"]
    bodies = []
    for method, path in all_operations(client.app):
        response = client.request(method, path, json={} if method == "POST" else None)
        bodies.append(response.text + repr(dict(response.headers)))
    for params in ({"file": "scheduler"}, {"lines": 5}, {"file": "../../.env"}):
        bodies.append(client.get("/api/v1/logs", params=params).text)
    bodies.append(client.get("/api/v1/orders", params={"side": SECRETS["APP_KEY"]}).text)  # 422 echo
    assert "***" in client.get("/api/v1/logs").text  # the log line is there, masked
    for body in bodies:
        for needle in needles:
            assert needle not in body
