"""The agents' queue as the console reads it (backend.services.console)."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from backend.services.console import queue
from backend.services.conversations import mark_for_agent


def test_the_queue_shows_shippers_waiting_and_leaves_make_chat_practice_out(db_session: Session) -> None:
    shipper = f"web:{uuid.uuid4()}"
    practice = f"cli:{uuid.uuid4()}"
    for conversation_id in (shipper, practice):
        mark_for_agent(db_session, conversation_id=conversation_id, reason="customer asked for a person")
    waiting = {item["id"] for item in queue(db_session, agent=None)}
    assert shipper in waiting
    assert practice not in waiting
