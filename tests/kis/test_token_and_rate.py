"""The shared token (persisted, mode 600, one issuance for many processes, KST expiry) and the shared pacer."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

from hantu.broker.kis.token import REFRESH_MARGIN, token_from_response
from hantu.clock import KST, parse_kst
from hantu.sandbox.kis.state import max_in_window

SAMSUNG = "005930"
WORKER = Path(__file__).with_name("token_worker.py")


def test_token_is_persisted_mode_600_per_server_and_key(sandbox, make_api, isolated_env) -> None:
    virtual, real = sandbox.create_account("virtual"), sandbox.create_account("prod")
    make_api(virtual).price(SAMSUNG)
    make_api(real).price(SAMSUNG)
    files = sorted((isolated_env / "kis").glob("token-*.json"))
    assert [f.name.split("-")[1] for f in files] == ["prod", "virtual"]
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
        assert virtual.app_key not in f.read_text() and real.app_key not in f.read_text()
    assert stat.S_IMODE((isolated_env / "kis").stat().st_mode) == 0o700


def test_clients_of_one_key_share_one_issuance(sandbox, make_api) -> None:
    account = sandbox.create_account("virtual")
    apis = [make_api(account) for _ in range(3)]
    threads = [threading.Thread(target=api.price, args=(SAMSUNG,)) for api in apis]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(sandbox.stats(account.app_key)["token_issuances"]) == 1
    assert sum(api.client.tokens.issued_here for api in apis) == 1


def test_reissued_when_less_than_ten_minutes_remain(sandbox, make_api, sim_clock) -> None:
    account = sandbox.create_account("virtual")
    api = make_api(account)
    api.price(SAMSUNG)
    token = api.client.tokens.current()
    sim_clock.set(token.expires_at - REFRESH_MARGIN - timedelta(minutes=1))
    api.price(SAMSUNG)
    assert len(sandbox.stats(account.app_key)["token_issuances"]) == 1  # 11 minutes left: kept
    sim_clock.advance(timedelta(minutes=2))
    api.price(SAMSUNG)
    issuances = sandbox.stats(account.app_key)["token_issuances"]
    assert len(issuances) == 2 and issuances[1]["new"]


def test_issuance_at_most_once_a_minute(sandbox, make_api, sim_clock) -> None:
    account = sandbox.create_account("virtual")
    api = make_api(account)
    first = api.client.access_token()
    start = sim_clock.now()
    api.client.tokens.after_rejection(first)  # must wait for the minute (FrozenClock: instantly)
    assert (sim_clock.now() - start).total_seconds() >= 59
    assert len(sandbox.stats(account.app_key)["token_issuances"]) == 2


def test_expiry_is_read_in_kst_whatever_the_os_timezone() -> None:
    body = {"access_token": "x", "expires_in": 86400, "access_token_token_expired": "2024-01-06 10:00:00"}
    token = token_from_response(body, parse_kst("2024-01-05 10:00:00"))
    assert token.expires_at == parse_kst("2024-01-06 10:00:00") and token.expires_at.tzinfo == KST
    code = ("from hantu.broker.kis.token import token_from_response; from hantu.clock import parse_kst;"
            "b={'access_token':'x','expires_in':86400,'access_token_token_expired':'2024-01-06 10:00:00'};"
            "t=token_from_response(b, parse_kst('2024-01-05 10:00:00'));"
            "print(t.expires_at.isoformat(), t.fresh(parse_kst('2024-01-06 09:45:00')),"
            " t.fresh(parse_kst('2024-01-06 09:55:00')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "TZ": "America/New_York"}, check=True).stdout.split()
    assert out == ["2024-01-06T10:00:00+09:00", "True", "False"]


def test_threads_share_one_pacer(sandbox, make_api) -> None:
    account = sandbox.create_account("prod", rate_limit=10)  # the server allows 10/s for this key
    api = make_api(account, rate_limit=10)
    api.client.access_token()

    def work() -> None:
        for _ in range(5):
            api.price(SAMSUNG)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    reqs = [r for r in sandbox.stats(account.app_key)["requests"] if r["tr_id"] == "FHKST01010100"]
    assert len(reqs) == 20 and all(r["msg_cd"] == "MCA00000" for r in reqs)
    assert max_in_window([r["t"] for r in reqs]) <= 10


def test_two_processes_share_one_token_and_never_exceed_the_rate(kis_panel, sim_clock, isolated_env) -> None:
    """Real virtual-server limits (2/s): two processes, one token issuance, never more than 2 in a second."""
    from hantu.sandbox.kis.app import start_kis_sandbox
    from hantu.sandbox.kis.state import SandboxOptions

    with start_kis_sandbox(kis_panel, sim_clock, SandboxOptions()) as sandbox:
        account = sandbox.create_account("virtual")
        spec = {"app_key": account.app_key, "app_secret": account.app_secret, "server": "virtual",
                "account": account.account_number, "base_url": sandbox.base_url, "home": str(isolated_env),
                "code": SAMSUNG, "count": 4}
        procs = [subprocess.Popen([sys.executable, str(WORKER), json.dumps(spec)], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
        results = []
        for proc in procs:
            out, err = proc.communicate(timeout=90)
            assert proc.returncode == 0, err
            results.append(json.loads(out.strip().splitlines()[-1]))
        stats = sandbox.stats(account.app_key)
        assert len(stats["token_issuances"]) == 1
        assert sorted(r["issued_here"] for r in results) == [0, 1]
        reqs = [r for r in stats["requests"] if r["tr_id"] == "FHKST01010100"]
        assert len(reqs) == 8
        assert all(r["msg_cd"] == "MCA00000" for r in reqs)  # never an EGW00201
        assert max_in_window([r["t"] for r in reqs]) <= 2
