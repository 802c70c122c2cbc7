"""The real product for end-to-end tests: trained model, Rasa server, action server, backend.

Everything runs on free ports with temporary SQLite databases, so a `make run` on the same machine
is not disturbed and no test sees another run's conversations.
"""

from __future__ import annotations

import secrets
import socket
import uuid
from collections.abc import Callable, Iterator
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
from tools.stack import DEFAULT_MODEL, Stack

Talk = Callable[[str, str], list[str]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_stack(workdir: Path) -> Stack:
    """A running copy of the product on free ports with its own SQLite databases in `workdir`."""
    if not DEFAULT_MODEL.exists():
        pytest.fail(f"no trained model at {DEFAULT_MODEL}: run `make train` (make test does it first)")
    running = Stack(
        database_url=f"sqlite:///{workdir / 'app.db'}",
        tracker_url=f"sqlite:///{workdir / 'tracker.db'}",
        api_token=secrets.token_urlsafe(16),
        rasa_token=secrets.token_urlsafe(16),
        backend_port=free_port(),
        rasa_port=free_port(),
        actions_port=free_port(),
        workdir=workdir,
    )
    running.prepare_database()
    running.start()
    try:
        running.wait_healthy(timeout=300)
    except BaseException:
        running.stop()
        raise
    return running


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(tmp_path_factory.mktemp("stack"))
    try:
        yield running
    finally:
        running.stop()


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


def late_extra_shipment(stack: Stack) -> str:
    """A seeded non-demo shipment of a B or C customer, delivered two or more days late."""
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
            late = [w for w in candidates if (view := get_shipment(session, w)) and view.days_late >= 2]
    finally:
        engine.dispose()
    assert late, "the seed has no late extra shipment to complain about"
    return late[0]
