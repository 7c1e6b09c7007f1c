"""`GET /backtests/{id}/report`: the stored HTML report, only from under HANTU_HOME, behind the key."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hantu.store.models import BacktestRun

SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@SQLITE_ONLY
def test_report_is_served_from_home_only(keyed, seeded, isolated_env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    inside = isolated_env / "reports" / "bt.html"
    inside.parent.mkdir(parents=True, exist_ok=True)
    inside.write_text("<html><body>모멘텀 리포트</body></html>", encoding="utf-8")
    outside = tmp_path / "elsewhere.html"
    outside.write_text("<html>secret</html>")
    with seeded.session() as s:
        run = s.scalars(select(BacktestRun)).first()
        run.report_path = str(inside)
        run_id = run.id
    answer = keyed.get(f"/api/v1/backtests/{run_id}/report")
    assert answer.status_code == 200 and "모멘텀 리포트" in answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert keyed.get(f"/api/v1/backtests/{run_id}/report", headers={"X-API-Key": "wrong"}).status_code == 401
    with seeded.session() as s:
        s.get(BacktestRun, run_id).report_path = str(outside)
    refused = keyed.get(f"/api/v1/backtests/{run_id}/report")
    assert refused.status_code == 404 and "secret" not in refused.text
    listed = keyed.get("/api/v1/backtests").json()["items"]
    assert listed and listed[0]["report_path"] == str(outside)
