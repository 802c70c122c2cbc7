"""Console live streams hold only while their login does: logged out or deactivated, the words stop."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from backend.console.pages import LOGIN_RECHECK_S
from backend.db import session_scope
from backend.hub.broker import AGENTS_TOPIC, conversation_topic
from backend.models import Agent
from tests.backend.console.clients import Console, client_for, log_in
from tests.backend.console.streams import LiveStream, listening, shipper_says
from tests.backend.factories import escalated, new_account

# The stream must notice within its re-check period, plus time for a slow CI machine.
NOTICED_WITHIN_S = LOGIN_RECHECK_S + 5


@pytest.fixture
def alice(app: FastAPI, db_factory: sessionmaker[Session]) -> Iterator[Console]:
    account = new_account(db_factory, "agent")
    with client_for(app, headers={"Accept-Language": "en"}) as client:
        yield Console(client, log_in(client, account), account[0])


def _deactivate(db_factory: sessionmaker[Session], username: str) -> None:
    with session_scope(db_factory) as session:
        session.execute(update(Agent).where(Agent.username == username).values(active=False))


@pytest.mark.parametrize("ended_by", ["logout", "deactivation"])
def test_an_agent_whose_login_ended_stops_receiving_shipper_text(
    app: FastAPI, alice: Console, db_factory: sessionmaker[Session], ended_by: str
) -> None:
    cid, _ = escalated(db_factory)
    stream = LiveStream(alice.client, f"/console/events/conversations/{cid}")
    try:
        listening(app, conversation_topic(cid))
        shipper_says(app, alice.client, cid, "The box arrived wet")
        assert stream.read_until("The box arrived wet"), stream.text
        assert stream.status == 200
        if ended_by == "logout":
            assert alice.post("/console/logout").status_code == 303
        else:
            _deactivate(db_factory, alice.username)
        shipper_says(app, alice.client, cid, "My door code is 4711")
        assert stream.ends_within(NOTICED_WITHIN_S), f"the stream outlived the {ended_by}"
        assert "4711" not in stream.text
    finally:
        stream.close()


def test_a_deactivated_agents_queue_stream_ends_even_when_nothing_happens(
    app: FastAPI, alice: Console, db_factory: sessionmaker[Session]
) -> None:
    stream = LiveStream(alice.client, "/console/events/queue")
    try:
        listening(app, AGENTS_TOPIC)
        stream.read_for(0.2)
        assert stream.status == 200
        _deactivate(db_factory, alice.username)
        assert stream.ends_within(NOTICED_WITHIN_S), "the queue stream outlived the account"
    finally:
        stream.close()


def test_a_live_login_keeps_its_stream(
    app: FastAPI, alice: Console, db_factory: sessionmaker[Session]
) -> None:
    cid, _ = escalated(db_factory)
    stream = LiveStream(alice.client, f"/console/events/conversations/{cid}")
    try:
        listening(app, conversation_topic(cid))
        assert not stream.ends_within(LOGIN_RECHECK_S + 1)
        shipper_says(app, alice.client, cid, "Still there?")
        assert stream.read_until("Still there?")
    finally:
        stream.close()
