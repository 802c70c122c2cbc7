"""An owned customer's escalation is offered to the owner first: other agents see it after OWNER_FIRST_S,
or at once when the owner is away; supervisors always see it. The clock is moved, never slept."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from backend import clock
from backend.db import session_scope
from backend.hub.broker import AGENTS_TOPIC, make_broker
from backend.models import AuditEvent, Conversation, Customer, utcnow
from backend.services import conversations as conv
from backend.services import ownership
from backend.services.handoff import request_person
from tests.backend.console.clients import Console
from tests.backend.factories import a_ticket, new_account

# A seeded A-class customer; the test gives it an owner and takes it away again afterwards.
CUSTOMER = "C004"
BOSS = "supervisor:t20o-routing"


@pytest.fixture
def made(db_factory: sessionmaker[Session]) -> Iterator[list[str]]:
    """The conversations a test made: handed back to the bot afterwards, and the customer's owner removed,
    so the shared seeded database holds nothing waiting or owned from here."""
    conversations: list[str] = []
    yield conversations
    with session_scope(db_factory) as session:
        session.execute(
            update(Conversation)
            .where(Conversation.id.in_(conversations))
            .values(state="bot", owner=None, **ownership.clear_offer_values())
        )
        customer = session.get(Customer, CUSTOMER)
        assert customer is not None
        customer.owner = customer.owner_since = None


def owned_by(factory: sessionmaker[Session], username: str) -> None:
    with session_scope(factory) as session:
        ownership.set_owner(session, CUSTOMER, username, actor=BOSS)


def asks_for_a_person(factory: sessionmaker[Session], made: list[str]) -> str:
    """A shipper who proved to be the customer asks for a person (the hand-over path)."""
    cid = f"web:{uuid.uuid4()}"
    made.append(cid)
    with session_scope(factory) as session:
        conv.record_message(
            session, conversation_id=cid, direction="in", sender="shipper", text="a person please"
        )
        conversation = session.get(Conversation, cid)
        assert conversation is not None
        conversation.verified_customer_id = CUSTOMER
        request_person(
            session,
            conversation_id=cid,
            request_id="r1",
            text="a person please",
            waybill=None,
            now=utcnow(),
            language="en",
        )
    return cid


def not_answered(factory: sessionmaker[Session], made: list[str]) -> str:
    """The bot could not answer a message about the customer's complaint (the queue-for-an-agent path)."""
    cid = f"web:{uuid.uuid4()}"
    made.append(cid)
    with session_scope(factory) as session:
        conv.record_message(session, conversation_id=cid, direction="in", sender="shipper", text="??")
        a_ticket(session, conversation_id=cid, status="escalated", customer_id=CUSTOMER, priority="P2")
        conv.mark_for_agent(session, conversation_id=cid, reason=conv.NOT_ANSWERED_REASON)
    return cid


def queue_ids(person: Console) -> set[str]:
    return {row["id"] for row in person.get("/console/api/queue").json()["conversations"]}


def audited(factory: sessionmaker[Session], cid: str) -> list[tuple[str, dict[str, object]]]:
    with session_scope(factory) as session:
        return [
            (e.action, dict(e.data or {}))
            for e in session.scalars(
                select(AuditEvent).where(AuditEvent.conversation_id == cid).order_by(AuditEvent.id)
            )
        ]


def later(monkeypatch: pytest.MonkeyPatch, seconds: float) -> datetime:
    """Move the ownership service's clock (backend.clock) forward."""
    moved = utcnow() + timedelta(seconds=seconds)
    monkeypatch.setattr(clock, "utcnow", lambda: moved)
    return moved


