"""Constants the control tests share (a module with a unique name: `conftest` is ambiguous across areas)."""

from __future__ import annotations

from datetime import date

START = "2024-01-05 10:00"  # a Friday, market open
END = date(2024, 2, 13)
TOKEN = "7412589630:AAH-controlTokenThatMustNeverBeLogged1"
CHAT = "515151"
SAMSUNG = "005930"
KAKAO = "035720"
