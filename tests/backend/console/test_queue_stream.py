"""The live queue is drawn again a few times a second at most, however many messages arrive, and
always once more after the last of them."""

from __future__ import annotations

import time

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from backend.console.pages import QUEUE_RENDER_EVERY_S
from backend.hub.broker import AGENTS_TOPIC
from tests.backend.console.clients import Console
from tests.backend.console.streams import LiveStream, listening, shipper_says
from tests.backend.factories import escalated

BURST = 50
RENDER = "event: queue"


def test_a_burst_of_fifty_messages_redraws_the_queue_a_bounded_number_of_times(
    app: FastAPI, people: dict[str, Console], db_factory: sessionmaker[Session]
) -> None:
    alice = people["alice"]
    busy, _ = escalated(db_factory)
    stream = LiveStream(alice.client, "/console/events/queue")
    try:
        listening(app, AGENTS_TOPIC)
        began = time.monotonic()
        for n in range(BURST - 1):
            shipper_says(app, alice.client, busy, f"message {n} about my parcel")
        # The last message of the burst comes from a conversation that was not there before it.
        latest, _ = escalated(db_factory)
        shipper_says(app, alice.client, latest, "and me too")
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
