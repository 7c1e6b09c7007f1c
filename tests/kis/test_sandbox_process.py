"""`hantu sandbox kis` as a process: port 0 + --home discovery, sim clock, control API, state shared by
separate client processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from helpers import hantu_cmd

WORKER = Path(__file__).with_name("token_worker.py")


@pytest.fixture
def sandbox_process(kis_store_root: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    home = tmp_path / "sbx"
    account = {"server": "virtual", "cash": 20_000_000, "app_key": "PSsandboxAppKey000000000000000000001",
               "app_secret": "s" * 180, "account": "50001234-01", "rate_limit": 1000}
    proc = subprocess.Popen(hantu_cmd("sandbox", "kis", "--port", "0", "--home", str(home), "--store",
                                      str(kis_store_root), "--clock", "sim", "--start", "2024-01-05 09:30",
                                      "--speed", "60", "--account", json.dumps(account)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    ready = home / "kis-sandbox.json"
    deadline = time.monotonic() + 60
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"sandbox did not start: {proc.stderr.read() if proc.stderr else ''}")
        time.sleep(0.1)
    info = json.loads(ready.read_text())
    try:
        yield info, account
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_sandbox_process_runs_a_sim_clock_and_serves_clients(sandbox_process, tmp_path: Path) -> None:
    info, account = sandbox_process
    base = info["base_url"]
    assert info["accounts"][0]["cano"] == "50001234"
    first = httpx.get(f"{base}/_sandbox/clock").json()
    time.sleep(0.5)
    second = httpx.get(f"{base}/_sandbox/clock").json()
    assert second["now"] > first["now"] and second["speed"] == 60  # sim clock at 60x
    moved = httpx.post(f"{base}/_sandbox/clock", json={"set": "2024-01-05 11:00"}).json()
    assert moved["now"].startswith("2024-01-05T11:0")
    spec = {"app_key": account["app_key"], "app_secret": account["app_secret"], "server": "virtual",
            "account": "5000123401", "base_url": base, "home": str(tmp_path / "client"), "code": "005930",
            "count": 2, "rate_limit": 50}
    for _ in range(2):  # two client processes, one after the other: the server keeps the token
        out = subprocess.run([sys.executable, str(WORKER), json.dumps(spec)], capture_output=True, text=True,
                             timeout=60)
        assert out.returncode == 0, out.stderr
    stats = httpx.get(f"{base}/_sandbox/stats", params={"app_key": account["app_key"]}).json()
    assert len(stats["token_issuances"]) == 1
    assert stats["requests_by_app_key"][account["app_key"]] == 5  # 1 token + 4 prices
    fault = httpx.post(f"{base}/_sandbox/faults", json={"kind": "rate_limit", "count": 1}).json()
    assert fault["remaining"] == 1
    bad = httpx.post(f"{base}/_sandbox/faults", json={"kind": "nonsense"})
    assert bad.status_code == 400


def test_cli_rejects_bad_options() -> None:
    from helpers import run_hantu

    result = run_hantu("sandbox", "kis", "--clock", "sim")
    assert result.returncode == 2 and "--start" in result.stderr
    assert run_hantu("sandbox", "--help").returncode == 0
