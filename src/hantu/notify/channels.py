"""Channels beside Telegram — Discord and Slack webhooks, e-mail, any apprise URL — fed from the same outbox.

Every broadcast message (an outbox row without its own `chat_id`: command replies go only to the chat that
asked) goes to every `NOTIFY_URLS` channel, independently of Telegram and of each other: with Telegram down a
webhook still gets every message, once, in order. Each channel follows the outbox's rules (see
`hantu.notify.sender`), with its state in `notify_channel_delivery`:

  * order: a channel takes messages in id order; while its oldest undelivered one waits (backoff), nothing
    younger goes to that channel;
  * at most once where unsure: the delivery row is claimed (`sending`, committed) just before the request; a
    row a crash left `sending` becomes `uncertain` and is never resent;
  * retry: a failed request (apprise reports it as not delivered) waits 1, 2, 4 … up to `max_backoff`
    seconds and is retried, forever, in order — nothing is lost while a channel is down.

Which messages a channel owes: everything still pending on the outbox when the channel is first seen (its
watermark, kept in the database), and everything queued after; not the history before it.

apprise costs ~0.5 s CPU and ~25 MB once it has loaded its plugins (bench/notify_channels.py,
docs/performance.md): more than the scheduler's idle budget leaves. So the long-running sender never imports
it: `ChannelProcess` looks for due deliveries with one query and, when there are some, starts a short-lived
child (`hantu notify deliver-channels`, a `ChannelSender`) that delivers them and exits, returning the memory
— as the 18:00 backtest refresh does. One child at a time; the next starts after it ends.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

from sqlalchemy import CursorResult, and_, func, select, update
from sqlalchemy.exc import IntegrityError

from hantu.clock import Clock
from hantu.notify.formatting import strip_tags
from hantu.store.db import Database
from hantu.store.kv import kv_get, kv_set
from hantu.store.models.notify import PENDING, SENDING, SENT, UNCERTAIN, ChannelDelivery, OutboxMessage

log = logging.getLogger("hantu.notify")

_SINCE_KEY = "notify.channel_since."  # + channel name: ids above it are owed to the channel


class Notifier(Protocol):
    """Delivers one message to one channel: True when the channel accepted it."""

    def __call__(self, title: str, body: str) -> bool: ...


def apprise_notifier(url: str) -> Notifier:
    """A notifier for one apprise URL; apprise is imported here, at the first delivery."""
    import apprise

    # apprise logs the expanded webhook URL (token included) at DEBUG, in a form our masking does not know
    # (and urllib3, under it, the request line with the webhook's path)
    for name in ("apprise", "urllib3"):
        logging.getLogger(name).setLevel(logging.WARNING)
    app = apprise.Apprise()
    if not app.add(url):
        raise ValueError(f"not an apprise URL that apprise can use: {urlsplit(url).scheme}://…")

    def send(title: str, body: str) -> bool:
        return bool(app.notify(body=body, title=title, body_format=apprise.NotifyFormat.TEXT))

    return send


@dataclass
class Channel:
    """One `NOTIFY_URLS` entry. `name` (scheme and place, e.g. `discord-1`) is what logs and the database show:
    the URL holds the webhook's token and is never logged."""

    name: str
    url: str = field(repr=False)
    make_notifier: Callable[[str], Notifier] = field(default=apprise_notifier, repr=False)
    _notifier: Notifier | None = field(default=None, repr=False)

    def send(self, title: str, body: str) -> bool:
        if self._notifier is None:
            self._notifier = self.make_notifier(self.url)
        return self._notifier(title, body)


def channels_from_urls(urls: Sequence[str]) -> list[Channel]:
    """Channels named by scheme and place (`discord-1`, `json-2`)."""
    return [Channel(f"{(urlsplit(u).scheme or 'url').lower()[:40]}-{i}", u) for i, u in enumerate(urls, 1)]


