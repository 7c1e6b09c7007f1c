"""validate_env: the guide's names and ours, PostgreSQL and .pgpass rules, the guide's output shape."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from ops_testkit import run_script

from hantu.ops.envcheck import render_report, validate_environment

SCRIPT = "scripts/deployment/validate_env.sh"
TELEGRAM = "TELEGRAM_BOT_TOKEN=123456:abcdefgh\nTELEGRAM_CHAT_ID=424242\n"
POSTGRES = "DB_HOST=localhost\nDB_USER=hantu\nDB_NAME=hantu_quant\n"


@pytest.fixture
def env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    path = tmp_path / ".env"
    monkeypatch.setenv("HANTU_ENV_FILE", str(path))

    def write(text: str, mode: int = 0o600) -> Path:
        path.write_text(text)
        path.chmod(mode)
        return path

    return write


@pytest.fixture
def pgpass(tmp_path: Path):  # type: ignore[no-untyped-def]
    path = Path(os.environ["PGPASSFILE"])

    def write(text: str = "localhost:5432:hantu_quant:hantu:secret\n", mode: int = 0o600) -> Path:
        path.write_text(text)
        path.chmod(mode)
        return path

    return write


def lines(report) -> list[str]:  # type: ignore[no-untyped-def]
    return render_report(report).splitlines()


def test_guide_example_passes_with_warnings_for_optional(env_file, pgpass) -> None:  # type: ignore[no-untyped-def]
    env_file(POSTGRES + TELEGRAM + "KIS_APP_KEY=PSabcdefgh\n")
    pgpass()
    report = validate_environment()
    out = lines(report)
    assert report.passed
    assert out[:3] == ["=" * 42, "Environment Variable Validation", "=" * 42]
    assert "Checking PostgreSQL authentication..." in out
    assert any(line.startswith("✓ .pgpass: Exists with correct permissions (600)") for line in out)
    for name in ("DB_HOST", "DB_USER", "DB_NAME", "TELEGRAM_BOT_TOKEN", "TELEGRAM_CHAT_ID", "KIS_APP_KEY"):
        assert f"✓ {name}: Set" in out
    assert "⚠ KIS_APP_SECRET: Missing (Optional)" in out
    assert out[-2:] == ["✓ All required environment variables are set", "Validation: PASSED"]


def test_our_names_are_the_guides_aliases(env_file) -> None:  # type: ignore[no-untyped-def]
    env_file(TELEGRAM + "APP_KEY=PSabcdefgh\nAPP_SECRET=s3cr3tvalue\nACCOUNT_NUMBER=12345678-01\n")
    out = lines(validate_environment())
    for name in ("KIS_APP_KEY", "KIS_APP_SECRET", "KIS_ACCOUNT_NO"):
        assert f"✓ {name}: Set" in out


def test_missing_required_fails_and_lists_them(env_file) -> None:  # type: ignore[no-untyped-def]
    env_file("TELEGRAM_BOT_TOKEN=123456:abcdefgh\n")  # a token without the chat it talks to
    report = validate_environment()
    assert not report.passed and report.missing_required == ["TELEGRAM_CHAT_ID"]
    out = lines(report)
    assert "✗ TELEGRAM_CHAT_ID: Missing (Required)" in out
    assert out[-1] == "Validation: FAILED"
    assert report.alert_data()["missing"] == ["TELEGRAM_CHAT_ID"]


def test_telegram_is_optional_a_warning_not_a_failure(env_file) -> None:  # type: ignore[no-untyped-def]
    env_file("HANTU_STRATEGY=momentum\n")
    report = validate_environment()
    out = lines(report)
    assert report.passed, out
    assert (
        "⚠ TELEGRAM_BOT_TOKEN: Missing (Optional)" in out and "⚠ TELEGRAM_CHAT_ID: Missing (Optional)" in out
    )
    assert out[-1] == "Validation: PASSED"


def test_a_strategy_typo_fails_with_the_known_names(env_file) -> None:  # type: ignore[no-untyped-def]
    env_file(TELEGRAM + "HANTU_STRATEGY=momentun\n")
    report = validate_environment()
    assert not report.passed
    [failure] = report.failures
    assert failure.name == "HANTU_STRATEGY" and "'momentun'" in failure.message
    assert "did you mean momentum?" in failure.message
    assert all(name in failure.message for name in ("momentum", "rsi2", "volatility_breakout"))


def test_pykrx_without_its_login_is_reported(env_file, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("KRX_ID", raising=False)
    monkeypatch.delenv("KRX_PW", raising=False)
    env_file(TELEGRAM + "HANTU_DATA_SOURCE=pykrx\nKRX_ID=me\n")
    report = validate_environment()
    assert not report.passed
    failed = {c.name: c.message for c in report.failures}
    assert {"KRX_ID", "KRX_PW"} <= set(failed)
    assert "process environment" in failed["KRX_ID"]  # it is in .env, which pykrx does not read


@pytest.mark.parametrize(
    "text",
    [
        "HANTU_STRATEGY=momentun\n",
        "HANTU_DATA_SOURCE=pykrx\n",
        "",
        "TELEGRAM_CHAT_ID=1\n",
        "TRADING_MODE=kis\nAPP_KEY=PSabcdefgh\n",
        "API_HOST=0.0.0.0\n",
        "ACCOUNT_NUMBER=12-3\n",
        "HANTU_DATA_SOURCE=kis\n",
        "DB_HOST=localhost\n",
    ],
)
def test_config_check_and_validate_env_agree(env_file, text, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from hantu.config.check import check_configuration
    from hantu.strategy.registry import available_strategies

    monkeypatch.delenv("KRX_ID", raising=False)
    path = env_file(text)
    _, findings = check_configuration(path, strategies=available_strategies())
    errors = {f.key for f in findings if f.level == "error"}
    report = validate_environment(path)
    ours = {"KIS_APP_KEY": "APP_KEY", "KIS_APP_SECRET": "APP_SECRET", "KIS_ACCOUNT_NO": "ACCOUNT_NUMBER"}
    assert errors == {ours.get(c.name, c.name) for c in report.failures}
    assert report.passed == (not errors)


def test_sqlite_needs_no_db_variables_nor_pgpass(env_file) -> None:  # type: ignore[no-untyped-def]
    env_file(TELEGRAM)
    report = validate_environment()
    assert report.passed and not report.uses_postgres
    assert not any(c.name in ("DB_HOST", ".pgpass") for c in report.checks)


@pytest.mark.parametrize(
    ("pg", "problem"),
    [
        (None, "Not found"),
        ("localhost:5432:hantu_quant:hantu:secret\n|644", "Permissions 644"),
        ("otherhost:5432:hantu_quant:hantu:secret\n", "No line matches localhost:5432:hantu_quant:hantu"),
        ("garbage without colons\n", "no valid line"),
    ],
)
def test_broken_pgpass_fails_validation(env_file, pgpass, pg, problem) -> None:  # type: ignore[no-untyped-def]
    env_file(POSTGRES + TELEGRAM)
    if pg is not None:
        text, _, mode = pg.partition("|")
        pgpass(text, int(mode or "600", 8))
    report = validate_environment()
    assert not report.passed and report.pgpass_failed
    assert any(c.name == ".pgpass" and c.mark == "fail" and problem in c.message for c in report.checks)
    assert "Validation: FAILED" in render_report(report)


def test_postgres_url_counts_as_postgres(env_file, pgpass) -> None:  # type: ignore[no-untyped-def]
    env_file(TELEGRAM + "DATABASE_URL=postgresql://hantu@localhost:5432/hantu_quant\n")
    assert not validate_environment().passed  # no .pgpass yet
    pgpass()
    report = validate_environment()
    assert report.passed and report.uses_postgres
    assert "✓ DATABASE_URL: Set" in lines(report)


def test_db_parts_required_with_db_host(env_file, pgpass) -> None:  # type: ignore[no-untyped-def]
    env_file("DB_HOST=localhost\n" + TELEGRAM)
    pgpass()
    report = validate_environment()
    assert set(report.missing_required) == {"DB_USER", "DB_NAME"}


def test_mode_kis_requires_keys_and_public_host_requires_api_key(env_file) -> None:  # type: ignore[no-untyped-def]
    env_file(TELEGRAM + "TRADING_MODE=kis\nAPI_HOST=0.0.0.0\n")
    report = validate_environment()
    assert set(report.missing_required) == {
        "KIS_APP_KEY",
        "KIS_APP_SECRET",
        "KIS_ACCOUNT_NO",
        "API_SERVER_KEY",
    }


def test_invalid_values_and_loose_env_mode_are_listed_all_at_once(env_file) -> None:  # type: ignore[no-untyped-def]
    env_file(TELEGRAM + "ACCOUNT_NUMBER=12-3\nAPI_PORT=99999\n", mode=0o644)
    report = validate_environment()
    failed = {c.name for c in report.failures}
    assert {"ACCOUNT_NUMBER", "API_PORT", ".env"} <= failed
    assert any("chmod 600" in c.message for c in report.failures if c.name == ".env")


def test_script_output_and_exit_codes(env_file, pgpass, script_env: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    path = env_file(POSTGRES + TELEGRAM)
    script_env["HANTU_ENV_FILE"] = str(path)
    failed = run_script(SCRIPT, env=script_env)
    assert failed.returncode == 1 and "✗ .pgpass" in failed.stdout and "Validation: FAILED" in failed.stdout
    pgpass()
    passed = run_script(SCRIPT, env=script_env)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert passed.stdout.rstrip().endswith("Validation: PASSED")
    assert "123456:abcdefgh" not in passed.stdout  # values are never printed
