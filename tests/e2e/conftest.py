"""The real product for end-to-end tests: trained model, Rasa server, action server, backend.

Everything runs on free ports with temporary SQLite databases, so a `make run` on the same machine
is not disturbed and no test sees another run's conversations.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db import make_engine
from backend.models import Customer, Shipment
from backend.services.shipments import get_shipment
from tests.fakes.telegram_api import FakeBotApi
from tools.stack import DEFAULT_MODEL, Stack

Talk = Callable[[str, str], list[str]]
# Where the stack tells Telegram to deliver updates (the fake only records it); tests post to the
# backend's own /telegram/webhook, playing Telegram.
TELEGRAM_WEBHOOK_URL = "https://care.example.com/telegram/webhook"


def stack_env(workdir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The backend's settings for a test stack: uploads in its own folder, and Telegram off unless the
    test turns it on, so that a developer's TELEGRAM_BOT_TOKEN (environment or .env) is never used."""
    return {"UPLOAD_DIR": str(workdir / "uploads"), "TELEGRAM_MODE": "off", **(extra or {})}


def telegram_env(api: FakeBotApi, mode: str, *, secret: str = "") -> dict[str, str]:
    """Telegram settings that point the backend's python-telegram-bot at a fake Bot API server."""
    env = {"TELEGRAM_MODE": mode, "TELEGRAM_BOT_TOKEN": api.token, "TELEGRAM_API_BASE_URL": api.base_url}
    if mode == "webhook":
        env.update(TELEGRAM_WEBHOOK_SECRET=secret, TELEGRAM_WEBHOOK_URL=TELEGRAM_WEBHOOK_URL)
    return env


def start_stack(workdir: Path, extra_env: dict[str, str] | None = None) -> Stack:
    """A running copy of the product on free ports with its own SQLite databases in `workdir`."""
    if not DEFAULT_MODEL.exists():
        pytest.fail(f"no trained model at {DEFAULT_MODEL}: run `make train` (make test does it first)")
    running = Stack.throwaway(workdir, stack_env(workdir, extra_env))
    running.start_seeded()
    return running


@pytest.fixture(scope="session")
def telegram_api() -> Iterator[FakeBotApi]:
    """The fake Bot API server the shared stack's Telegram channel talks to (started before it)."""
    with FakeBotApi() as api:
        yield api


@contextmanager
def telegram_stack(workdir: Path, api: FakeBotApi) -> Iterator[Stack]:
    """A running stack whose backend serves Telegram by webhook against the fake Bot API `api`."""
    running = start_stack(workdir, telegram_env(api, "webhook", secret=secrets.token_urlsafe(24)))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, telegram_api: FakeBotApi) -> Iterator[Stack]:
    """The shared stack; its backend serves Telegram in webhook mode against `telegram_api`."""
    with telegram_stack(tmp_path_factory.mktemp("stack"), telegram_api) as running:
        yield running


def rest_talk(stack: Stack) -> Talk:
    """Sends one message over Rasa's REST channel and returns the bot's texts."""

    def send(sender: str, message: str) -> list[str]:
        response = httpx.post(
            f"{stack.rasa_url}/webhooks/rest/webhook",
            json={"sender": sender, "message": message},
            headers=stack.rest_headers,
            timeout=60,
        )
        response.raise_for_status()
        return [reply.get("text", "") for reply in response.json()]

    return send


@pytest.fixture()
def talk(stack: Stack) -> Talk:
    return rest_talk(stack)


@pytest.fixture()
def sender() -> str:
    """A fresh conversation id, in the channel:id form of ARCHITECTURE.md."""
    return f"rest:{uuid.uuid4()}"


@pytest.fixture()
def api(stack: Stack) -> httpx.Client:
    """The backend's HTTP API with the bearer token."""
    return httpx.Client(
        base_url=stack.backend_url, headers={"Authorization": f"Bearer {stack.api_token}"}, timeout=10
    )


def carrier_today() -> date:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


DEMO_PREFIX = "EA1000"


def late_extra_shipments(stack: Stack, *, min_days: int) -> list[str]:
    """Seeded non-demo shipments of B or C customers, delivered at least `min_days` late, by number."""
    engine = make_engine(stack.database_url)
    try:
        with Session(engine) as session:
            candidates = session.scalars(
                select(Shipment.waybill)
                .join(Customer)
                .where(
                    Shipment.status == "delivered",
                    Shipment.force_majeure.is_(False),
                    Customer.customer_class != "A",
                    ~Shipment.waybill.startswith(DEMO_PREFIX),
                )
                .order_by(Shipment.waybill)
            ).all()
            return [
                w for w in candidates if (view := get_shipment(session, w)) and view.days_late >= min_days
            ]
    finally:
        engine.dispose()


def late_extra_shipment(stack: Stack) -> str:
    """A seeded non-demo shipment of a B or C customer, delivered two or more days late."""
    late = late_extra_shipments(stack, min_days=2)
    assert late, "the seed has no late extra shipment to complain about"
    return late[0]
