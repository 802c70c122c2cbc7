"""The live queue is drawn again a few times a second at most, however many messages arrive, and
always once more after the last of them."""

from __future__ import annotations

import time

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from backend.console.pages import QUEUE_RENDER_EVERY_S
from backend.hub.broker import AGENTS_TOPIC
from backend.hub.records import Inbound
from backend.services.conversations import parse_conversation_id
from tests.backend.console.clients import Console
from tests.backend.console.streams import LiveStream
from tests.backend.factories import escalated

BURST = 50
RENDER = "event: queue"


def _wait_for_subscriber(app: FastAPI) -> None:
    deadline = time.monotonic() + 10
    while app.state.hub.broker.subscriber_count(AGENTS_TOPIC) == 0:
        assert time.monotonic() < deadline, "the queue stream never subscribed"
        time.sleep(0.02)


def _shipper_says(app: FastAPI, console: Console, conversation_id: str, text: str) -> None:
    channel, external = parse_conversation_id(conversation_id)
    assert console.client.portal is not None
    console.client.portal.call(
        app.state.hub.receive, Inbound(channel=channel, external_id=external, text=text)
    )


def test_a_burst_of_fifty_messages_redraws_the_queue_a_bounded_number_of_times(
    app: FastAPI, people: dict[str, Console], db_factory: sessionmaker[Session]
) -> None:
    alice = people["alice"]
    busy, _ = escalated(db_factory)
    stream = LiveStream(alice.client, "/console/events/queue")
    try:
        _wait_for_subscriber(app)
        began = time.monotonic()
        for n in range(BURST - 1):
            _shipper_says(app, alice, busy, f"message {n} about my parcel")
        # The last message of the burst comes from a conversation that was not there before it.
        latest, _ = escalated(db_factory)
        _shipper_says(app, alice, latest, "and me too")
        took = time.monotonic() - began
        assert stream.read_until(latest, timeout=10), "the last change never reached the queue"
        stream.read_for(2 * QUEUE_RENDER_EVERY_S)  # anything still on its way
    finally:
        stream.close()
    renders = stream.text.count(RENDER)
    bound = int(took / QUEUE_RENDER_EVERY_S) + 3
    print(f"{BURST} messages in {took:.2f} s: {renders} queue renders (bound {bound})")
    assert 1 <= renders <= bound, (renders, bound)
    # The last render is the newest state: it shows the conversation the burst ended with.
    assert latest in stream.text.rsplit(RENDER, 1)[1]
