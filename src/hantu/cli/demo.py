"""`hantu demo`: a simulated trading day (or N) on the embedded default — no credentials, no network."""

from __future__ import annotations

from pathlib import Path

import typer

from hantu.cli.common import fail, print_json


def demo_command(
    days: int = typer.Option(1, "--days", min=1, max=20, help="Trading days to simulate."),
    speed: float = typer.Option(
        600.0,
        "--speed",
        min=1.0,
        help="Simulated seconds per wall second while jobs run (idle hours are skipped).",
    ),
    data: str = typer.Option(
        "sample", "--data", help="'sample' (a generated market) or a KRX daily CSV file/directory to replay."
    ),
    home: Path = typer.Option(Path("data/demo"), "--home", help="Demo data directory (recreated each run)."),
    stocks: int = typer.Option(2500, "--stocks", min=50, help="Stocks in the sample market."),
    seed: int = typer.Option(1, "--seed", help="Sample market seed."),
    cash: int = typer.Option(None, "--cash", min=1, help="Cash of the demo account in won (default: "
                                                         "PAPER_STARTING_CASH, 10,000,000)."),
    shadow: bool = typer.Option(False, "--shadow", help="Shadow mode (TRADING_MODE=shadow): the paper book "
                                "fills from the sandbox's live WebSocket prices; no order reaches its account."),
    scenario: str = typer.Option(None, "--scenario", help="Make the first day a market-event day: "
                                 "circuit-breaker | afternoon-crash | halt | vi-cascade (`hantu sandbox scenarios`)."),
    quiet: bool = typer.Option(False, "--quiet", help="No live progress or messages, just the summary."),
    json_output: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Run the whole system through simulated trading day(s): sync → screening → selection → a session with
    real orders through the KIS client against the local KIS sandbox → close-out → report.

    With --shadow the session trades the paper book `shadow` on the sandbox's live WebSocket prices instead
    (the fill model fills it; the sandbox account receives no order).

    Examples: `hantu demo`, `hantu demo --days 3 --speed 1200`, `hantu demo --shadow`, `hantu demo --scenario circuit-breaker`,
    `hantu demo --data ../shared/data/krx/krx-daily-2024q1.csv.gz`.
    """
    from rich.panel import Panel
    from rich.table import Table

    from hantu.cli.common import make_console
    from hantu.demo import DemoError, run_demo

    console = make_console(stderr=json_output)
    show = not quiet and not json_output

    def progress(text: str) -> None:
        if show:
            console.print(f"[dim]{text}[/dim]")

    def message(delivered) -> None:
        if show:
            title = f"Telegram · {delivered.kind} · {delivered.priority}"
            console.print(
                Panel(delivered.plain, title=title, title_align="left", width=72, border_style="cyan")
            )

    try:
        result = run_demo(days, speed, data, home, stocks, seed, on_message=message, on_progress=progress,
                          cash=cash, shadow=shadow, scenario=scenario)
    except DemoError as error:
        fail(str(error), 2)
    failed = [r for r in result.job_runs if r["status"] not in ("success", "skipped")]
    if json_output:
        print_json(
            {
                "home": str(result.home),
                "mode": "shadow" if shadow else "kis",
                "days": result.days,
                "per_day": result.per_day,
                "sandbox": result.sandbox,
                "messages": result.messages,
                "report_path": result.report_path,
                "wall_seconds": round(result.wall_seconds, 1),
                "failed_jobs": [{"job": r["job"], "date": r["date"], "error": r["error"]} for r in failed],
            }
        )
        raise typer.Exit(1 if failed else 0)
    table = Table(title="Demo summary", title_justify="left")
    table.add_column("")
    for row in result.per_day:
        table.add_column(str(row["date"]), justify="right")

    def fmt(value, signed: bool = False) -> str:
        if value is None:
            return "-"
        if isinstance(value, int):
            return f"{value:+,}" if signed else f"{value:,}"
        return str(value)

    lines = [
        ("stocks screened", "universe", False),
        ("passed Phase 1", "passed", False),
        ("watchlist", "watchlist", False),
        ("market regime", "regime", False),
        ("selected (Phase 2)", "selected", False),
        ("orders sent", "orders", False),
        ("fills", "trades", False),
        ("equity (원)", "equity", False),
        ("P&L (원)", "pnl", True),
        ("fees + taxes (원)", "costs", False),
        ("jobs succeeded", "jobs_ok", False),
        ("jobs failed", "jobs_failed", False),
    ]
    for label, key, signed in lines:
        table.add_row(label, *(fmt(row[key], signed) for row in result.per_day))
    console.print(table)
    sandbox = result.sandbox
    if shadow:
        console.print(
            f"Shadow book: fills from the fill model on the sandbox's live prices ({sandbox['ws_connections']} "
            f"WebSocket session(s), {sandbox['requests']:,} REST requests); orders at the sandbox account: "
            f"{sandbox['orders_received']}"
        )
    console.print(
        f"KIS sandbox: {sandbox['requests']:,} requests, {sandbox['token_issuances']} token issuance(s), "
        f"{sandbox['orders_received']} order(s) received, {sandbox['fills']} fill(s); "
        f"account cash {sandbox['cash']:,}원, {len(sandbox['holdings'])} holding(s)"
    )
    console.print(f"Telegram messages: {result.messages} (printed above; no token, so none left the machine)")
    if result.report_path:
        console.print(f"Backtest report (HTML): {result.report_path}", soft_wrap=True)
    console.print(f"Data: {result.home}   ({result.wall_seconds:.0f} s)", soft_wrap=True)
    import sys

    script = Path(sys.executable).with_name("hantu")
    hantu = str(script) if script.exists() else "hantu"
    # unwrapped whatever the terminal width: the command and the paths must copy as one line
    console.print(
        f"Open the dashboard on this data:  HANTU_ENV_FILE={result.home / 'demo.env'} {hantu} api"
        "   → http://127.0.0.1:8000/",
        soft_wrap=True,
    )
    for run in failed:
        console.print(
            f"[red]{run['job']} {run['date']} {run['status']}: {(run['error'] or '').splitlines()[0]}[/red]"
        )
    raise typer.Exit(1 if failed else 0)
