"""A message the bot could not answer shows in the agents' queue, marked "not answered", in both languages."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.hub import Inbound
from backend.services import conversations as conv
from backend.services import handoff
from tests.backend.console.clients import build_app, client_for, log_in
from tests.backend.factories import new_account
from tests.backend.hub.world import World, user


def test_the_queue_shows_the_message_the_bot_could_not_answer(
    world: World, db_url: str, db_factory: sessionmaker[Session]
) -> None:
    # A conversation queued the usual way (a shipper asked for a person), so the queue has an answered
    # one to compare with whatever other tests left in the database.
    asked = user()
    world.run(lambda hub: hub.receive(Inbound(channel="fake", external_id=asked, text="a person please")))
    with session_scope(db_factory) as session:
        handoff.hand_over(session, conversation_id=f"fake:{asked}", reason="customer asked for a person")
    external = user()
    cid = f"fake:{external}"
    world.rasa.down = True
    words = f"parcel {external} never came"
    world.run(
        lambda hub: hub.receive(Inbound(channel="fake", external_id=external, text=words)), timeout_s=0.3
    )
    with client_for(build_app(db_url)) as client:
        log_in(client, new_account(db_factory))
        english = client.get("/console/api/queue", headers={"Accept-Language": "en"}).json()
        [row] = [r for r in english["conversations"] if r["id"] == cid]
        assert row["not_answered"] == words
        page = client.get("/console", headers={"Accept-Language": "en"}).text
        assert "Not answered" in page and words in page
        chinese = client.get("/console", headers={"Accept-Language": "zh-CN"}).text
        assert "未回复" in chinese and words in chinese
        # Answered ones carry no mark.
        others = [r for r in english["conversations"] if r["handoff_reason"] != conv.NOT_ANSWERED_REASON]
        assert others and all(r.get("not_answered") is None for r in others)
