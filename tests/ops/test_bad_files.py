"""Damaged files the user owns — a `.env` saved in CP949, a corrupt `hantu.db`, a torn market store — give one
clear message and their own exit status (`hantu.exitcodes`), never a traceback, and leave the file as it was;
`hantu doctor` finds each. Real `hantu` subprocesses.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path

import pytest

from hantu import exitcodes
from hantu.config import get_settings, reset_settings_cache

from helpers import run_hantu

DAY = date(2026, 11, 27)


def assert_clear(done, code: int, *needles: str) -> None:  # type: ignore[no-untyped-def]
    output = done.stdout + done.stderr
    assert done.returncode == code, output[-2000:]
    assert "Traceback" not in output, output[-3000:]
    assert len(done.stderr.strip().splitlines()) <= 4, done.stderr  # one message, not a wall of text
    for needle in needles:
        assert needle in done.stderr, done.stderr


def test_env_file_not_utf8_is_a_configuration_error(tmp_path: Path, isolated_env: Path) -> None:
    env = tmp_path / "cp949.env"
    env.write_bytes("TELEGRAM_CHAT_ID=1\n# 한투 설정\n".encode("cp949"))
    before = env.read_bytes()
    for command in (("trade", "balance"), ("config", "check"), ("data", "status")):
        done = run_hantu(*command, env={"HANTU_ENV_FILE": str(env)})
        assert_clear(done, exitcodes.CONFIG, "not UTF-8", str(env), "iconv")
    assert env.read_bytes() == before


def test_database_that_is_not_a_database(isolated_env: Path) -> None:
    isolated_env.mkdir(parents=True, exist_ok=True)
    db = isolated_env / "hantu.db"
    db.write_bytes(b"this was a database once\n" * 400)
    before = db.read_bytes()
    for command in (("trade", "balance"), ("notify", "status")):
        assert_clear(run_hantu(*command), exitcodes.DATABASE_CORRUPT, "damaged", str(db))
    doctor = run_hantu("doctor")
    assert doctor.returncode == 1 and "✗ database" in doctor.stdout and "damaged" in doctor.stdout, (
        doctor.stdout
    )
    assert "Traceback" not in doctor.stdout + doctor.stderr
    assert db.read_bytes() == before


def test_damaged_pages_fail_the_doctor_integrity_check(isolated_env: Path) -> None:
    """A valid header over damaged pages: `SELECT 1` works, `PRAGMA quick_check` does not."""
    from hantu.store.migrate import upgrade

    from helpers import configured_database

    reset_settings_cache()
    database = configured_database()
    upgrade(database)
    database.dispose()
    conn = sqlite3.connect(isolated_env / "hantu.db")
    conn.execute("PRAGMA journal_mode=DELETE")  # everything in the main file, nothing in a WAL
    conn.execute("CREATE TABLE filler (x TEXT)")
    conn.executemany("INSERT INTO filler VALUES (?)", [("x" * 500,) for _ in range(400)])
    conn.commit()
    conn.close()
    path = isolated_env / "hantu.db"
    raw = bytearray(path.read_bytes())
    page = 4096
    for offset in range(page * 3, len(raw) - page, page * 2):  # scribble over every other page's header
        raw[offset : offset + 64] = b"\xa5" * 64
    path.write_bytes(bytes(raw))
    doctor = run_hantu("doctor")
    assert doctor.returncode == 1, doctor.stdout
    line = next(x for x in doctor.stdout.splitlines() if " database:" in x)
    assert line.startswith("✗") and ("integrity" in line or "damaged" in line), doctor.stdout
    assert "Traceback" not in doctor.stdout + doctor.stderr


def _market(isolated_env: Path) -> Path:
    from hantu.market.sample import write_sample_market
    from hantu.market.store import open_market_store

    reset_settings_cache()
    store = open_market_store(get_settings())
    write_sample_market(store, stocks=20, days=45, seed=3, end=DAY)
    return store.root


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _bad_crc(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    at = raw.index(b"close.npy") + 200  # inside the stored (uncompressed) array data
    raw[at] ^= 0xFF
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize(
    ("damage", "target"),
    [
        ("truncated block", "block"),
        ("bad CRC", "block"),
        ("meta.json", "meta.json"),
        ("instruments.json", "instruments.json"),
    ],
)
def test_damaged_market_store(isolated_env: Path, damage: str, target: str) -> None:
    root = _market(isolated_env)
    path = sorted((root / "blocks").glob("*.npz"))[-1] if target == "block" else root / target
    if damage == "truncated block":
        _truncate(path)
    elif damage == "bad CRC":
        _bad_crc(path)
    elif damage == "meta.json":
        path.write_text('{"last_update": ', encoding="utf-8")
    else:
        path.write_text(
            json.dumps({"005930": "삼성전자"}), encoding="utf-8"
        )  # JSON, but not the master's shape
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert_clear(run_hantu("data", "check"), exitcodes.MARKET_STORE_CORRUPT, str(path), "cannot be read")
    if damage in ("truncated block", "meta.json"):  # (a bad CRC in prices: `status` reads no prices)
        assert_clear(run_hantu("data", "status"), exitcodes.MARKET_STORE_CORRUPT, str(path))
    if damage in ("bad CRC", "instruments.json"):
        doctor = run_hantu("doctor")
        assert doctor.returncode == 1 and "✗ market store" in doctor.stdout, doctor.stdout
    after = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert after == before  # nothing rewritten, nothing removed
