"""The notification outbox: one row per message, written in the transaction of the event behind it.

The sender reads pending rows in id order, claims one (`pending` → `sending`, committed), sends it, and marks
it `sent` (`logged` when no Telegram token is configured). A row left in `sending` by a crash is never sent again (it becomes `uncertain`): see
`hantu.notify.sender` for why.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hantu.store.base import Base, KstDateTime

# Delivery states of an outbox row.
PENDING = "pending"  # waiting to be sent (possibly after a failed attempt, see next_attempt_at)
SENDING = "sending"  # claimed by a sender, request in flight
SENT = "sent"  # delivered to Telegram
LOGGED = "logged"  # written to the log only (no bot token or chat id configured): nobody got it on Telegram
FAILED = "failed"  # Telegram refused it for good (400/403): sending again cannot help
UNCERTAIN = "uncertain"  # the request may have reached Telegram; never resent (no duplicates)


class OutboxMessage(Base):
    """One message to deliver, already rendered (text in the chosen parse mode)."""

    __tablename__ = "notify_outbox"
    __table_args__ = (
        Index("ix_notify_outbox_status_id", "status", "id"),
        Index("ix_notify_outbox_kind_rate_key_created", "kind", "rate_key", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(48))
    priority: Mapped[str] = mapped_column(String(8))  # critical | high | normal | low
    chat_id: Mapped[str | None] = mapped_column(String(64))  # None: the configured TELEGRAM_CHAT_ID
    text: Mapped[str] = mapped_column(Text)
    parse_mode: Mapped[str | None] = mapped_column(String(16))  # "HTML" or None (plain text)
    language: Mapped[str] = mapped_column(String(4))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    rate_key: Mapped[str | None] = mapped_column(String(120))  # errors are rate-limited per kind
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    parts_total: Mapped[int] = mapped_column(Integer, default=1)
    parts_sent: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(KstDateTime())
    next_attempt_at: Mapped[datetime | None] = mapped_column(KstDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(KstDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime | None] = mapped_column(KstDateTime())
    delivered_via: Mapped[str | None] = mapped_column(String(16))  # telegram | log
    telegram_message_ids: Mapped[list[int] | None] = mapped_column(JSON)
    last_error: Mapped[str | None] = mapped_column(Text)



class ChannelDelivery(Base):
    """One outbox message's delivery to one extra channel (a `NOTIFY_URLS` entry: Discord, Slack, e-mail …).

    Telegram's state stays on the outbox row; each other channel keeps its own here, with the same states and
    rules (in id order per channel, claimed before the request, backoff and retry while it fails, a row left
    `sending` by a crash becomes `uncertain` and is never resent). A row appears when the channel first tries
    the message."""

    __tablename__ = "notify_channel_delivery"
    __table_args__ = (UniqueConstraint("message_id", "channel", name="uq_notify_channel_delivery_message"),
                      Index("ix_notify_channel_delivery_channel_status", "channel", "status"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(Integer, ForeignKey("notify_outbox.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(64))  # e.g. "discord-1": the scheme and place in NOTIFY_URLS
    status: Mapped[str] = mapped_column(String(16), default=PENDING)  # pending|sending|sent|failed|uncertain
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(KstDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(KstDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
