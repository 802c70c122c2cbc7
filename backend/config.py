"""Settings read from the environment and `.env`, plus helpers that keep secrets out of logs."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = f"sqlite:///{PROJECT_ROOT / 'var' / 'app.db'}"

# Values people paste from examples; a production deployment must not run with any of them.
PLACEHOLDER_SECRETS = frozenset(
    {
        "",
        "changeme",
        "change-me",
        "change_me",
        "placeholder",
        "secret",
        "token",
        "xxx",
        "todo",
        "your-token-here",
        "change-me-to-a-long-random-string",
        "change-me-too",
    }
)


class Settings(BaseSettings):
    """Everything configurable, from environment variables (case-insensitive) or `.env` at the root."""

    model_config = SettingsConfigDict(
        env_file=PROJECT_ROOT / ".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = DEFAULT_DATABASE_URL
    api_token: str | None = None
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: str | None = None
    action_server_url: str = "http://127.0.0.1:5055"
    timezone: str = "Asia/Shanghai"
    business_hours_start: int = 9
    business_hours_end: int = 18
    business_days: str = "0,1,2,3,4"
    app_env: Literal["development", "production"] = "development"

    # The hub talks to Rasa's `hub` input channel with this shared secret (make run generates one into
    # var/rasa_channel_secret when unset); Rasa's REST channel asks for it too.
    rasa_channel_secret: str | None = None
    # Longer than this and Rasa or the action server counts as down for this message.
    rasa_timeout_s: float = 10.0

    # Telegram: off unless a token is set; polling for local use, webhook in production.
    telegram_mode: Literal["polling", "webhook", "off"] | None = None
    telegram_bot_token: str | None = None
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: str | None = None
    # python-telegram-bot's base_url (tests point it at a fake Bot API server on loopback).
    telegram_api_base_url: str = "https://api.telegram.org/bot"

    # Signs the web widget's conversation ids (make run generates var/web_session_secret when unset).
    web_session_secret: str | None = None
    # Photos and other files shippers send.
    upload_dir: Path = PROJECT_ROOT / "var" / "uploads"
    upload_max_bytes: int = 10 * 1024 * 1024

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("business_days")
    @classmethod
    def _weekday_list(cls, value: str) -> str:
        days = [part.strip() for part in value.split(",") if part.strip()]
        if not days or any(not d.isdigit() or not 0 <= int(d) <= 6 for d in days):
            raise ValueError("business_days must be comma-separated weekdays 0 (Monday) to 6 (Sunday)")
        return ",".join(days)

    @model_validator(mode="after")
    def _sane(self) -> Settings:
        if not 0 <= self.business_hours_start < self.business_hours_end <= 24:
            raise ValueError("business hours must satisfy 0 <= start < end <= 24")
        if self.app_env == "production":
            for name in ("api_token", "rasa_channel_secret", "web_session_secret"):
                if is_placeholder(getattr(self, name)):
                    raise ValueError(
                        f"{name.upper()} is missing or a placeholder; refusing to start in production"
                    )
        if self.effective_telegram_mode == "webhook" and is_placeholder(self.telegram_webhook_secret):
            raise ValueError("TELEGRAM_MODE=webhook needs a TELEGRAM_WEBHOOK_SECRET of 16 or more characters")
        return self

    @property
    def effective_telegram_mode(self) -> str:
        """The Telegram mode in force: `off` without a token, polling by default with one."""
        if not self.telegram_bot_token:
            return "off"
        return self.telegram_mode or "polling"

    @property
    def tz(self) -> ZoneInfo:
        """The carrier's time zone."""
        return ZoneInfo(self.timezone)

    @property
    def business_weekdays(self) -> frozenset[int]:
        """Weekdays (Monday = 0) on which agents work."""
        return frozenset(int(d) for d in self.business_days.split(","))


def is_placeholder(secret: str | None) -> bool:
    """True when a secret is unset, an example value, or too short to be one."""
    if secret is None:
        return True
    stripped = secret.strip()
    return stripped.lower() in PLACEHOLDER_SECRETS or len(stripped) < 16


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once on first use (never at import time)."""
    return Settings()


def carrier_tz() -> ZoneInfo:
    """The configured carrier time zone."""
    return get_settings().tz


def carrier_today(now: datetime | None = None) -> date:
    """Today's date in the carrier's time zone."""
    tz = carrier_tz()
    return (now.astimezone(tz) if now is not None else datetime.now(tz)).date()


def mask(value: str | None, keep: int = 4) -> str:
    """Hide a secret or phone number for logs, keeping only its last `keep` characters."""
    if not value:
        return "<unset>"
    if len(value) <= keep * 2:
        # Short values would be half revealed by their tail; hide them entirely.
        return "****"
    return "****" + value[-keep:]
