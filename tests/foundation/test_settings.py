from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from hantu.config.settings import load_settings


def test_defaults_need_nothing(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "none.env")
    assert settings.trading_mode == "paper"
    assert settings.server == "virtual"
    assert settings.api_host == "127.0.0.1" and settings.api_port == 8000
    assert not settings.is_real_money
    assert settings.resolved_database_url.startswith("sqlite:///")
    assert settings.resolved_database_url.endswith("hantu.db")


@pytest.mark.parametrize("raw", ["12345678-01", "1234567801", " 12345678-01 "])
def test_account_number_forms(raw: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCOUNT_NUMBER", raw)
    settings = load_settings(tmp_path / "none.env")
    assert settings.cano == "12345678"
    assert settings.account_product_code == "01"


def test_kis_aliases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIS_APP_KEY", "alias-key-123")
    monkeypatch.setenv("KIS_APP_SECRET", "alias-secret-456")
    monkeypatch.setenv("KIS_ACCOUNT_NO", "87654321-02")
    settings = load_settings(tmp_path / "none.env")
    assert settings.app_key is not None and settings.app_key.get_secret_value() == "alias-key-123"
    assert settings.app_secret is not None and settings.app_secret.get_secret_value() == "alias-secret-456"
    assert settings.cano == "87654321"


def test_env_file_read_and_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = tmp_path / ".env"
    env.write_text('APP_KEY="from-file-key"\nAPI_PORT="9001"\nLOG_LEVEL=debug\n')
    monkeypatch.setenv("API_PORT", "9100")
    settings = load_settings(env)
    assert settings.app_key is not None and settings.app_key.get_secret_value() == "from-file-key"
    assert settings.api_port == 9100
    assert settings.log_level == "DEBUG"


def test_secrets_hidden_in_repr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_SECRET", "very-secret-value-xyz")
    settings = load_settings(tmp_path / "none.env")
    assert "very-secret-value-xyz" not in repr(settings)
    assert "very-secret-value-xyz" in settings.secret_values()


def test_all_errors_reported_together(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_PORT", "not-a-port")
    monkeypatch.setenv("SERVER", "moon")
    monkeypatch.setenv("ACCOUNT_NUMBER", "12-3")
    monkeypatch.setenv("TRADING_MODE", "yolo")
    with pytest.raises(ValidationError) as info:
        load_settings(tmp_path / "none.env")
    locs = {str(e["loc"][0]).upper() for e in info.value.errors()}
    assert {"API_PORT", "SERVER", "ACCOUNT_NUMBER", "TRADING_MODE"} <= locs


def test_real_money_needs_both_switches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADING_MODE", "kis")
    monkeypatch.setenv("SERVER", "prod")
    assert not load_settings(tmp_path / "none.env").is_real_money
    monkeypatch.setenv("REAL_TRADING_ENABLED", "true")
    assert load_settings(tmp_path / "none.env").is_real_money
    monkeypatch.setenv("SERVER", "virtual")
    assert not load_settings(tmp_path / "none.env").is_real_money


def test_database_from_db_keys_and_pgpass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pgpass = tmp_path / "pgpass"
    pgpass.write_text("localhost:5432:hantu_quant:hantu:pa\\:ss@w/rd\n")
    pgpass.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    monkeypatch.setenv("DB_HOST", "localhost")
    monkeypatch.setenv("DB_USER", "hantu")
    monkeypatch.setenv("DB_NAME", "hantu_quant")
    settings = load_settings(tmp_path / "none.env")
    assert settings.uses_postgres
    assert settings.resolved_database_url == "postgresql+psycopg://hantu:pa%3Ass%40w%2Frd@localhost:5432/hantu_quant"
    assert "pa:ss@w/rd" in settings.secret_values()


def test_database_url_normalised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://u:pw@db:5433/x")
    settings = load_settings(tmp_path / "none.env")
    assert settings.resolved_database_url == "postgresql+psycopg://u:pw@db:5433/x"
    assert "pw" not in settings.secret_values()  # too short to mask safely
