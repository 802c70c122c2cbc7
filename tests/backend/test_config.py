from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from backend.config import DEFAULT_DATABASE_URL, PROJECT_ROOT, Settings


def make(**kwargs: Any) -> Settings:
    return Settings(_env_file=None, **kwargs)  # type: ignore[call-arg]


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "API_TOKEN", "APP_ENV", "TIMEZONE", "RASA_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = make()
    assert settings.database_url == DEFAULT_DATABASE_URL == f"sqlite:///{PROJECT_ROOT / 'var' / 'app.db'}"
    assert settings.rasa_url == "http://127.0.0.1:5005"
    assert settings.action_server_url == "http://127.0.0.1:5055"
    assert settings.timezone == "Asia/Shanghai"
    assert settings.business_weekdays == frozenset({0, 1, 2, 3, 4})
    assert settings.app_env == "development"


def test_reads_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_TOKEN", "from-the-environment-123")
    monkeypatch.setenv("BUSINESS_DAYS", "0, 1, 2, 3, 4, 5")
    settings = make()
    assert settings.api_token == "from-the-environment-123"
    assert settings.business_weekdays == frozenset(range(6))


@pytest.mark.parametrize("token", [None, "", "changeme", "short"])
def test_production_refuses_placeholder_token(token: str | None) -> None:
    with pytest.raises(ValidationError, match="API_TOKEN"):
        make(app_env="production", api_token=token)


REAL_SECRETS = {
    "api_token": "k3J9-a-real-random-token",
    "rasa_channel_secret": "Qv8-another-real-secret",
    "rasa_token": "Rt5-a-fourth-real-secret",
    "web_session_secret": "Zp2-a-third-real-secret",
}


def test_production_accepts_real_secrets() -> None:
    assert make(app_env="production", **REAL_SECRETS).app_env == "production"


@pytest.mark.parametrize("name", ["rasa_channel_secret", "web_session_secret"])
@pytest.mark.parametrize("value", [None, "change-me-too", "short"])
def test_production_refuses_placeholder_hub_secrets(name: str, value: str | None) -> None:
    with pytest.raises(ValidationError, match=name.upper()):
        make(app_env="production", **{**REAL_SECRETS, name: value})


@pytest.mark.parametrize("value", [None, "changeme", "short"])
def test_production_refuses_to_start_without_a_real_rasa_token(value: str | None) -> None:
    with pytest.raises(ValidationError, match="RASA_TOKEN"):
        make(app_env="production", **{**REAL_SECRETS, "rasa_token": value})


@pytest.mark.parametrize("mode", [None, "polling"])
def test_production_refuses_telegram_polling(mode: str | None) -> None:
    with pytest.raises(ValidationError, match="TELEGRAM_MODE must be webhook"):
        make(app_env="production", **REAL_SECRETS, telegram_bot_token="123:abc", telegram_mode=mode)
    webhook = make(
        app_env="production",
        **REAL_SECRETS,
        telegram_bot_token="123:abc",
        telegram_mode="webhook",
        telegram_webhook_secret="a-webhook-secret-of-some-length",
    )
    assert webhook.effective_telegram_mode == "webhook"


def test_telegram_is_off_without_a_token() -> None:
    assert make(telegram_mode="polling").effective_telegram_mode == "off"
    assert make(telegram_bot_token="123:abc").effective_telegram_mode == "polling"


def test_telegram_webhook_needs_a_secret() -> None:
    with pytest.raises(ValidationError, match="TELEGRAM_WEBHOOK_SECRET"):
        make(telegram_bot_token="123:abc", telegram_mode="webhook")
    settings = make(telegram_bot_token="123:abc", telegram_mode="webhook", telegram_webhook_secret="s" * 20)
    assert settings.effective_telegram_mode == "webhook"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"timezone": "Mars/Olympus"},
        {"business_days": "1,8"},
        {"business_hours_start": 18, "business_hours_end": 9},
    ],
)
def test_rejects_bad_values(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        make(**kwargs)
