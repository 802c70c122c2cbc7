"""The guard of issue 8: in no test conversation does the bot send one message three times in a row.

Every test conversation of tests/conversations is replayed, word for word, against the real stack;
the bot's messages are compared as the shipper sees them. The tickets the replay opens are removed
afterwards, so later tests find every demo waybill without an earlier complaint.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from backend.db import make_engine
from backend.models import Ticket, TicketEvent
from tests.e2e.conftest import Talk
from tests.e2e.conversation import assert_clean, assert_never_three_alike
from tools.stack import ROOT, Stack

pytestmark = pytest.mark.e2e

# Every handover message ends with this promise (bot/actions/complaint_texts.py, handoff_flow.py).
HANDED_OVER = "repeat it"
CONVERSATIONS = sorted((ROOT / "tests" / "conversations").glob("*.yml"))


def user_turns(story: dict[str, Any]) -> list[str]:
    return [str(step["user"]).strip() for step in story.get("steps", []) if "user" in step]


def stories() -> list[tuple[str, list[str]]]:
    found = []
    for path in CONVERSATIONS:
        for story in yaml.safe_load(Path(path).read_text())["stories"]:
            found.append((f"{path.stem}: {story['story']}", user_turns(story)))
    return found


@pytest.fixture(scope="module")
def replay_senders(stack: Stack) -> Iterator[list[str]]:
    senders: list[str] = []
    yield senders
    engine = make_engine(stack.database_url)
    try:
        with Session(engine) as session, session.begin():
            opened = select(Ticket.id).where(Ticket.conversation_id.in_(senders))
            session.execute(delete(TicketEvent).where(TicketEvent.ticket_id.in_(opened)))
            session.execute(delete(Ticket).where(Ticket.conversation_id.in_(senders)))
    finally:
        engine.dispose()


@pytest.mark.parametrize(("name", "turns"), stories(), ids=[name for name, _ in stories()])
def test_no_message_three_times_in_a_row(
    name: str, turns: list[str], talk: Talk, replay_senders: list[str]
) -> None:
    sender = f"rest:replay-{uuid.uuid4()}"
    replay_senders.append(sender)
    transcript: list[str] = []
    for turn in turns:
        replies = talk(sender, turn)
        if not replies and transcript and HANDED_OVER in transcript[-1]:
            # Rasa's REST channel is silent once a person has the conversation (the hub says so).
            break
        assert_clean(replies)
        transcript += replies
    assert_never_three_alike(transcript)