class ChannelSender:
    """Delivers the outbox's broadcast messages to each channel (called from `OutboxSender.run_once`)."""

    def __init__(self, database: Database, clock: Clock, channels: Sequence[Channel], title: str = "Hantu Quant",
                 batch_size: int = 100, max_backoff: float = 300.0) -> None:
        self.database = database
        self.clock = clock
        self.channels = list(channels)
        self.title = title
        self.batch_size = batch_size
        self.max_backoff = max_backoff
        self._recovered = False
        self._since_cache: dict[str, int] = {}

    def start(self) -> None:
        """Fix each channel's watermark (first time only): call before Telegram's turn, so a message Telegram
        delivers in the same pass is still owed to a channel seen for the first time."""
        for channel in self.channels:
            self._since(channel)

    def recover(self) -> int:
        """Deliveries left `sending` by a crashed sender become `uncertain` (never resent)."""
        with self.database.session() as session:
            rows = session.scalars(select(ChannelDelivery).where(ChannelDelivery.status == SENDING)).all()
            for row in rows:
                row.status = UNCERTAIN
                row.last_error = (row.last_error or "") + " | sender stopped mid-send; not resent"
                log.warning("message %s to %s may or may not have been delivered before a restart; not "
                            "resending it", row.message_id, row.channel)
        self._recovered = True
        return len(rows)

    def run_once(self, stopped: Callable[[], bool] = lambda: False) -> int:
        """Deliver what is due on every channel; returns how many deliveries succeeded."""
        if not self._recovered:
            self.recover()
        self.start()
        delivered = 0
        for channel in self.channels:
            try:
                delivered += self._run_channel(channel, stopped)
            except Exception:  # one broken channel (a bad URL, a database hiccup) never stops the others
                log.exception("delivery to channel %s failed; retrying later", channel.name)
        return delivered

    def _since(self, channel: Channel) -> int:
        if channel.name in self._since_cache:
            return self._since_cache[channel.name]
        with self.database.session() as session:
            since = kv_get(session, _SINCE_KEY + channel.name)
            if since is None:
                oldest_pending = session.scalar(select(func.min(OutboxMessage.id))
                                                .where(OutboxMessage.status == PENDING))
                newest = session.scalar(select(func.max(OutboxMessage.id))) or 0
                since = (oldest_pending - 1) if oldest_pending is not None else newest
                kv_set(session, _SINCE_KEY + channel.name, int(since))
        self._since_cache[channel.name] = int(since)
        return int(since)

    def _due(self, channel: Channel, since: int) -> list[tuple[OutboxMessage, ChannelDelivery | None]]:
        with self.database.session() as session:
            joined = and_(ChannelDelivery.message_id == OutboxMessage.id, ChannelDelivery.channel == channel.name)
            rows = session.execute(
                select(OutboxMessage, ChannelDelivery)
                .outerjoin(ChannelDelivery, joined)
                .where(OutboxMessage.id > since, OutboxMessage.chat_id.is_(None),
                       (ChannelDelivery.id.is_(None)) | (ChannelDelivery.status == PENDING))
                .order_by(OutboxMessage.id)
                .limit(self.batch_size)
            ).all()
            session.expunge_all()
            return [(m, d) for m, d in rows]

    def _run_channel(self, channel: Channel, stopped: Callable[[], bool]) -> int:
        delivered = 0
        for message, delivery in self._due(channel, self._since(channel)):
            if stopped():
                break
            if delivery is not None and delivery.next_attempt_at is not None \
                    and delivery.next_attempt_at > self.clock.now():
                break  # order: nothing younger goes to this channel first
            claimed = self._claim(channel, message.id, delivery)
            if claimed is None:
                continue  # another sender has it
            try:
                ok = channel.send(self.title, strip_tags(message.text))
                error = None if ok else "the channel did not accept it"
            except Exception as exc:  # a notifier that raises (bad URL, library error): not delivered
                ok, error = False, f"{type(exc).__name__}: {exc}"
            if ok:
                self._finish(claimed, status=SENT, sent_at=self.clock.now(), last_error=None)
                log.info("message %s (%s) delivered to %s", message.id, message.kind, channel.name)
                delivered += 1
                continue
            attempts = (delivery.attempts if delivery is not None else 0) + 1
            wait = float(min(self.max_backoff, 2 ** (attempts - 1)))
            log.warning("message %s (%s) not delivered to %s (%s); retry in %.0f s", message.id, message.kind,
                        channel.name, error, wait)
            self._finish(claimed, status=PENDING, last_error=error,
                         next_attempt_at=self.clock.now() + timedelta(seconds=wait))
            break  # the channel waits; order is kept
        return delivered

    def _claim(self, channel: Channel, message_id: int, delivery: ChannelDelivery | None) -> int | None:
        """Mark the delivery `sending` (creating its row), committed; its id, or None when someone else has it."""
        with self.database.session() as session:
            if delivery is None:
                row = ChannelDelivery(message_id=message_id, channel=channel.name, status=SENDING, attempts=1)
                try:
                    with session.begin_nested():
                        session.add(row)
                except IntegrityError:
                    return None
                session.flush()
                return row.id
            result: Any = session.execute(
                update(ChannelDelivery)
                .where(ChannelDelivery.id == delivery.id, ChannelDelivery.status == PENDING)
                .values(status=SENDING, attempts=ChannelDelivery.attempts + 1))
            assert isinstance(result, CursorResult)
            return delivery.id if result.rowcount == 1 else None

    def _finish(self, delivery_id: int, **values: object) -> None:
        with self.database.session() as session:
            session.execute(update(ChannelDelivery).where(ChannelDelivery.id == delivery_id).values(**values))


