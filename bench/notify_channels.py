"""What a NOTIFY_URLS channel costs: apprise's import (time, resident memory) — why the scheduler delivers
channels through a short-lived child instead of importing it — and the delivery rate to a loopback JSON webhook
through the outbox (in this process, import included).

    .venv/bin/python bench/notify_channels.py [--messages 200]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_line, versions

IMPORT_COST = r"""
import resource, time
def rss():
    return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmRSS')) / 1024
import hantu.notify.sender  # what the scheduler has loaded anyway
before, started, cpu = rss(), time.perf_counter(), time.process_time()
import apprise
apprise.Apprise().add('json://127.0.0.1:9/x')
print(f"{time.perf_counter() - started:.3f} {time.process_time() - cpu:.3f} {rss() - before:.1f}")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=200)
    args = parser.parse_args()
    print(machine_line() + f"; apprise {versions(('apprise',))['apprise']}")
    runs = [subprocess.run([sys.executable, "-c", IMPORT_COST], capture_output=True, text=True, check=True)
            .stdout.split() for _ in range(3)]
    wall, cpu, mb = (sorted(float(r[i]) for r in runs)[1] for i in range(3))
    print(f"import apprise (median of 3 fresh processes): {wall * 1000:.0f} ms wall, {cpu * 1000:.0f} ms CPU, "
          f"+{mb:.1f} MB RSS — paid by the short-lived delivery child (`hantu notify deliver-channels`), never by "
          "the scheduler")

    received: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *a: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update(HANTU_HOME=tmp, HANTU_ENV_FILE=str(Path(tmp) / "absent.env"),
                          DATABASE_URL=f"sqlite:///{tmp}/bench.db")
        from hantu.clock import SystemClock
        from hantu.notify.channels import ChannelSender, channels_from_urls
        from hantu.notify.outbox import enqueue
        from hantu.store.db import get_database
        from hantu.store.migrate import upgrade

        db = get_database(os.environ["DATABASE_URL"])
        upgrade(db)
        url = f"json://127.0.0.1:{server.server_address[1]}/hook"
        sender = ChannelSender(db, SystemClock(), channels_from_urls([url]), batch_size=args.messages)
        sender.start()
        with db.session() as s:
            for n in range(args.messages):
                enqueue(s, "text", {"text": f"event {n}"}, language="ko")
        started, cpu = time.perf_counter(), time.process_time()
        sent = sender.run_once()
        wall, used = time.perf_counter() - started, time.process_time() - cpu
    server.shutdown()
    print(f"{sent} messages through the outbox to a loopback JSON webhook: {wall:.2f} s wall, {used:.2f} s CPU "
          f"({wall / max(sent, 1) * 1000:.1f} ms per message, import included); received {len(received)}")


if __name__ == "__main__":
    main()
