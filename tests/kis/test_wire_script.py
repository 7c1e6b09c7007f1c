"""The sandbox follows the documented wire format, not just our client: a plain httpx script written from
kis-api.md alone (no project imports) gets a token, a price, a balance and places an order."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).with_name("kis_wire_script.py")


def test_script_has_no_project_imports() -> None:
    text = SCRIPT.read_text()
    assert "hantu" not in text.replace("Hantu", "")


def test_plain_httpx_script_against_the_sandbox(sandbox, kis_panel) -> None:
    holdings = {str(code): 1 for code in kis_panel.codes[:23]}
    account = sandbox.create_account("virtual", 30_000_000, holdings=holdings)
    run = subprocess.run([sys.executable, str(SCRIPT), sandbox.base_url, account.app_key, account.app_secret,
                          f"{account.cano}-{account.product_code}", "virtual"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr + run.stdout
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["price"] == sandbox.state.market.snapshot("005930", sandbox.state.now()).price
    assert result["cash"] == 30_000_000
    assert result["holdings"] == 23 and result["balance_pages"] == 2
    assert len(result["odno"]) == 10
    assert result["bad_status"] == 500 and result["bad_msg_cd"] == "OPSQ2001"
    stats = sandbox.stats(account.app_key)
    assert [o["odno"] for o in stats["order_requests"] if "odno" in o] == [result["odno"]]
