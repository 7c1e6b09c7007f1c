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
