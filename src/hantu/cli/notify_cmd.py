"""`hantu notify ...`: the Telegram outbox — run the sender and command poller, inspect, send a test."""

from __future__ import annotations

import json

import typer

app = typer.Typer(
    help="Telegram notifications: the durable outbox, its sender and the command poller.\n\n"
    "Example: hantu notify status --json",
    no_args_is_help=True,
)


@app.command("run")
def run(
    once: bool = typer.Option(
        False, "--once", help="Deliver what is due and handle waiting commands, then exit"
    ),
    no_commands: bool = typer.Option(False, "--no-commands", help="Only send; do not poll for commands"),
) -> None:
    """Deliver the outbox and answer commands until stopped (SIGTERM/Ctrl-C).

    The scheduler embeds the same sender and poller; run this only when the scheduler is not running.
    Example: hantu notify run --once
    """
    import logging
    import signal
    import threading
    from typing import Any

    from hantu.bot.commands import CommandPoller
    from hantu.cli.common import init_cli_logging, open_database
    from hantu.clock import SystemClock
    from hantu.config import get_settings
    from hantu.notify.sender import OutboxSender

    init_cli_logging()
    # each delivered message is printed once, below; the sender's own "logged only" record would repeat it
    logging.getLogger("hantu.notify").addFilter(lambda record: "logged only" not in str(record.msg))
    database = open_database()
    clock = SystemClock()
    logged_only: list[int] = []

    def delivered(d: Any) -> None:
        typer.echo(f"[{d.via}] {d.plain}")
        if d.via == "log":
            logged_only.append(d.id)

    settings = get_settings()
    extra = {}
    if once and settings.notify_url_list():  # a one-shot process delivers the channels itself, in-process
        from hantu.notify.channels import ChannelSender, channels_from_urls

        extra["channels"] = ChannelSender(database, clock, channels_from_urls(settings.notify_url_list()))
    sender = OutboxSender.from_settings(settings, database, clock, on_delivered=delivered, **extra)
    poller = None if no_commands else CommandPoller.from_settings(settings, database, clock,
                                                                  wake_sender=sender.wake)
    if once:
        if poller is not None:
            poller.run_once(timeout=0)
        count = sender.run_once()
        note = (
            f" ({len(logged_only)} printed here only: TELEGRAM_BOT_TOKEN/TELEGRAM_CHAT_ID not set)"
            if logged_only
            else ""
        )
        typer.echo(f"delivered {count} message(s){note}", err=True)
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    threads = [threading.Thread(target=sender.run_forever, args=(stop,), name="outbox-sender", daemon=True)]
    if poller is not None:
        threads.append(
            threading.Thread(target=poller.run_forever, args=(stop,), name="command-poller", daemon=True)
        )
    for thread in threads:
        thread.start()
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        stop.set()
    sender.wake()
    for thread in threads:
        thread.join(timeout=30)


@app.command("deliver-channels")
def deliver_channels() -> None:
    """Deliver what is due on the NOTIFY_URLS channels (Discord, Slack, e-mail …), then exit.

    The scheduler's sender starts this as a short-lived child so that the long-running process never loads
    apprise; run by hand it does the same once. Example: hantu notify deliver-channels
    """
    from hantu.cli.common import init_cli_logging, open_database
    from hantu.clock import SystemClock
    from hantu.config import get_settings
    from hantu.notify.channels import ChannelSender, channels_from_urls

    init_cli_logging()
    urls = get_settings().notify_url_list()
    if not urls:
        typer.echo("NOTIFY_URLS is not set: no channel beside Telegram", err=True)
        return
    sender = ChannelSender(open_database(), SystemClock(), channels_from_urls(urls))
    typer.echo(f"delivered {sender.run_once()} message(s) to {len(urls)} channel(s)", err=True)


@app.command("status")
def status(as_json: bool = typer.Option(False, "--json", help="Machine-readable output")) -> None:
    """Messages per delivery state, and the ones whose delivery is uncertain or failed.

    `sent`: delivered to Telegram; `logged`: written to the log only (no TELEGRAM_BOT_TOKEN/TELEGRAM_CHAT_ID).
    Then each NOTIFY_URLS channel's deliveries per state (channels keep their own state).

    Example: hantu notify status --json
    """
    from sqlalchemy import select

    from hantu.cli.common import console, open_database, print_json
    from hantu.notify.channels import channel_counts
    from hantu.notify.outbox import outbox_counts
    from hantu.store.models.notify import FAILED, UNCERTAIN, OutboxMessage

    database = open_database()
    with database.session() as session:
        counts = outbox_counts(session)
        troubled = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status.in_([UNCERTAIN, FAILED]))
            .order_by(OutboxMessage.id.desc())
            .limit(20)
        ).all()
        rows = [
            {
                "id": m.id,
                "kind": m.kind,
                "status": m.status,
                "created_at": m.created_at,
                "error": m.last_error,
            }
            for m in troubled
        ]
    channels = channel_counts(database)
    if as_json:
        print_json({"counts": counts, "problems": rows, "channels": channels})
        return
    from rich.table import Table

    table = Table("state", "messages")
    for state in ("pending", "sending", "sent", "logged", "uncertain", "failed"):
        table.add_row(state, str(counts.get(state, 0)))
    console().print(table)
    for name, by_state in sorted(channels.items()):
        console().print(f"channel {name}: " + ", ".join(f"{k} {v}" for k, v in sorted(by_state.items())))
    for row in rows:
        console().print(f"#{row['id']} {row['kind']} {row['status']}: {row['error']}")


@app.command("templates")
def templates(as_json: bool = typer.Option(False, "--json", help="Machine-readable output")) -> None:
    """The message kinds and the data each expects.

    Example: hantu notify templates --json
    """
    from hantu.cli.common import print_json
    from hantu.notify.templates import TEMPLATES

    rows = [
        {"kind": t.kind, "required": list(t.required), "optional": list(t.optional), "doc": t.doc}
        for t in TEMPLATES.values()
    ]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        typer.echo(
            f"{row['kind']}: required {', '.join(row['required']) or '-'}; "
            f"optional {', '.join(row['optional']) or '-'}"
        )


@app.command("send")
def send(
    kind: str = typer.Argument("text", help="Template kind (see `hantu notify templates`)"),
    data: str = typer.Option('{"text": "hello"}', "--data", help="Template data as JSON"),
    priority: str = typer.Option("normal", "--priority", help="critical | high | normal | low"),
) -> None:
    """Queue one message in the outbox (delivered by the running sender, or `hantu notify run --once`).

    Example: hantu notify send text --data '{"text": "테스트"}' --priority high
    """
    from hantu.cli.common import fail, open_database

    try:
        payload = json.loads(data)
    except ValueError:
        fail(f"--data is not JSON: {data!r}", 2)
    from hantu.notify.kit import PRIORITY_RANK, is_priority
    from hantu.notify.outbox import enqueue
    from hantu.notify.templates import TemplateDataError, UnknownKindError

    if not is_priority(priority):
        fail(f"priority must be one of {list(PRIORITY_RANK)}, got {priority!r}", 2)
    database = open_database()
    try:
        with database.session() as session:
            message = enqueue(session, kind, payload, priority=priority)
            message_id = message.id if message else None
    except (UnknownKindError, TemplateDataError, ValueError) as error:
        fail(str(error), 2)
    typer.echo(f"queued message {message_id}")
