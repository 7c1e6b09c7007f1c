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
    scenario: str | None = typer.Option(None, "--scenario", help="Replay a market-event day on the clock's day: "
                                        "circuit-breaker | afternoon-crash | halt | vi-cascade "
                                        "(`hantu sandbox scenarios`)"),
) -> None:
    """Run the KIS sandbox: KIS's REST paths, TR IDs, errors, rate limits and WebSocket over a replayed market.

    Example: hantu sandbox kis --port 0 --home /tmp/sbx --clock sim --start '2024-01-05 09:00' --speed 30
    A market-event day: hantu sandbox kis --clock sim --start '2024-01-05 09:00' --scenario circuit-breaker
    Control API: http://HOST:PORT/_sandbox/ (docs/kis-sandbox.md).
    """
    from hantu.cli.common import fail

    if clock not in ("system", "sim", "frozen"):
        fail("--clock must be system, sim or frozen", 2)
    from hantu.clock import Clock, FrozenClock, SimClock, SystemClock, parse_kst
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
    if clock == "system" or begin is None:
        chosen: Clock = SystemClock()
    else:
        chosen = SimClock(begin, speed) if clock == "sim" else FrozenClock(begin)
    source = store or Path(get_settings().hantu_home) / "market"
    from hantu.sandbox.kis.app import serve
    from hantu.sandbox.kis.state import SandboxOptions

    options = SandboxOptions(rate_limits={"prod": rate_real, "virtual": rate_virtual}, ping_interval=ping_interval)
    try:
        serve(source, chosen, options, host, port, home, specs, scenario)
    except (ValueError, FileNotFoundError, OSError) as error:
        fail(str(error))
    except KeyboardInterrupt:
        pass


@app.command("scenarios")
def scenarios_command(
    json_output: bool = typer.Option(False, "--json", help="Print the list as JSON."),
) -> None:
    """List the replayable market-event days of the KIS sandbox (for `hantu sandbox kis --scenario NAME`,
    `hantu demo --scenario NAME` and `POST /_sandbox/scenario`).

    Example: hantu sandbox scenarios
    """
    from hantu.sandbox.kis.scenarios import SCENARIOS

    if json_output:
        print(json.dumps([{"name": s.name, "summary": s.summary, "stocks": s.stocks} for s in SCENARIOS.values()],
                         ensure_ascii=False, indent=2))
        return
    for s in SCENARIOS.values():
        stocks = f" (on {s.stocks} stock{'s' if s.stocks > 1 else ''})" if s.stocks else ""
        print(f"{s.name:<16} {s.summary}{stocks}")


@app.command("telegram")
def telegram(
    port: int = typer.Option(8081, "--port", "-p", help="Bot API port (0 = a free one)"),
    control_port: int = typer.Option(0, "--control-port", help="Control API port (0 = a free one)"),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (loopback by default)"),
    token: str | None = typer.Option(None, "--token", help="Accept only this bot token (default: any)",
                                     envvar="TELEGRAM_SANDBOX_TOKEN"),
    no_limits: bool = typer.Option(False, "--no-limits", help="Do not answer 429 to messages faster than "
                                   "1/s per chat or 30/s overall"),
    home: Path | None = typer.Option(None, "--home", help="Write telegram-sandbox.json (URLs) into this directory"),
    echo: bool = typer.Option(True, "--echo/--quiet", help="Print every received message"),
) -> None:
    """Run the Telegram Bot API sandbox: sendMessage, getUpdates, getMe, 429s and downtime injection.

    Example: hantu sandbox telegram --port 8081   (then TELEGRAM_API_BASE=http://127.0.0.1:8081)
    Control API (second port, printed at start): POST /down {"mode": "error"|"refuse"|null},
    POST /fail {"method": "sendMessage", "status": 429, "retry_after": 5, "count": 1},
    POST /update {"chat_id": 123, "text": "/status"}, GET /messages?chat_id=123, GET /state, POST /reset.
    """
    import signal
    import threading

    from hantu.cli.common import fail
    from hantu.sandbox.telegram import TelegramSandbox

    try:
        box = TelegramSandbox(token=token, host=host, port=port, control_port=control_port,
                              enforce_limits=not no_limits).start()
    except OSError as error:
        fail(f"cannot start the Telegram sandbox: {error}")
    info = {"api_base": box.base_url, "control_url": box.control_url}
    if home is not None:
        home.mkdir(parents=True, exist_ok=True)
        (home / "telegram-sandbox.json").write_text(json.dumps(info), encoding="utf-8")
    typer.echo(f"Telegram sandbox: TELEGRAM_API_BASE={box.base_url}  control: {box.control_url}", err=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    seen = 0
    try:
        while not stop.wait(0.2):
            if echo:
                messages = box.messages()
                for message in messages[seen:]:
                    typer.echo(f"[{message.received_at:%H:%M:%S}] → {message.chat_id}: {message.plain}")
                seen = len(messages)
    except KeyboardInterrupt:
        pass
    finally:
        box.stop()
