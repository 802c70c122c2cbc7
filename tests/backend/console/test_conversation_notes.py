"""An internal note says it was saved and sits in the timeline; a reply carries the agent's name."""

from __future__ import annotations

from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.models import Conversation
from tests.backend.console.clients import Console
from tests.backend.factories import escalated

EN = {"Accept-Language": "en"}


def test_a_note_is_saved_in_place_in_the_timeline_and_the_reply_names_the_agent(
    people: dict[str, Console], db_factory: sessionmaker[Session]
) -> None:
    cid, _ = escalated(db_factory)
    alice = people["alice"]
    page = f"/console/conversations/{quote(cid, safe='')}"
    alice.post(f"/console/api/conversations/{cid}/claim")
    sent = alice.post(f"/console/api/conversations/{cid}/messages", {"text": "Tracing it now."}).json()
    assert sent["author"] == f"Agent {alice.username}"  # the display name the shipper sees
    saved = alice.client.post(
        f"/console/conversations/{cid}/note", data={"csrf_token": alice.csrf, "text": "Called the Wuhan hub."}
    )
    assert (saved.status_code, saved.headers["location"]) == (303, f"{page}?saved=note")
    shown = alice.get(saved.headers["location"], headers=EN).text
    assert '<span class="note-status" id="note-status" role="status">Note saved.</span>' in shown
    transcript = shown[shown.index('id="transcript"') : shown.index("</ul>", shown.index('id="transcript"'))]
    # In the timeline, after the reply it followed, marked as internal and by whom.
    assert transcript.index("Tracing it now.") < transcript.index("Called the Wuhan hub.")
    assert f"Internal note by Agent {alice.username}" in transcript
    # In Chinese too; and the shipper's transcript never holds it.
    assert "Note saved." in alice.get(saved.headers["location"]).text  # alice reads English
    messages = alice.get(f"/console/api/conversations/{cid}").json()["messages"]
    assert all("Wuhan hub" not in m["text"] for m in messages)


def test_next_in_queue_opens_the_conversation_waiting_longest(
    people: dict[str, Console], db_factory: sessionmaker[Session]
) -> None:
    escalated(db_factory)
    with session_scope(db_factory) as session:
        waiting = session.scalars(
            select(Conversation)
            .where(Conversation.state == "queued", Conversation.channel != "cli")
            .order_by(Conversation.updated_at, Conversation.id)
        ).first()
        assert waiting is not None
    went = people["alice"].get("/console/next")
    assert (went.status_code, went.headers["location"]) == (
        303,
        f"/console/conversations/{quote(waiting.id, safe='')}",
    )
