"""Console live streams hold only while their login does: logged out or deactivated, the words stop."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from backend.console.pages import LOGIN_RECHECK_S
from backend.db import session_scope
from backend.hub.broker import AGENTS_TOPIC, conversation_topic
from backend.hub.records import Inbound
from backend.models import Agent
from backend.services.conversations import parse_conversation_id
from tests.backend.console.clients import Console, client_for, log_in
from tests.backend.console.streams import LiveStream
from tests.backend.factories import escalated, new_account

# The stream must notice within its re-check period, plus time for a slow CI machine.
NOTICED_WITHIN_S = LOGIN_RECHECK_S + 5


@pytest.fixture
def alice(app: FastAPI, db_factory: sessionmaker[Session]) -> Iterator[Console]:
    account = new_account(db_factory, "agent")
    with client_for(app, headers={"Accept-Language": "en"}) as client:
        yield Console(client, log_in(client, account), account[0])


def _shipper_says(app: FastAPI, console: Console, conversation_id: str, text: str) -> None:
    """A shipper's message through the hub, as a channel hands it on (stored, then published)."""
    channel, external = parse_conversation_id(conversation_id)
    assert console.client.portal is not None
    inbound = Inbound(channel=channel, external_id=external, text=text)
    console.client.portal.call(app.state.hub.receive, inbound)


def _listening(app: FastAPI, topic: str) -> None:
    """Wait until the stream has subscribed (what is published before that is not its to show)."""
    deadline = time.monotonic() + 10
    while app.state.hub.broker.subscriber_count(topic) == 0:
        assert time.monotonic() < deadline, f"nobody subscribed to {topic}"
        time.sleep(0.02)


def _deactivate(db_factory: sessionmaker[Session], username: str) -> None:
    with session_scope(db_factory) as session:
        session.execute(update(Agent).where(Agent.username == username).values(active=False))


def test_a_logged_out_agent_stops_receiving_shipper_text(
    app: FastAPI, alice: Console, db_factory: sessionmaker[Session]
) -> None:
    cid, _ = escalated(db_factory)
    stream = LiveStream(alice.client, f"/console/events/conversations/{cid}")
    try:
        _listening(app, conversation_topic(cid))
        _shipper_says(app, alice, cid, "The box arrived wet")
        assert stream.read_until("The box arrived wet"), stream.text
        stream.read_for(0.2)
        assert stream.status == 200
        assert alice.post("/console/logout").status_code == 303
        _shipper_says(app, alice, cid, "My door code is 4711")
        assert stream.ends_within(NOTICED_WITHIN_S), "the stream outlived the login"
        assert "4711" not in stream.text
    finally:
        stream.close()


def test_a_deactivated_agents_queue_stream_ends_even_when_nothing_happens(
    app: FastAPI, alice: Console, db_factory: sessionmaker[Session]
) -> None:
    stream = LiveStream(alice.client, "/console/events/queue")
    try:
        _listening(app, AGENTS_TOPIC)
        stream.read_for(0.2)
        assert stream.status == 200
        _deactivate(db_factory, alice.username)
        assert stream.ends_within(NOTICED_WITHIN_S), "the queue stream outlived the account"
    finally:
        stream.close()


def test_a_deactivated_agent_gets_no_more_conversation_lines(
    app: FastAPI, alice: Console, db_factory: sessionmaker[Session]
) -> None:
    cid, _ = escalated(db_factory)
    stream = LiveStream(alice.client, f"/console/events/conversations/{cid}")
    try:
        _listening(app, conversation_topic(cid))
        _shipper_says(app, alice, cid, "Where is my parcel")
        assert stream.read_until("Where is my parcel"), stream.text
        _deactivate(db_factory, alice.username)
        _shipper_says(app, alice, cid, "Call me on 13800138000")
        assert stream.ends_within(NOTICED_WITHIN_S)
        assert "13800138000" not in stream.text
    finally:
        stream.close()


def test_a_live_login_keeps_its_stream(
    app: FastAPI, alice: Console, db_factory: sessionmaker[Session]
) -> None:
    cid, _ = escalated(db_factory)
    stream = LiveStream(alice.client, f"/console/events/conversations/{cid}")
    try:
        _listening(app, conversation_topic(cid))
        assert not stream.ends_within(LOGIN_RECHECK_S + 1)
        _shipper_says(app, alice, cid, "Still there?")
        assert stream.read_until("Still there?")
    finally:
        stream.close()
