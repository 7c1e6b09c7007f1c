"""Fixtures for the notify tests: a drivable clock, the Telegram sandbox on loopback, raw log capture."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from notify_support import START, TOKEN

from hantu.clock import FrozenClock
from hantu.sandbox.telegram import TelegramSandbox


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def sandbox(clock: FrozenClock) -> Iterator[TelegramSandbox]:
    box = TelegramSandbox(token=TOKEN, clock=clock).start()
    try:
        yield box
    finally:
        box.stop()


class RawLogs(logging.Handler):
    """Every record of every logger at DEBUG, formatted *without* the masking the app installs."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def raw_logs() -> Iterator[RawLogs]:
    """Capture with the plain record factory and httpx/httpcore at DEBUG: our code must not leak by itself."""
    root = logging.getLogger()
    saved_factory = logging.getLogRecordFactory()
    saved_level = root.level
    noisy = {name: logging.getLogger(name).level for name in ("httpx", "httpcore", "hantu")}
    logging.setLogRecordFactory(logging.LogRecord)
    handler = RawLogs()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in noisy:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(saved_level)
        logging.setLogRecordFactory(saved_factory)
        for name, level in noisy.items():
            logging.getLogger(name).setLevel(level)


@pytest.fixture
def sqlite_database(tmp_path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A migrated SQLite database, for tests about Telegram behaviour rather than storage."""
    from hantu.config import reset_settings_cache
    from hantu.store.db import get_database
    from hantu.store.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'notify.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    reset_settings_cache()
    db = get_database(url)
    upgrade(db)
    return db
