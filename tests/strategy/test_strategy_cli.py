"""`hantu screen / select / explain / strategy list` on a real window imported with `hantu data import krx-csv`.

One real subprocess runs `hantu screen` exactly as a user does; the other commands run in-process through
typer's runner (same code path below the argument parsing, a fraction of the start-up time)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from helpers import SHARED_DATA, run_hantu


@pytest.fixture
def cli(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    from hantu.cli.main import app
    from hantu.config import reset_settings_cache
    from hantu.store.db import reset_databases

    monkeypatch.setenv("HANTU_HOME", str(tmp_path / "home"))
    reset_settings_cache()
    reset_databases()
    runner = CliRunner()

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(app, list(args))

    return invoke


def test_screen_select_explain_on_a_real_window(shared_krx, cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    imported = cli("data", "import", "krx-csv", str(SHARED_DATA / "krx-daily-2024q1.csv.gz"))
    assert imported.exit_code == 0, imported.output

    screened = run_hantu("screen", "--date", "2024-02-13", "--json", env={"HANTU_HOME": str(tmp_path / "home")})
    assert screened.returncode == 0, screened.stderr
    run = json.loads(screened.stdout)
    assert run["data_date"] == "2024-02-13" and run["universe"] == 2800
    assert 0 < len(run["watchlist"]) < run["universe"] and run["watchlist"][0]["rank"] == 1
    top = run["watchlist"][0]

    table = cli("screen", "--date", "2024-02-13")
    assert table.exit_code == 0 and top["name"] in table.output and "universe 2,800" in table.output

    selected = cli("select", "--date", "2024-02-13", "--json")
    assert selected.exit_code == 0, selected.output
    chosen = json.loads(selected.stdout)
    assert chosen["regime"] in ("bull", "neutral", "bear") and chosen["candidates"]
    first = chosen["candidates"][0]
    assert first["stop_price"] < first["entry_price"] < first["target_price"] and first["reason"]
    table = cli("select", "--date", "2024-02-13")
    assert table.exit_code == 0 and first["name"] in table.output  # Korean names in the table

    explained = cli("explain", top["code"], "--date", "2024-02-13", "--json")
    assert explained.exit_code == 0, explained.output
    report = json.loads(explained.stdout)
    assert report["passed"] and report["watchlist_rank"] == 1 and report["name"] == top["name"]
    assert {"rsi14", "atr14", "sma20", "volume_ratio"} <= set(report["indicators"])
    assert set(report["group_scores"]) == {"trend", "momentum", "volume", "volatility"}
    text = cli("explain", "005930", "--date", "2024-02-13")
    assert text.exit_code == 0 and "삼성전자" in text.output and "rsi14" in text.output

    unknown = cli("explain", "999999", "--date", "2024-02-13")
    assert unknown.exit_code == 1 and "unknown stock code '999999'" in unknown.output
    bad = cli("screen", "--param", "watchlist.top_n=-3")
    assert bad.exit_code == 2 and "momentum.watchlist.top_n" in bad.output
    nostrategy = cli("select", "--strategy", "nope")
    assert nostrategy.exit_code == 2 and "unknown strategy 'nope'" in nostrategy.output


def test_screen_on_an_empty_store_says_what_to_do(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("screen")
    assert result.exit_code == 1 and "hantu data sample" in result.output
