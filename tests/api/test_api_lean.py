"""The API process stays lean and broker-free: serving every read route imports no numpy/pandas/Alembic and no
broker client (the API never calls KIS on a request path). Checked in a fresh interpreter. The market-data routes
compute in a child process (`hantu.api.market_child`), so they are served here too."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from api_seed import API_KEY

CODE = r"""
import json, sys
from fastapi.testclient import TestClient
from hantu.api.app import create_app
app = create_app()
paths = [p for p in app.state.route_paths if "{" not in p and "/controls/" not in p]  # /data*: in a child
statuses = {}
with TestClient(app, base_url="http://127.0.0.1") as client:
    for path in paths:
        statuses[path] = client.get(path, headers={"X-API-Key": sys.argv[1]}).status_code
    statuses["/api/v1/backtests/1"] = client.get("/api/v1/backtests/1", headers={"X-API-Key": sys.argv[1]}).status_code
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("numpy", "pandas", "pyarrow", "alembic", "matplotlib")
                or m.startswith(("hantu.broker.kis", "hantu.broker.paper", "hantu.trading.engine", "hantu.market.store",
                                 "hantu.notify.templates", "jinja2", "websockets")))
print(json.dumps({"statuses": statuses, "loaded": loaded}))
"""


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_read_routes_import_nothing_heavy_and_no_broker(seeded, isolated_env) -> None:  # type: ignore[no-untyped-def]
    env = {**os.environ, "API_SERVER_KEY": API_KEY}
    result = subprocess.run([sys.executable, "-c", CODE, API_KEY], capture_output=True, text=True, env=env,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(report["statuses"]) >= 20
    assert {path: code for path, code in report["statuses"].items() if code not in (200, 503)} == {}
    assert report["loaded"] == []


SERVE = r"""
import json, sys
import uvicorn
captured = {}
def run(app, **options):  # what serve() hands uvicorn: record the process's modules instead of listening
    captured["start"] = sorted(m for m, v in sys.modules.items() if v is not None)  # None: kept out
    from fastapi.testclient import TestClient
    with TestClient(app, base_url="http://127.0.0.1") as client:
        for path in sys.argv[2:]:
            assert client.get(path, headers={"X-API-Key": sys.argv[1]}).status_code == 200, path
    captured["served"] = sorted(m for m, v in sys.modules.items() if v is not None)
uvicorn.run = run
from hantu.api.server import serve
serve()
print(json.dumps(captured))
"""
# Kept out of the server process (P2: the API <= 80 MB): what each costs is in docs/performance.md.
HEAVY = ("numpy", "pandas", "pyarrow", "alembic", "matplotlib", "jinja2", "websockets", "prometheus_client",
         "pydantic.v1", "typer", "rich", "apprise", "httpx", "psycopg", "hantu.backtest", "hantu.strategy",
         "hantu.broker.kis", "hantu.market.store", "hantu.cli", "hantu.notify.templates")
DASHBOARD_PATHS = ["/api/v1/status", "/api/v1/account", "/api/v1/positions", "/api/v1/orders?limit=50",
                   "/api/v1/fills?limit=50", "/api/v1/jobs?limit=15", "/api/v1/performance", "/api/v1/selections",
                   "/api/v1/watchlist", "/api/v1/backtests", "/api/v1/data/benchmark", "/metrics", "/health", "/"]


def _heavy(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_server_start_up_and_dashboard_routes_import_nothing_heavy(seeded, isolated_env) -> None:  # type: ignore[no-untyped-def]
    """The server as `api-server/main.py` starts it (`hantu.api.server.serve`), at start-up and after serving the
    routes the dashboard polls, holds none of `HEAVY` (the TestClient's own httpx is discounted: uvicorn serves
    without it)."""
    env = {**os.environ, "API_SERVER_KEY": API_KEY, "LOG_LEVEL": "WARNING"}
    result = subprocess.run([sys.executable, "-c", SERVE, API_KEY, *DASHBOARD_PATHS], capture_output=True,
                            text=True, env=env, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert _heavy(report["start"]) == []
    client_side = ("httpx", "rich")  # imported by fastapi.testclient in this test process, not by the server
    assert [m for m in _heavy(report["served"]) if not m.startswith(client_side)] == []
