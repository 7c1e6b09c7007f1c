"""Constants the notify tests share (a module with a unique name: `conftest` is ambiguous across areas)."""

from __future__ import annotations

from datetime import datetime

from hantu.clock import KST

# Shaped like a real token (digits:35 chars) so any leak would be a realistic one.
TOKEN = "7412589630:AAH-sandboxTokenThatMustNeverBeLogged1"
CHAT = "424242"
START = datetime(2024, 3, 4, 8, 0, tzinfo=KST)