def test_an_owned_customers_escalation_reaches_the_owner_first_and_the_queue_after_the_timeout(
    people: dict[str, Console],
    db_factory: sessionmaker[Session],
    made: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alice, bob, sue = people["alice"], people["bob"], people["sue"]
    owned_by(db_factory, alice.username)
    cid = asks_for_a_person(db_factory, made)

    # The owner has it, marked as their customer, in both languages.
    assert cid in queue_ids(alice)
    page = alice.get("/console").text
    assert f'data-conversation="{cid}" data-state="queued" data-your-customer="true"' in page
    assert "Your customer" in page
    assert "您的客户" in alice.get("/console", headers={"Accept-Language": "zh-CN"}).text
    # Another agent does not see it, nor get it as the next conversation.
    assert cid not in queue_ids(bob)
    assert cid not in bob.get("/console").text
    assert cid not in bob.get("/console", params={"q": CUSTOMER}).text
    assert cid not in bob.get("/console/next").headers["location"]
    # A supervisor sees everything, with whom it is offered to.
    assert cid in queue_ids(sue)
    assert "Offered to the owner" in sue.get("/console").text
    assert "已优先交给负责人" in sue.get("/console", headers={"Accept-Language": "zh-CN"}).text
    assert audited(db_factory, cid)[-1][0] == ownership.OFFERED
    # Nothing to record while the offer stands.
    assert ownership.run_offer_watch(db_factory) == []

    # Just before the time is up: still the owner's alone; after it: everyone's.
    later(monkeypatch, ownership.owner_first_s() - 5)
    assert cid not in queue_ids(bob)
    later(monkeypatch, ownership.owner_first_s() + 1)
    assert cid in queue_ids(bob)
    assert "Your customer" not in bob.get("/console").text
    # The hand to the queue is audited once, however often the watch runs.
    assert cid in ownership.run_offer_watch(db_factory)
    assert cid not in ownership.run_offer_watch(db_factory)
    expired = [data for action, data in audited(db_factory, cid) if action == ownership.OFFER_EXPIRED]
    assert len(expired) == 1 and expired[0]["owner"] == alice.username
    assert expired[0]["why"] == "not claimed in time"


def test_an_owner_away_sends_it_to_the_queue_at_once(
    people: dict[str, Console], db_factory: sessionmaker[Session], made: list[str]
) -> None:
    alice, bob = people["alice"], people["bob"]
    # The owner set themselves away on the console.
    owned_by(db_factory, alice.username)
    with session_scope(db_factory) as session:
        ownership.set_away(session, alice.username, True)
    try:
        first = asks_for_a_person(db_factory, made)
        assert first in queue_ids(bob)
        assert audited(db_factory, first)[-1][0] == ownership.OFFER_SKIPPED
        # Back at the desk: the next escalation waits for them again (the not-answered path this time).
        with session_scope(db_factory) as session:
            ownership.set_away(session, alice.username, False)
        second = not_answered(db_factory, made)
        assert second in queue_ids(alice) and second not in queue_ids(bob)
        # Away in the middle of an offer: the others see it at once.
        with session_scope(db_factory) as session:
            ownership.set_away(session, alice.username, True)
        assert second in queue_ids(bob)
    finally:
        with session_scope(db_factory) as session:
            ownership.set_away(session, alice.username, False)

    # An owner with no live console session (never logged in, or idle past the window) is away too.
    absent, _password = new_account(db_factory, "agent")
    owned_by(db_factory, absent)
    third = asks_for_a_person(db_factory, made)
    assert third in queue_ids(bob) and third in queue_ids(alice)


def test_the_owner_claims_the_offer_and_a_release_goes_to_everyone(
    people: dict[str, Console], db_factory: sessionmaker[Session], made: list[str]
) -> None:
    alice, bob = people["alice"], people["bob"]
    owned_by(db_factory, alice.username)
    cid = asks_for_a_person(db_factory, made)
    assert alice.post(f"/console/api/conversations/{cid}/claim").status_code == 200
    assert alice.post(f"/console/api/conversations/{cid}/release").status_code == 200
    # Let go by the owner: a new wait for anyone, not another offer to the same person.
    assert cid in queue_ids(bob)
    with session_scope(db_factory) as session:
        released = session.get(Conversation, cid)
        assert released is not None and released.state == "queued" and released.offered_to is None
    assert cid not in ownership.run_offer_watch(db_factory)


def test_the_offer_watch_tells_every_console_when_an_offer_runs_out(
    people: dict[str, Console],
    db_factory: sessionmaker[Session],
    made: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    owned_by(db_factory, people["alice"].username)
    cid = asks_for_a_person(db_factory, made)
    later(monkeypatch, ownership.owner_first_s() + 1)

    async def watch() -> dict[str, object]:
        broker = make_broker(None)
        watcher = ownership.OfferWatcher(db_factory, broker, interval_s=0.05)
        async with broker.subscribe(AGENTS_TOPIC) as queue:
            watcher.start()
            try:
                return await asyncio.wait_for(queue.get(), timeout=10)
            finally:
                await watcher.stop()

    event = asyncio.run(watch())
    assert event["type"] == "offers_expired" and cid in event["conversation_ids"]  # type: ignore[operator]


@pytest.fixture
def owners_kept(db_factory: sessionmaker[Session]) -> Iterator[None]:
    """A balance from the page touches every customer of the shared database: their owners are put back."""
    with session_scope(db_factory) as session:
        before = dict(session.execute(select(Customer.id, Customer.owner)).tuples().all())
    yield
    with session_scope(db_factory) as session:
        for customer in session.scalars(select(Customer)):
            if customer.owner != before.get(customer.id):
                customer.owner = before.get(customer.id)
                customer.owner_since = None


def form(person: Console, path: str, **fields: str) -> object:
    return person.client.post(path, data={"csrf_token": person.csrf, **fields})


def test_supervisors_assign_and_balance_on_the_owners_page_in_both_languages(
    people: dict[str, Console], db_factory: sessionmaker[Session], made: list[str], owners_kept: None
) -> None:
    alice, sue = people["alice"], people["sue"]
    assert alice.get("/console/owners").status_code == 403
    page = sue.get("/console/owners").text
    assert (
        "Customer owners" in page
        and "Assign or transfer a customer" in page
        and "Preview the balance" in page
    )
    assert "客户负责人" in sue.get("/console/owners", headers={"Accept-Language": "zh-CN"}).text

    moved = form(sue, "/console/owners/assign", customer_id=CUSTOMER, owner=alice.username)
    assert moved.status_code == 303  # type: ignore[attr-defined]
    page = sue.get("/console/owners").text
    assert f'data-owner="{alice.username}"' in page
    # The customer page names the owner; the owner finds the customer under "My customers".
    assert "Agent " + alice.username in sue.get(f"/console/customers/{CUSTOMER}").text
    mine = alice.get("/console/my-customers")
    assert f'data-customer="{CUSTOMER}"' in mine.text and "My customers" in mine.text
    assert "我的客户" in alice.get("/console/my-customers", headers={"Accept-Language": "zh-CN"}).text
    with session_scope(db_factory) as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == ownership.ASSIGNED).order_by(AuditEvent.id.desc())
        ).first()
        assert events is not None and events.actor == f"supervisor:{sue.username}"
        assert events.data == {"customer": CUSTOMER, "from": None, "to": alice.username}

    refused = form(sue, "/console/owners/assign", customer_id=CUSTOMER, owner="nobody-like-this")
    assert "/console/owners?error=" in refused.headers["location"]  # type: ignore[attr-defined]

    # The balance: its moves first, then applied; every customer has an active agent afterwards.
    preview = sue.get("/console/owners", params={"preview": "true"}).text
    assert 'id="balance-plan"' in preview and "Apply the balance" in preview
    applied = form(sue, "/console/owners/balance")
    assert "moved=" in applied.headers["location"]  # type: ignore[attr-defined]
    with session_scope(db_factory) as session:
        active = set(ownership.eligible_agents(session))
        assert {c.owner for c in session.scalars(select(Customer))} <= active
        again = ownership.plan_balance(session)
    assert again.moves == []
    assert "balanced already" in sue.get("/console/owners", params={"preview": "true"}).text


def test_the_away_toggle_on_the_console(
    people: dict[str, Console], db_factory: sessionmaker[Session], made: list[str]
) -> None:
    alice, bob = people["alice"], people["bob"]
    owned_by(db_factory, alice.username)
    try:
        assert "I am away" in alice.get("/console").text
        away = form(alice, "/console/away", away="true", return_to="/console")
        assert away.headers["location"] == "/console"  # type: ignore[attr-defined]
        assert "I am back" in alice.get("/console").text
        assert "我回来了" in alice.get("/console", headers={"Accept-Language": "zh-CN"}).text
        cid = asks_for_a_person(db_factory, made)
        assert cid in queue_ids(bob)
    finally:
        form(alice, "/console/away", away="false")
    assert "I am away" in alice.get("/console/my-customers").text
