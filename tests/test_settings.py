"""Settings: the environment decides, and production refuses unsafe defaults."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gongshu.settings import DEFAULT_SECRET_KEY, Settings


def test_production_refuses_the_default_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GONGSHU_ENV", "production")
    monkeypatch.setenv("GONGSHU_SECRET_KEY", DEFAULT_SECRET_KEY)
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings()


def test_production_refuses_a_short_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GONGSHU_ENV", "production")
    monkeypatch.setenv("GONGSHU_SECRET_KEY", "short")
    with pytest.raises(ValidationError):
        Settings()


def test_production_with_a_real_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GONGSHU_ENV", "production")
    monkeypatch.setenv("GONGSHU_SECRET_KEY", "k" * 48)
    monkeypatch.setenv("GONGSHU_ARGON2_PROFILE", "default")
    monkeypatch.setenv("GONGSHU_MASKING_KEY", "m" * 40)
    settings = Settings()
    assert settings.admin_totp_required is True


def test_default_database_is_sqlite_under_the_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.delenv("GONGSHU_DATABASE_URL", raising=False)
    monkeypatch.setenv("GONGSHU_DATA_DIR", str(tmp_path))
    settings = Settings()
    assert settings.sqlalchemy_url == f"sqlite:///{tmp_path}/gongshu.db"
    assert settings.admin_totp_required is False


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GONGSHU_SESSION_TIMEOUT_MINUTES", "5")
    monkeypatch.setenv("GONGSHU_DEFAULT_LANGUAGE", "en")
    settings = Settings()
    assert settings.session_timeout_minutes == 5
    assert settings.default_language == "en"


def test_production_requires_a_masking_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GONGSHU_ENV", "production")
    monkeypatch.setenv("GONGSHU_SECRET_KEY", "k" * 48)
    monkeypatch.setenv("GONGSHU_ARGON2_PROFILE", "default")
    monkeypatch.delenv("GONGSHU_MASKING_KEY", raising=False)
    with pytest.raises(ValidationError, match="MASKING_KEY"):
        Settings()
    monkeypatch.setenv("GONGSHU_MASKING_KEY", "m" * 40)
    assert Settings().masking_secret == b"m" * 40
