"""The engine processes of the crash test.

This script is a *zygote*: it imports everything once, then forks one engine process per `run` line read on
stdin (printing `PID <pid>`), so that a run starts in milliseconds instead of seconds of imports, and the test
can SIGKILL a real, separate process at any moment. `final` forks a process that only reconciles; `wait <pid>`
reaps a process and prints `EXIT <pid> <status>`.

The simulated clock is anchored in the parent: `sim_now = anchor_sim + (monotonic() - anchor_mono) * speed`.
`time.monotonic()` is system-wide on Linux, so every engine (and the parent's KIS sandbox) sees the same time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from simkit import DAY, DipBuyer, candidates_for, make_panel


def shared_clock(anchor_sim: str, anchor_mono: float, speed: float):  # type: ignore[no-untyped-def]
    from hantu.clock import SimClock

    start = datetime.fromisoformat(anchor_sim)
    elapsed = (time.monotonic() - anchor_mono) * speed
    from datetime import timedelta

    return SimClock(start + timedelta(seconds=elapsed), speed)


def engine(args: argparse.Namespace, final: bool) -> None:
    """One engine process: open everything afresh (nothing is shared with the zygote), then trade."""
    from hantu.config import get_settings
    from hantu.store.db import Database
    from hantu.trading.reconcile import reconcile
    from hantu.trading.session import SessionConfig, TradingSession

    database = Database(args.db)
    clock = shared_clock(args.anchor_sim, args.anchor_mono, args.speed)
    panel = make_panel()
    if args.mode == "paper":
        from hantu.broker.fill_model import FillParams
        from hantu.broker.paper import PaperBroker
        from hantu.broker.paper.feed import PaperFeed

        broker = PaperBroker(database, PaperFeed(panel), clock, params=FillParams(volume_share=0.01))
        feed = None
        tolerance = 0
    else:
        from hantu.broker.kis.api import KisApi
        from hantu.broker.kis.broker import KisBroker
        from hantu.broker.kis.client import KisClient
        from hantu.broker.kis.config import KisConfig
        from hantu.trading.feed import BrokerPollingFeed

        values = json.loads(args.kis)
        values["home"] = Path(values["home"])
        broker = KisBroker(KisApi(KisClient(KisConfig(**values), clock)))
        feed = BrokerPollingFeed(broker, max_per_call=8)
        tolerance = 1000
    if final:
        for _ in range(20):  # until a consistent snapshot was compared (orders may still be filling)
            report = reconcile(database, broker, clock, DAY, cash_tolerance=tolerance)
            if report.compared:
                break
        say("FINAL " + json.dumps(report.as_dict()))
        return
    config = SessionConfig(poll_seconds=20, decision_seconds=20, reprice_after_seconds=900, max_reprices=1,
                           backoff_seconds=5, cash_tolerance=tolerance)
    session = TradingSession(database, broker, clock, feed, config, home=get_settings().hantu_home)
    say(f"STARTED {os.getpid()} {clock.now().isoformat()}")
    session.run(DAY, candidates_for(panel), DipBuyer(exit_after="14:00"), threading.Event())
    say(f"DONE {os.getpid()}")


def say(line: str) -> None:
    """`line` and its newline in one write: SIGKILL cannot cut them apart (an unbuffered stdout, as under
    PYTHONUNBUFFERED, makes `print` two writes, and the parent's next line would run into this one)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--mode", choices=["paper", "kis"], default="paper")
    parser.add_argument("--anchor-sim", required=True)
    parser.add_argument("--anchor-mono", type=float, required=True)
    parser.add_argument("--speed", type=float, required=True)
    parser.add_argument("--kis", default="{}", help="JSON: KisConfig values (kis mode)")
    args = parser.parse_args()

    # Import everything an engine needs before forking (this is the point of the zygote).
    import hantu.broker.paper
    import hantu.store.migrate
    import hantu.trading.reconcile
    import hantu.trading.session
    from hantu.config import get_settings

    if args.mode == "kis":
        import hantu.broker.kis.broker  # noqa: F401
    get_settings()  # loaded once here: the forked engines find it cached
    make_panel()
    say("READY")
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "wait":
            _, status = os.waitpid(int(words[1]), 0)
            say(f"EXIT {words[1]} {status}")
            continue
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                engine(args, final=words[0] == "final")
            except BaseException:
                import traceback

                traceback.print_exc()
                code = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        say(f"PID {pid}")


if __name__ == "__main__":
    main()
