from __future__ import annotations

import json
from pathlib import Path

from helpers import run_hantu


def test_empty_environment_passes_and_explains_defaults() -> None:
    result = run_hantu("config", "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "paper trading" in result.stdout
    assert "SQLite" in result.stdout
    assert "Configuration: OK" in result.stdout


def test_prod_kis_without_keys_lists_every_missing_key_in_one_run() -> None:
    result = run_hantu("config", "check", "--json", env={"SERVER": "prod", "TRADING_MODE": "kis"})
    assert result.returncode == 1
    report = json.loads(result.stdout)
    errors = {f["key"] for f in report["findings"] if f["level"] == "error"}
    assert {"APP_KEY", "APP_SECRET", "ACCOUNT_NUMBER", "REAL_TRADING_ENABLED"} <= errors


def test_invalid_values_and_semantic_problems_reported_together(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("API_PORT=abc\nSERVER=moon\nTRADING_MODE=kis\nAPP_KEY=k-123456789\n")
    env_file.chmod(0o644)
    result = run_hantu("config", "check", "--json", env={"HANTU_ENV_FILE": str(env_file)})
    assert result.returncode == 1
    keys = [f["key"] for f in json.loads(result.stdout)["findings"] if f["level"] == "error"]
    assert "API_PORT" in keys and "SERVER" in keys
    assert ".env" in keys  # mode 644 is looser than 600
    assert "APP_SECRET" in keys and "ACCOUNT_NUMBER" in keys
    assert len(keys) == len(set(keys))


def test_values_are_masked(tmp_path: Path) -> None:
    secret = "SECRETAPPKEY-0123456789-abcdefghij"
    result = run_hantu("config", "check", env={"APP_KEY": secret, "TRADING_MODE": "kis"})
    assert secret not in result.stdout + result.stderr
    assert "SE…ij" in result.stdout


def test_loose_pgpass_reported_when_postgres_used(tmp_path: Path) -> None:
    pgpass = tmp_path / "pgpass"
    pgpass.write_text("*:*:*:*:pw\n")
    pgpass.chmod(0o640)
    result = run_hantu(
        "config",
        "check",
        "--json",
        env={"PGPASSFILE": str(pgpass), "DB_HOST": "localhost", "DB_USER": "hantu", "DB_NAME": "hantu_quant"},
    )
    assert result.returncode == 1
    findings = json.loads(result.stdout)["findings"]
    assert any(f["key"] == ".pgpass" and "chmod 600" in f["message"] for f in findings)


def test_public_api_host_without_key_is_an_error() -> None:
    result = run_hantu("config", "check", "--json", env={"API_HOST": "0.0.0.0"})
    assert result.returncode == 1
    assert any(f["key"] == "API_SERVER_KEY" for f in json.loads(result.stdout)["findings"])


def test_strategy_typo_is_an_error_naming_the_known_strategies() -> None:
    result = run_hantu("config", "check", "--json", env={"HANTU_STRATEGY": "momentun"})
    assert result.returncode == 1
    [finding] = [f for f in json.loads(result.stdout)["findings"] if f["level"] == "error"]
    assert finding["key"] == "HANTU_STRATEGY" and "did you mean momentum?" in finding["message"]
    assert "rsi2" in finding["message"] and "volatility_breakout" in finding["message"]


def test_pykrx_source_without_its_login_is_an_error() -> None:
    env = {"HANTU_DATA_SOURCE": "pykrx", "KRX_ID": "", "KRX_PW": ""}
    result = run_hantu("config", "check", "--json", env=env)
    assert result.returncode == 1
    errors = {f["key"] for f in json.loads(result.stdout)["findings"] if f["level"] == "error"}
    assert {"KRX_ID", "KRX_PW"} <= errors


def test_missing_telegram_is_a_warning_not_an_error() -> None:
    result = run_hantu("config", "check", "--json")
    assert result.returncode == 0
    levels = {f["key"]: f["level"] for f in json.loads(result.stdout)["findings"]}
    assert levels.get("TELEGRAM_BOT_TOKEN") == "warning"