class ChannelProcess(ChannelSender):
    """The long-running form: deliveries happen in a child process (see the module docstring)."""

    def __init__(self, database: Database, clock: Clock, channels: Sequence[Channel],
                 command: Sequence[str] | None = None, env: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(database, clock, channels, **kwargs)
        self.command = list(command or [sys.executable, "-m", "hantu", "notify", "deliver-channels"])
        self.env = env
        self._child: subprocess.Popen[bytes] | None = None

    def due(self) -> bool:
        """Whether some channel has a delivery to make now (one small query per channel, no apprise)."""
        now = self.clock.now()
        for channel in self.channels:
            for _, delivery in self._due(channel, self._since(channel))[:1]:
                if delivery is None or delivery.next_attempt_at is None or delivery.next_attempt_at <= now:
                    return True
        return False

    def run_once(self, stopped: Callable[[], bool] = lambda: False) -> int:
        """Start a child when something is due and none runs; returns 0 (the child counts its own)."""
        self.start()
        if self._child is not None:
            if self._child.poll() is None:
                return 0
            if self._child.returncode:
                log.warning("channel delivery child exited %s; what it did not deliver waits for the next one",
                            self._child.returncode)
            self._child = None
        if stopped() or not self.due():
            return 0
        self._child = subprocess.Popen(self.command, env=self.env, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL)
        return 0

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait for the running child (on stop, and in tests); its exit status, None when none ran."""
        if self._child is None:
            return None
        code = self._child.wait(timeout=timeout)
        self._child = None
        return code


def channel_counts(database: Database) -> dict[str, dict[str, int]]:
    """Deliveries per channel and state (for `hantu notify status`)."""
    with database.session() as session:
        rows = session.execute(select(ChannelDelivery.channel, ChannelDelivery.status, func.count(ChannelDelivery.id))
                               .group_by(ChannelDelivery.channel, ChannelDelivery.status)).all()
    out: dict[str, dict[str, int]] = {}
    for channel, status, count in rows:
        out.setdefault(channel, {})[status] = int(count)
    return out
