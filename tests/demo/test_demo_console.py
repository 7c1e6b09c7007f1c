"""`hantu demo`'s console output at 80 columns: job progress lines stamped with each job's own start and end
(data_sync included), and the closing command and paths printed unwrapped so they can be copied."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from hantu.store.models import JobRun

from helpers import run_hantu


def test_demo_progress_lines_and_unwrapped_closing_lines(tmp_path: Path) -> None:
    home = tmp_path / "a-rather-long-directory-name-for-the-demo-data" / "demo"
    result = run_hantu("demo", "--days", "1", "--home", str(home), env={"COLUMNS": "80"}, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    lines = result.stdout.splitlines()

    engine = create_engine(f"sqlite:///{home / 'hantu.db'}")
    with Session(engine) as session:
        runs = [(r.job, r.status, r.started_at, r.finished_at) for r in session.scalars(select(JobRun))]
    engine.dispose()
    ran = [(job, started, finished) for job, status, started, finished in runs if status == "success"]
    assert "data_sync" in {job for job, _, _ in ran}
    for job, started, finished in ran:
        assert f"{started:%Y-%m-%d %H:%M} ▶ {job}" in lines, job
        assert f"{finished:%Y-%m-%d %H:%M} ✓ {job} finished" in lines, job

    dashboard = next(line for line in lines if line.startswith("Open the dashboard"))
    assert dashboard.endswith("api   → http://127.0.0.1:8000/")
    assert f"HANTU_ENV_FILE={home / 'demo.env'} " in dashboard
    report = next(line for line in lines if line.startswith("Backtest report (HTML): "))
    assert Path(report.removeprefix("Backtest report (HTML): ")).is_file()
    assert any(line.startswith(f"Data: {home}") for line in lines)
