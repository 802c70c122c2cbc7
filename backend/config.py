"""Settings read from the environment and `.env`, plus helpers that keep secrets out of logs."""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import cached_property, lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from backend.complaints.sla import HolidayCalendar

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
    # Public holidays (and China's make-up working days) from the `holidays` package; "" or "none": none.
    holidays_country: str = "CN"
    # Comma-separated ISO dates to add: days the carrier is closed, and days it works (a schedule the
    # installed package does not know yet).
    holidays_extra: str = ""
    workdays_extra: str = ""
    app_env: Literal["development", "production"] = "development"

    # The hub talks to Rasa's `hub` input channel with this shared secret (make run generates one into
    # var/rasa_channel_secret when unset); Rasa's REST channel asks for it too.
    rasa_channel_secret: str | None = None
    # Longer than this and Rasa or the action server counts as down for this message.
    rasa_timeout_s: float = 10.0
    # A turn Rasa did not answer in time is tried once more after this pause, then shown to agents.
    rasa_retry_pause_s: float = 1.0
    # At most this many of this process's turns are with Rasa at once; in a surge the others wait their
    # place in the hub (what TURN_LEASE_S leaves after two tries) instead of slowing every turn in Rasa.
    rasa_concurrency: int = Field(default=16, ge=1)
    # How long one process may work on a shipper's message before another takes it up (more than two
    # tries of RASA_TIMEOUT_S), and how often each backend looks for turns left past their lease; 0: off.
    turn_lease_s: float = 60.0
    turn_sweep_interval_s: float = 15.0

    # Telegram: off unless a token is set; polling for local use, webhook in production.
    telegram_mode: Literal["polling", "webhook", "off"] | None = None
    telegram_bot_token: str | None = None
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: str | None = None
    # python-telegram-bot's base_url (tests point it at a fake Bot API server on loopback).
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    # A stored webhook update still unprocessed this long after a process took it is taken again (that
    # process is presumed dead); every TELEGRAM_REPLAY_INTERVAL_S each process looks for such updates.
    telegram_update_lease_s: float = 120.0
    telegram_replay_interval_s: float = 30.0
    # Telegram's flood limit is per bot (about 30 messages a second); each process limits itself to
    # TELEGRAM_MAX_MESSAGES_PER_S / TELEGRAM_PROCESSES, so set TELEGRAM_PROCESSES to the number of
    # backend processes that send for the same bot.
    telegram_max_messages_per_s: float = 30.0
    # Polling runs in one process at a time, the holder of a leader lock (Redis, PostgreSQL or a file);
    # a holder that dies loses a Redis lock after this long. The others retry every third of it.
    telegram_poller_lock_ttl_s: float = 15.0
    telegram_processes: int = 1

    # Redis, for several backend processes: live events reach every process (backend.hub.broker).
    # Unset: one process, events in memory.
    redis_url: str | None = None
    # The prefix of this deployment's keys in Redis (the turn locks), so two deployments can share one.
    redis_key_prefix: str = "carrier:"

    # The production profile's processes (make run-prod, a deployment), comma-separated base URLs:
    # /api/health lists each with its state. Unset for one process of each (make run).
    backend_urls: str = ""
    rasa_urls: str = ""
    action_server_urls: str = ""

    # Signs the web widget's conversation ids (make run generates var/web_session_secret when unset).
    web_session_secret: str | None = None
    # Photos and other files shippers send, kept where every backend process reaches them (backend.storage):
    # `directory` (UPLOAD_DIR; with backends on several machines a mount they all share) or `s3` (a
    # bucket of any S3-compatible service: S3_BUCKET at S3_ENDPOINT_URL, AWS itself when unset).
    upload_store: Literal["directory", "s3"] = "directory"
    upload_dir: Path = PROJECT_ROOT / "var" / "uploads"
    upload_max_bytes: int = 10 * 1024 * 1024
    s3_endpoint_url: str | None = None
    s3_bucket: str | None = None
    s3_region: str = "us-east-1"
    # Both or neither: without them boto3 looks for credentials itself (an instance role, ~/.aws).
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    # Put before every object's key ("carrier/uploads/"), so that one bucket can serve several uses.
    s3_key_prefix: str = ""

    # Budgets on the public doors (backend.security.limits), per window; 0 turns one off. Generous for a
    # person, small for a script: a shipper types far fewer than 20 messages a minute.
    limit_sessions_per_address_hour: int = 60
    limit_messages_per_conversation_minute: int = 20
    limit_messages_per_address_minute: int = 120
    limit_uploads_per_conversation_day: int = 30
    limit_upload_mb_per_conversation_day: int = 100

    # Peers whose X-Forwarded-For is believed (comma-separated addresses or networks, "*" for any): the
    # reverse proxy in front (nginx on the same machine by default). The console's login throttle counts
    # the address it forwards; from anyone else the header is ignored. Keep it equal to uvicorn's
    # --forwarded-allow-ips.
    trusted_proxies: str = "127.0.0.1,::1"

    # Signs the console's login form (CSRF); WEB_SESSION_SECRET is used when unset.
    session_secret: str | None = None
    # A console login ends after this long without a request, and this long after it began in any case.
    console_idle_minutes: int = 120
    console_session_hours: int = 12
    # The console's language for an agent who has not chosen one and whose browser asks for neither
    # Chinese nor English: this carrier's agents read Chinese.
    console_language: Literal["zh", "en"] = "zh"
    # Seconds between two runs of the SLA watch (breach events on tickets); 0 turns it off.
    sla_watch_interval_s: float = 60.0

    # --- i19c: customer classes (ABC analysis, backend.services.customer_classes) ---
    # Class A is the accounts that make up the first CUSTOMER_CLASS_A_SHARE of revenue (the account that
    # crosses the line included), B the next ones up to CUSTOMER_CLASS_B_SHARE, C the rest.
    customer_class_a_share: float = 0.70
    customer_class_b_share: float = 0.90
    # The monthly recomputation in the backend (once per calendar month on the carrier's clock, however
    # many backend processes run); false turns it off (the CLI `recompute-classes` still works).
    customer_classes_job: bool = True
    # How often a backend looks whether this month's recomputation has run yet.
    customer_classes_check_s: float = 3600.0

    @model_validator(mode="after")
    def _customer_class_settings(self) -> Settings:
        if not 0 < self.customer_class_a_share < self.customer_class_b_share <= 1:
            raise ValueError(
                "CUSTOMER_CLASS_A_SHARE and CUSTOMER_CLASS_B_SHARE must satisfy 0 < A < B <= 1 (got "
                f"{self.customer_class_a_share} and {self.customer_class_b_share})"
            )
        if self.customer_classes_check_s <= 0:
            raise ValueError("CUSTOMER_CLASSES_CHECK_S must be a positive number of seconds")
        return self

    # --- end i19c
    # --- i19w: signed webhooks ---
    # Seconds between two looks at the webhook outbox (backend.services.webhook_delivery); 0 turns the
    # sender off in this process (another process may send).
    webhook_poll_interval_s: float = 2.0
    # --- i19i: bulk import (POST /api/v1/import); a larger file goes through `python -m backend import`.
    import_max_mb: float = 100.0
    # --- i20o: customer owners (backend.services.ownership). An owned customer's escalation waits this
    # long for its owner before every agent sees it in the queue (at once when the owner is away).
    owner_first_s: float = 180.0
    # How often the offer watch records offers that ran out and redraws the queues (0: off).
    owner_offer_check_s: float = 10.0
    # --- i20v: the weekly volume watch and the weekly shipment statistics (backend.services.volume_watch)
    # A customer's last complete ISO week (carrier's clock) against the mean of this many weeks before it.
    volume_watch_weeks: int = 4
    # A drop of more than this share of that mean flags the customer for a care call.
    volume_drop_share: float = 0.3
    # Fewer shipments than this in the trailing weeks: too little history to call anything a drop.
    volume_watch_min_shipments: int = 8
    # The weekly run in the backend (once per ISO week, however many backend processes run); false turns
    # it off (the CLI `volume-watch` still works). How often a backend looks whether it is due.
    volume_watch_job: bool = True
    volume_watch_check_s: float = 3600.0

    @model_validator(mode="after")
    def _volume_watch_settings(self) -> Settings:
        if self.volume_watch_weeks < 1 or self.volume_watch_min_shipments < 0:
            raise ValueError("VOLUME_WATCH_WEEKS must be 1 or more, VOLUME_WATCH_MIN_SHIPMENTS 0 or more")
        if not 0 < self.volume_drop_share < 1:
            raise ValueError(f"VOLUME_DROP_SHARE must be between 0 and 1 (got {self.volume_drop_share})")
        if self.volume_watch_check_s <= 0:
            raise ValueError("VOLUME_WATCH_CHECK_S must be a positive number of seconds")
        return self

    # --- end i20v
    # --- i20a: care campaigns (backend.services.care). A customer with at least this many shipments in the
    # four complete ISO weeks before is large-volume: required, like A-class, to be followed up each period.
    care_large_volume_shipments: int = 100
    # The backend opens the current period of every running campaign once (however many processes run);
    # false turns it off (the CLI `care-open` still works). How often a backend looks whether one is due.
    care_open_job: bool = True
    care_open_check_s: float = 900.0

    @model_validator(mode="after")
    def _care_settings(self) -> Settings:
        if self.care_large_volume_shipments < 1:
            raise ValueError("CARE_LARGE_VOLUME_SHIPMENTS must be 1 or more")
        if self.care_open_check_s <= 0:
            raise ValueError("CARE_OPEN_CHECK_S must be a positive number of seconds")
        return self

    # --- end i20a

    # --- i20m: follow-up by message (backend.services.care_watch): seconds between two runs sending message
    # campaigns' due follow-up scripts (outside QUIET_HOURS); 0 turns it off.
    care_message_check_s: float = Field(default=60.0, ge=0)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            return None
        if value is not None and not value.startswith(("redis://", "rediss://")):
            raise ValueError("REDIS_URL must start with redis:// or rediss://")
        return value

    @field_validator("s3_endpoint_url", "s3_bucket", "s3_access_key_id", "s3_secret_access_key")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @field_validator("s3_region")
    @classmethod
    def _region(cls, value: str) -> str:
        # An empty S3_REGION (a compose file's default) is the usual one, not a region named "".
        return value.strip() or "us-east-1"

    @field_validator("s3_endpoint_url")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"S3_ENDPOINT_URL must be an http:// or https:// address; got {value!r}")
        if parts.username or parts.password:
            # Never echoed: the value holds a secret.
            raise ValueError(
                "S3_ENDPOINT_URL must not hold credentials: use S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY"
            )
        return value.rstrip("/")

    @field_validator("s3_bucket")
    @classmethod
    def _bucket_name(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", value):
            raise ValueError(f"S3_BUCKET must be a bucket name (3-63 of a-z, 0-9, '.', '-'); got {value!r}")
        return value

    @field_validator("s3_key_prefix")
    @classmethod
    def _key_prefix(cls, value: str) -> str:
        if value.startswith("/") or "\\" in value or ".." in value.split("/"):
            raise ValueError(f"S3_KEY_PREFIX must be relative, like carrier/uploads/; got {value!r}")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_list(cls, value: str) -> str:
        try:
            _networks(value)
        except ValueError as exc:
            raise ValueError(
                f"TRUSTED_PROXIES: expected addresses or networks like 10.0.0.0/8; got {value!r}"
            ) from exc
        return value

    @field_validator("business_days")
    @classmethod
    def _weekday_list(cls, value: str) -> str:
        days = [part.strip() for part in value.split(",") if part.strip()]
        if not days or any(not d.isdigit() or not 0 <= int(d) <= 6 for d in days):
            raise ValueError("business_days must be comma-separated weekdays 0 (Monday) to 6 (Sunday)")
        return ",".join(days)

    @field_validator("holidays_extra", "workdays_extra")
    @classmethod
    def _date_list(cls, value: str) -> str:
        try:
            _dates(value)
        except ValueError as exc:
            raise ValueError(f"expected comma-separated dates like 2027-02-07; got {value!r}") from exc
        return value

    @field_validator("holidays_country")
    @classmethod
    def _known_country(cls, value: str) -> str:
        value = value.strip()
        if value.lower() in ("", "none"):
            return ""
        # The package's registry of codes, not holidays.list_supported_countries(): that one imports every
        # country's module (about 280 modules, 7 to 9 MiB in each process that reads the settings, the
        # action server included) to list their subdivisions. Same codes, aliases included; the calendar
        # imports the countries when it first needs the one configured.
        from holidays.registry import EntityLoader

        if value.upper() not in EntityLoader.get_country_codes():
            raise ValueError(f"the holidays package knows no country {value!r}")
        return value.upper()

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
            # Rasa's HTTP API (tracker reads, hand-back) is open to anyone on the host without it.
            if is_placeholder(self.rasa_token):
                raise ValueError("RASA_TOKEN is missing or a placeholder; refusing to start in production")
            if self.effective_telegram_mode == "polling":
                # Polling runs once per bot: with several backends two pollers would fight over updates.
                raise ValueError("TELEGRAM_MODE must be webhook or off in production (polling: local use)")
            # Optional, but a value that is set must be a real one.
            for name in ("session_secret",):
                if getattr(self, name) is not None and is_placeholder(getattr(self, name)):
                    raise ValueError(f"{name.upper()} is a placeholder; refusing to start in production")
        if self.upload_store == "s3":
            if self.s3_bucket is None:
                raise ValueError("UPLOAD_STORE=s3 needs S3_BUCKET (and S3_ENDPOINT_URL unless it is AWS)")
            if (self.s3_access_key_id is None) != (self.s3_secret_access_key is None):
                raise ValueError("set both S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY, or neither")
        if self.upload_max_bytes <= 0:
            raise ValueError("UPLOAD_MAX_BYTES must be a positive number of bytes")
        if self.console_idle_minutes <= 0 or self.console_session_hours <= 0:
            raise ValueError("CONSOLE_IDLE_MINUTES and CONSOLE_SESSION_HOURS must be positive")
        limits = [name for name in type(self).model_fields if name.startswith("limit_")]
        if any(getattr(self, name) < 0 for name in limits):
            raise ValueError("the LIMIT_* settings are counts: 0 (no limit) or more")
        if self.sla_watch_interval_s < 0:
            raise ValueError("SLA_WATCH_INTERVAL_S must be 0 (off) or a number of seconds")
        if self.telegram_processes < 1 or self.telegram_max_messages_per_s <= 0:
            raise ValueError("TELEGRAM_PROCESSES must be 1 or more, TELEGRAM_MAX_MESSAGES_PER_S positive")
        if (
            min(
                self.telegram_update_lease_s, self.telegram_replay_interval_s, self.telegram_poller_lock_ttl_s
            )
            <= 0
        ):
            raise ValueError(
                "TELEGRAM_UPDATE_LEASE_S, TELEGRAM_REPLAY_INTERVAL_S and TELEGRAM_POLLER_LOCK_TTL_S must be "
                "positive"
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

    @cached_property
    def proxy_networks(self) -> tuple[IPv4Network | IPv6Network, ...] | None:
        """The networks of TRUSTED_PROXIES; None when every peer is trusted ("*")."""
        return _networks(self.trusted_proxies)

    @property
    def process_pools(self) -> dict[str, list[str]]:
        """The listed processes by kind (`backends`, `rasa`, `actions`); empty when none are listed."""
        pools = {
            "backends": self.backend_urls,
            "rasa": self.rasa_urls,
            "actions": self.action_server_urls,
        }
        return {
            kind: [url.strip().rstrip("/") for url in urls.split(",") if url.strip()]
            for kind, urls in pools.items()
            if urls.strip()
        }

    @property
    def tz(self) -> ZoneInfo:
        """The carrier's time zone."""
        return ZoneInfo(self.timezone)

    @property
    def business_weekdays(self) -> frozenset[int]:
        """Weekdays (Monday = 0) on which agents work."""
        return frozenset(int(d) for d in self.business_days.split(","))

    @cached_property
    def holiday_calendar(self) -> HolidayCalendar:
        """Days off and make-up working days: the country's public calendar plus the extra dates."""
        return HolidayCalendar(
            country=self.holidays_country or None,
            extra_days_off=_dates(self.holidays_extra),
            extra_workdays=_dates(self.workdays_extra),
        )

    @property
    def console_secret(self) -> str | None:
        """The key of the console's login-form tokens: SESSION_SECRET, else WEB_SESSION_SECRET."""
        return self.session_secret or self.web_session_secret

    # --- i19n: proactive notices (backend.services.notices) ---
    # When shippers are never disturbed (seed 001: not while the customer rests), in the carrier's time
    # zone: "HH:MM-HH:MM" (may wrap past midnight), or "off". A notice due then waits for the end of it.
    quiet_hours: str = "21:00-08:00"
    # Seconds between two runs of the notice watch (new scans, late shipments, due notices); 0: off.
    notice_watch_interval_s: float = 5.0
    # A conversation hears about a waybill for this many days after it last asked about it.
    notice_inquiry_days: int = 14

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str) -> str:
        from backend.services.notices import parse_quiet_hours

        parse_quiet_hours(value)  # raises ValueError with one clear line
        return value.strip()

    @field_validator("notice_watch_interval_s")
    @classmethod
    def _notice_interval(cls, value: float) -> float:
        if value < 0:
            raise ValueError("NOTICE_WATCH_INTERVAL_S must be 0 (off) or a number of seconds")
        return value

    @field_validator("notice_inquiry_days")
    @classmethod
    def _inquiry_days(cls, value: int) -> int:
        if value < 1:
            raise ValueError("NOTICE_INQUIRY_DAYS must be 1 or more")
        return value


def _dates(value: str) -> frozenset[date]:
    """Comma-separated ISO dates as a set."""
    return frozenset(date.fromisoformat(part.strip()) for part in value.split(",") if part.strip())


def is_placeholder(secret: str | None) -> bool:
    """True when a secret is unset, an example value, or too short to be one."""
    if secret is None:
        return True
    stripped = secret.strip()
    lowered = stripped.lower()
    # "change-me-..." in any spelling is an example someone forgot to replace.
    if lowered.replace("_", "-").startswith(("change-me", "changeme")):
        return True
    return lowered in PLACEHOLDER_SECRETS or len(stripped) < 16


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


def _networks(value: str) -> tuple[IPv4Network | IPv6Network, ...] | None:
    """Comma-separated addresses or networks as networks; None for "*" (any peer)."""
    parts = [part.strip() for part in value.split(",") if part.strip()]
    if "*" in parts:
        return None
    return tuple(ip_network(part, strict=False) for part in parts)
