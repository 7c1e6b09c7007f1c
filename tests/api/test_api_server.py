"""The three ways the server is started (`hantu api`, `python api-server/main.py`, systemd's uvicorn factory)
serve the same app as a real process on loopback."""

from __future__ import annotations

import httpx
import pytest
from api_seed import seed, seed_market
from server_proc import ServerProcess

from hantu.store.db import Database
from hantu.store.migrate import upgrade


@pytest.mark.parametrize("kind", ["cli", "script", "uvicorn"])
def test_server_starts_and_serves(kind, isolated_env) -> None:  # type: ignore[no-untyped-def]
    database = Database(f"sqlite:///{isolated_env / 'hantu.db'}")  # the default database of HANTU_HOME
    upgrade(database)
    seed(database)
    database.dispose()
    seed_market(isolated_env)
    server = ServerProcess(kind, {})
    try:
        status = httpx.get(server.url + "/api/v1/status", timeout=5)
        assert status.status_code == 200 and status.json()["mode"]["trading_mode"] == "paper"
        account = httpx.get(server.url + "/api/v1/account", timeout=5)
        assert account.status_code == 200 and account.json()["cash"] == 5_000_000, account.text
        page = httpx.get(server.url + "/", timeout=5)
        assert page.status_code == 200 and "대시보드" in page.text
        assert "server" not in page.headers  # no version banner
    finally:
        output = server.stop()
    assert server.proc.returncode in (0, -2), output


def test_server_migrates_an_empty_database_before_serving(isolated_env) -> None:  # type: ignore[no-untyped-def]
    server = ServerProcess("uvicorn", {})
    try:
        response = httpx.get(server.url + "/api/v1/jobs", timeout=5)
        assert response.status_code == 200 and response.json()["runs"]["total"] == 0
    finally:
        server.stop()
    assert (isolated_env / "hantu.db").exists()
