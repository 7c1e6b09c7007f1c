"""The Saturday job on both databases: a real backup file, vacuum, log rotation and the weekly summary."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select

from hantu.clock import KST, FrozenClock
from hantu.config import get_settings
from hantu.scheduler.app import run_job_once
from hantu.store.models import DailyReport, OutboxMessage

SATURDAY = date(2026, 11, 28)


def test_weekly_maintenance(database, isolated_env: Path) -> None:  # type: ignore[no-untyped-def]
    now = datetime(2026, 11, 28, 3, 0, tzinfo=KST)
    with database.session() as session:
        for day, equity in ((date(2026, 11, 23), 10_000_000), (date(2026, 11, 27), 10_250_000)):
            session.add(DailyReport(trading_date=day, broker="paper", equity=equity, cash=equity, realized_pnl=0,
                                    unrealized_pnl=0, fees=0, taxes=0, trades=0, positions=[], created_at=now))
    logs = isolated_env / "logs"
    logs.mkdir(parents=True)
    (logs / "hantu_2026-11-01.log").write_text("old line\n")  # 27 days old: compressed

    result = run_job_once(get_settings(), FrozenClock(now), "weekly_maintenance", SATURDAY)

    figures = result["figures"]
    backup = Path(figures["backup"])
    assert backup.is_file() and backup.stat().st_size > 0 and figures["backup_bytes"] == backup.stat().st_size
    assert backup.parent == isolated_env / "backups"
    assert figures["log_rotation_exit"] == 0
    assert (logs / "hantu_2026-11-01.log.gz").exists()
    with database.session() as session:
        summary = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "weekly_summary")).one()
        assert "10,250,000" in summary.text and "10,000,000" in summary.text
