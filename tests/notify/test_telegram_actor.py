"""Who a Telegram command is attributed to: the Telegram user once, under the `telegram` source (issue 24.7:
/resume was recorded as `telegram:telegram:u…`)."""

from __future__ import annotations

from notify_support import CHAT
from sqlalchemy import select
from test_telegram_commands import STRANGER, ask, pair

from hantu.store.models import AuditEntry
from hantu.trading.halt import halt_state


def test_halt_and_resume_name_the_telegram_user_once(database, clock, sandbox) -> None:  # type: ignore[no-untyped-def]
    sender, poller = pair(database, clock, sandbox)
    user = f"u{CHAT}"  # the sandbox's username for the chat's own user
    assert ask(sandbox, sender, poller, clock, "/halt checking") is not None
    with database.session() as s:
        assert halt_state(s).by == f"telegram:{user}"
    assert ask(sandbox, sender, poller, clock, "/resume done") is not None
    with database.session() as s:
        assert halt_state(s).by == f"telegram:{user}"
    ask(sandbox, sender, poller, clock, "/halt", chat=STRANGER)
    with database.session() as s:
        rows = [(e.source, e.actor, e.action) for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert rows == [
        ("telegram", user, "halt"),
        ("telegram", user, "resume"),
        ("telegram", f"u{STRANGER}", "command_rejected"),
    ]
