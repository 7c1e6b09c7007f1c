"""`hantu sandbox ...`: local stand-ins for the outside services. One sub-command per service; add yours with
`@app.command("<service>")` below (only typer and the standard library at module level)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

app = typer.Typer(
    help="Local sandboxes of the outside services (KIS, ...), for tests, benchmarks and the demo.\n\n"
    "Example: hantu sandbox kis --port 9443 --clock sim --start '2024-01-05 09:00' --speed 60",
    no_args_is_help=True,
)


@app.command("kis")
def kis(
    port: int = typer.Option(9443, "--port", "-p", help="TCP port (0 = a free one; see --home's kis-sandbox.json)"),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (loopback by default)"),
    home: Path | None = typer.Option(None, "--home", help="Directory for kis-sandbox.json (URLs, port, accounts)"),
    store: Path | None = typer.Option(None, "--store", help="Market store to replay (default: $HANTU_HOME/market)"),
    days: int = typer.Option(260, "--days", help="Trading days of the store to load"),
    clock: str = typer.Option("system", "--clock", help="system | sim (runs at --speed) | frozen (moves only via "
                              "the control API)"),
    start: str | None = typer.Option(None, "--start", help="Start time of a sim/frozen clock, 'YYYY-MM-DD HH:MM' KST"),
    speed: float = typer.Option(1.0, "--speed", help="Sim clock speed (sandbox seconds per wall second)"),
    rate_real: float = typer.Option(20.0, "--rate-real", help="Requests/s per app key on the real server"),
    rate_virtual: float = typer.Option(2.0, "--rate-virtual", help="Requests/s per app key on the virtual server"),
    ping_interval: float = typer.Option(10.0, "--ping-interval", help="Seconds between WebSocket PINGPONG frames"),
    account: list[str] = typer.Option([], "--account", help="Create an account at start: JSON like "
                                      "'{\"server\":\"virtual\",\"cash\":10000000,\"app_key\":\"...\"}' (repeatable)"),
) -> None:
    """Run the KIS sandbox: KIS's REST paths, TR IDs, errors, rate limits and WebSocket over a replayed market.

    Example: hantu sandbox kis --port 0 --home /tmp/sbx --clock sim --start '2024-01-05 09:00' --speed 30
    Control API: http://HOST:PORT/_sandbox/ (docs/kis-sandbox.md).
    """
    from hantu.cli.common import fail

    if clock not in ("system", "sim", "frozen"):
        fail("--clock must be system, sim or frozen", 2)
    from hantu.clock import FrozenClock, SimClock, SystemClock, parse_kst
    from hantu.config.settings import get_settings

    try:
        begin = parse_kst(start) if start else None
    except ValueError:
        fail(f"--start must look like 'YYYY-MM-DD HH:MM', got {start!r}", 2)
    if clock != "system" and begin is None:
        fail("--clock sim/frozen needs --start", 2)
    specs = []
    for text in account:
        try:
            spec = json.loads(text)
        except ValueError:
            fail(f"--account is not JSON: {text!r}", 2)
        if not isinstance(spec, dict):
            fail("--account must be a JSON object", 2)
        specs.append(spec)
    chosen = SystemClock() if clock == "system" else SimClock(begin, speed) if clock == "sim" else FrozenClock(begin)
    source = store or Path(get_settings().hantu_home) / "market"
    from hantu.sandbox.kis.app import serve
    from hantu.sandbox.kis.state import SandboxOptions

    options = SandboxOptions(rate_limits={"prod": rate_real, "virtual": rate_virtual}, ping_interval=ping_interval)
    try:
        serve(source, chosen, options, host, port, home, specs)
    except (ValueError, FileNotFoundError, OSError) as error:
        fail(str(error))
    except KeyboardInterrupt:
        pass
