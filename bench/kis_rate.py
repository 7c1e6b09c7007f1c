"""P3: several processes reading prices through one app key in virtual mode against the KIS sandbox.

Prints the largest number of requests the sandbox saw in any 1-second window (must be ≤ the limit, 2/s) and
the achieved share of the limit (≥ 90 %), plus any EGW00201 the sandbox returned (must be 0).

    .venv/bin/python bench/kis_rate.py [--processes 4] [--seconds 20]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from hantu.sandbox.kis.state import max_in_window


def worker(spec: dict) -> None:
    from hantu.broker.kis.api import KisApi
    from hantu.broker.kis.client import KisClient
    from hantu.broker.kis.config import KisConfig

    config = KisConfig(app_key=spec["app_key"], app_secret=spec["app_secret"], server="virtual",
                       account=spec["account"], base_url=spec["base_url"], home=Path(spec["home"]))
    api = KisApi(KisClient(config))
    deadline = time.monotonic() + spec["seconds"]
    done = 0
    while time.monotonic() < deadline:
        api.price(spec["codes"][done % len(spec["codes"])])
        done += 1
    print(json.dumps({"requests": done, "rate_limited": api.client.stats.rate_limited}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(json.loads(args.worker))
        return

    from hantu.clock import SimClock, parse_kst
    from hantu.market.sample import write_sample_market
    from hantu.market.store import MarketStore
    from hantu.sandbox.kis.app import start_kis_sandbox
    from hantu.sandbox.kis.state import SandboxOptions

    with tempfile.TemporaryDirectory() as tmp:
        store = MarketStore(Path(tmp) / "market")
        write_sample_market(store, stocks=50, days=30, seed=3, end=date(2024, 2, 13))
        clock = SimClock(parse_kst("2024-02-13 10:00"), speed=1)
        options = SandboxOptions()  # KIS's limits: 20/s real, 2/s virtual
        with start_kis_sandbox(store.load(30), clock, options) as sandbox:
            account = sandbox.create_account("virtual")
            spec = {"app_key": account.app_key, "app_secret": account.app_secret,
                    "account": account.account_number, "base_url": sandbox.base_url, "home": str(Path(tmp) / "home"),
                    "codes": [str(c) for c in sandbox.state.market.panel.codes[:10]], "seconds": args.seconds}
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
            procs = [subprocess.Popen([sys.executable, __file__, "--worker", json.dumps(spec)],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
                     for _ in range(args.processes)]
            outputs = [p.communicate(timeout=args.seconds + 120) for p in procs]
            for proc, (_, err) in zip(procs, outputs, strict=True):
                if proc.returncode != 0:
                    raise SystemExit(f"worker failed: {err}")
            stats = sandbox.stats(account.app_key)
    reqs = [r for r in stats["requests"] if r["tr_id"] == "FHKST01010100"]
    times = sorted(r["t"] for r in reqs)
    refused = sum(1 for r in reqs if r["msg_cd"] == "EGW00201")
    limit = options.rate_limits["virtual"]
    span = times[-1] - times[0]
    achieved = (len(times) - 1) / span if span > 0 else 0.0
    print(f"machine: {platform.node()} {platform.machine()} {os.cpu_count()} cpus, Python {platform.python_version()}")
    print(f"processes: {args.processes}, duration: {args.seconds:.0f}s, virtual limit {limit:g}/s, "
          f"token issuances: {len(stats['token_issuances'])}")
    print(f"requests seen by the sandbox: {len(times)}, EGW00201 returned: {refused}")
    print(f"largest count in any 1-second window: {max_in_window(times)} (limit {limit:g})")
    print(f"achieved rate: {achieved:.3f}/s = {achieved / limit:.1%} of the limit")


if __name__ == "__main__":
    main()
