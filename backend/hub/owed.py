"""What a shipper's message may be answering before it goes to the bot: a complaint's satisfaction
follow-up (backend.hub.follow_up) or a care campaign's question (backend.hub.care_answers).

Asked on every message while the bot has the conversation, and nearly always nothing is owed: so both
kinds are looked for in one indexed statement, and only one that exists is read in full.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.hub import care_answers, follow_up
from backend.services import care_messages

_ANY_OWED = select(follow_up.ASKED_HERE.label("follow_up"), care_messages.OPEN_TARGET_HERE.label("care"))


def owed_answer(session: Session, conversation_id: str) -> follow_up.Pending | care_messages.Step | None:
    """The question this conversation's next message answers, if any; a follow-up before a care question."""
    found = session.connection().execute(_ANY_OWED, {"cid": conversation_id}).one()
    pending = follow_up.pending(session, conversation_id) if found.follow_up else None
    if pending is None and found.care:
        return care_answers.pending(session, conversation_id)
    return pending
