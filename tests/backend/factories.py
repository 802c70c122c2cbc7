"""What many backend tests build: settings, console accounts, tickets, queued complaints, demo facts."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from backend.complaints.remedies import Remedy, remedy_to_json
from backend.config import Settings
from backend.db import session_scope
from backend.i18n import Money, phrase
from backend.models import CareCampaign, CareTarget, Conversation, Customer, Ticket
from backend.security.accounts import create_agent
from backend.services import conversations as conv
from backend.services.tickets import open_ticket

CARRIER_TZ = ZoneInfo("Asia/Shanghai")
TOKEN = "test-token-0123456789abcdef"
CLOSED = "http://127.0.0.1:9"  # the discard port: nothing listens there

# The 14 scenario shipments of DEMO_DATA.md, written out rather than read from the seed under test.
DEMO_WAYBILLS = (
    "EA100000017CN",
    "EA100000025CN",
    "EA100000034CN",
    "EA100000048CN",
    "EA100000051CN",
    "EA100000065CN",
    "EA100000079CN",
    "EA100000082CN",
    "EA100000096CN",
    "EA100000105CN",
    "EA100000119CN",
    "EA100000122CN",
    "EA100000136CN",
    "EA100000140CN",
)


def carrier_today() -> date:
    """Today in the carrier's time zone: the day the test databases are seeded for."""
    return datetime.now(CARRIER_TZ).date()


def settings_for(url: str, **overrides: object) -> Settings:
    """Settings for an app on `url`, with a known API token, Rasa and the actions unreachable, no .env."""
    values: dict[str, object] = {
        "database_url": url,
        "api_token": TOKEN,
        "rasa_url": CLOSED,
        "action_server_url": CLOSED,
        "app_env": "development",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type,call-arg]


def new_account(
    factory: sessionmaker[Session],
    role: str = "agent",
    username: str | None = None,
    *,
    display_name: str | None = None,
    language: str | None = None,
) -> tuple[str, str]:
    """A console account with a random password: (username, password). `display_name` is the name the
    shipper sees (default "<Role> <username>"); `language` the console language the agent chose."""
    name = username or f"{role}-{uuid.uuid4().hex[:8]}"
    password = f"pw-{uuid.uuid4().hex}"
    with session_scope(factory) as session:
        agent = create_agent(
            session,
            username=name,
            password=password,
            role=role,
            display_name=display_name or f"{role.title()} {name}",
        )
        agent.language = language
    return name, password


def a_ticket(session: Session, **overrides: Any) -> Ticket:
    """An open complaint ticket the bot opened, without a conversation; `overrides` go to open_ticket."""
    values: dict[str, Any] = {
        "idempotency_key": f"test:{uuid.uuid4().hex}",
        "conversation_id": None,
        "kind": "complaint",
        "status": "open",
        "actor": "bot",
    }
    values.update(overrides)
    return open_ticket(session, **values)


VOUCHER = Remedy(
    "voucher",
    phrase("We'll add a voucher of {voucher} for this shipment.", voucher=Money(Decimal("36.00"))),
    Decimal("36.00"),
)


def queued_complaint(session: Session, *, priority: str = "P3", category: str = "delay") -> tuple[str, str]:
    """A web conversation queued for a person, with its escalated complaint ticket: (id, ticket number)."""
    cid = f"web:{uuid.uuid4()}"
    conv.record_message(session, conversation_id=cid, direction="in", sender="shipper", text="<b>help</b> me")
    ticket = a_ticket(
        session,
        idempotency_key=f"test:{cid}",
        conversation_id=cid,
        status="escalated",
        category=category,
        priority=priority,
        level="serious" if priority == "P1" else "general",
        waybill="EA100000034CN",
        stage_reached="negotiate",
        # As the bot offers it: the English text for the API, the code and facts for every reader.
        remedy_offered=VOUCHER.description,
        remedy_offered_facts=remedy_to_json(VOUCHER),
    )
    conv.mark_for_agent(session, conversation_id=cid, reason="customer refused 2 offer(s)")
    return cid, ticket.number


def escalated(
    factory: sessionmaker[Session], *, priority: str = "P3", category: str = "delay"
) -> tuple[str, str]:
    """queued_complaint in a transaction of its own (committed, so the app under test sees it)."""
    with session_scope(factory) as session:
        return queued_complaint(session, priority=priority, category=category)


def forget_customer(session: Session, customer_id: str) -> None:
    """Take a test's own customer out of the shared database again, with the care campaigns it was on.

    Other tests count the seeded customers; and a running campaign left behind would have the care jobs of
    every later app draw lists and write to chats that tests of other things are using.
    """
    campaigns = select(CareTarget.campaign_id).where(CareTarget.customer_id == customer_id)
    session.execute(delete(CareCampaign).where(CareCampaign.id.in_(list(session.scalars(campaigns)))))
    for column in (Conversation.customer_id, Conversation.verified_customer_id):
        session.execute(update(Conversation).where(column == customer_id).values({column.key: None}))
    session.execute(update(Ticket).where(Ticket.customer_id == customer_id).values(customer_id=None))
    session.execute(delete(Customer).where(Customer.id == customer_id))


def forget_customers_like(factory: sessionmaker[Session], prefix: str) -> None:
    """forget_customer for every customer whose id starts with `prefix` (a test module's own)."""
    with session_scope(factory) as session:
        for customer_id in list(session.scalars(select(Customer.id).where(Customer.id.like(f"{prefix}%")))):
            forget_customer(session, customer_id)


def forgets_customers_like(prefix: str) -> Callable[..., Iterator[None]]:
    """An autouse fixture for a test module (assign it to a module-level name): after each test that uses
    the shared database, the customers it made (ids `prefix`…) and their campaigns go again."""

    @pytest.fixture(autouse=True)
    def forget(request: pytest.FixtureRequest) -> Iterator[None]:
        yield
        if "db_factory" in request.fixturenames:
            forget_customers_like(request.getfixturevalue("db_factory"), prefix)

    return forget
