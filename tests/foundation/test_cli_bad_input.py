"""Bad input on the command line: one clear message, exit 2 for usage errors, never a traceback; and every
command's --help carries an example."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import REPO_ROOT, run_hantu


def _sample_market(home: Path, stocks: int = 120, days: int = 130) -> list:  # type: ignore[type-arg]
    from hantu.market.sample import write_sample_market
    from hantu.market.store import MarketStore

    store = MarketStore(home / "market")
    write_sample_market(store, stocks=stocks, days=days, seed=2)
    return store.trading_dates()


def _clean(result: subprocess.CompletedProcess[str]) -> str:
    """stdout + stderr, asserting there is no Python traceback in either."""
    text = result.stdout + result.stderr
    assert "Traceback" not in text, text
    return text


@pytest.mark.parametrize(("args", "message"), [
    (("jobs", "--date", "xx"), "--date must be YYYY-MM-DD, got 'xx'"),
    (("jobs", "run", "screening", "--date", "xx"), "--date must be YYYY-MM-DD, got 'xx'"),
    (("run", "--clock", "sim", "--start", "2026-11-27 05:55", "--until", "bad"),
     "--until must be 'YYYY-MM-DD HH:MM'"),
    (("run", "--clock", "sim", "--start", "bad"), "--start must be 'YYYY-MM-DD HH:MM'"),
    (("data", "sync", "--source", "nope", "--start", "2020-01-06", "--end", "2020-01-03"),
     "unknown source 'nope' (pykrx or kis)"),
    (("data", "check", "--limit", "-5"), "--limit"),
    (("jobs", "--limit", "-1"), "--limit"),
    (("backtest", "list", "--limit", "-1"), "--limit"),
    (("ops", "render-unit", "api", "--prefix", "/nonexistent-hantu-dir"), "is not a directory"),
    (("doctor", "--prefix", "/nonexistent-hantu-dir"), "is not a directory"),
])
def test_usage_errors_exit_2_with_a_clear_message(args: tuple[str, ...], message: str) -> None:
    result = run_hantu(*args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert message in _clean(result)


def test_db_upgrade_to_an_unknown_revision_is_an_error_not_a_traceback() -> None:
    result = run_hantu("db", "upgrade", "nope")
    assert result.returncode == 1
    assert "cannot upgrade to 'nope'" in _clean(result)


def test_stop_without_a_running_scheduler_says_so_and_exits_3() -> None:
    result = subprocess.run([sys.executable, "-m", "workflows.integrated_scheduler", "stop"], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 3, (result.stdout, result.stderr)
    assert "not running" in _clean(result) and "scheduler stopped" not in result.stdout


def test_sandbox_points_to_the_data_commands_for_an_empty_store(tmp_path: Path) -> None:
    result = run_hantu("sandbox", "kis", "--port", "0", "--store", str(tmp_path / "none"), timeout=60)
    assert result.returncode == 1
    text = _clean(result)
    assert "hantu data sample" in text and "hantu market" not in text


def test_backtest_settings_are_checked_before_any_work(isolated_env: Path) -> None:
    _sample_market(isolated_env)
    for args, message in ((("--param", "selection.nope=1"), "selection.nope"),
                          (("--walk-forward", "bad"), "6m/1m"),
                          (("--walk-forward", "60m/1m"), "shorter than one training window"),
                          (("-s", "rsi2", "--grid", "rules.entry_rsi=5,500"), "entry_rsi")):
        result = run_hantu("backtest", "-s", "momentum", *args) if args[0] != "-s" else run_hantu("backtest", *args)
        text = _clean(result)
        assert result.returncode == 2, (args, text)
        assert message in result.stderr
        assert "0/?" not in text  # no progress bar was drawn


def test_backtest_outside_the_stored_range_names_both_ranges(isolated_env: Path) -> None:
    days = _sample_market(isolated_env)
    result = run_hantu("backtest", "-s", "momentum", "--from", "2003-01-01", "--to", "2004-12-30")
    assert result.returncode == 1
    assert (f"no stored data in 2003-01-01…2004-12-30 (the store covers {days[0]}…{days[-1]})"
            in _clean(result))
    reversed_ = run_hantu("backtest", "-s", "momentum", "--from", "2004-01-01", "--to", "2003-12-30")
    assert reversed_.returncode == 2 and "--from 2004-01-01 is after --to 2003-12-30" in reversed_.stderr


WALK_HELP = """
import contextlib, io, sys
import typer.main
from hantu.cli.main import app
from hantu.cli.scheduler_cmd import workflow_app

def walk(command, path):
    yield path, command
    for name, sub in (getattr(command, "commands", None) or {}).items():
        yield from walk(sub, path + [name])

for top, label in ((app, "hantu"), (workflow_app, "python -m workflows.integrated_scheduler")):
    root = typer.main.get_command(top)
    for path, command in walk(root, [label]):
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            text = command.get_help(type(command).context_class(command, info_name=" ".join(path)))
        print(("OK " if "Example" in (text or "") + printed.getvalue() else "MISSING ") + " ".join(path))
"""


def test_every_command_help_has_an_example() -> None:
    """Every command and group of `hantu` (and the scheduler's entry point), as `--help` shows it."""
    result = subprocess.run([sys.executable, "-c", WALK_HELP], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "COLUMNS": "120"})
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith(("OK ", "MISSING "))]
    assert len(lines) > 50  # the walk reached the sub-commands
    assert [line for line in lines if line.startswith("MISSING")] == []


def test_backtest_help_examples_use_real_settings() -> None:
    """A `--grid KEY=…`/`--param KEY=…` in the examples names a setting of that example's strategy (a bare key
    like `oversold` would silently be a factor weight, not the RSI threshold)."""
    import json
    import re

    help_text = run_hantu("backtest", "--help", env={"COLUMNS": "200"}).stdout
    settings = {e["name"]: set(e.get("settings", {})) for e in json.loads(run_hantu("strategy", "list",
                                                                                    "--json").stdout)}
    checked = 0
    for line in help_text.splitlines():
        strategy = re.search(r"(?:-s|--strategy) (\w+)", line)
        for key in re.findall(r"(?:--grid|--param|-g|-p) ([\w.]+)=", line):
            assert strategy and key in settings[strategy.group(1)], (line, key)
            checked += 1
    assert checked >= 2
    assert "rules.entry_rsi" in help_text


def test_a_market_job_by_hand_on_a_holiday_is_skipped_with_the_reason() -> None:
    """R6: holidays run no market jobs, by hand neither (unless --force); nothing is recorded as run."""
    import json

    sunday = "2026-11-22"
    done = run_hantu("jobs", "run", "screening", "--date", sunday)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (f"screening {sunday}: skipped: {sunday} is not a KRX trading day: market jobs "
                                   "run on trading days only (--force runs it anyway)")
    as_json = json.loads(run_hantu("jobs", "run", "screening", "--date", sunday, "--json").stdout)
    assert as_json["status"] == "skipped" and as_json["ran"] is False
    assert json.loads(run_hantu("jobs", "--date", sunday, "--json").stdout) == []
