"""The hub against a fake Rasa over real HTTP and the real database: who speaks, replays, bad input."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from backend.db import session_scope
from backend.hub import Button, Hub, Inbound, InboundFile, follow_up
from backend.hub.broker import AGENTS_TOPIC
from backend.hub.hub import (
    CUT_TEXT,
    EARLIER_BUTTON_TEXT,
    EMPTY_TEXT,
    MAX_BOT_TEXT,
    STALE_BUTTON_TEXT,
    WAITING_TEXT,
)
from backend.models import Attachment, Conversation, utcnow
from backend.services import conversations as conv
from backend.services.tickets import BusinessCalendar, get_ticket, list_ticket_events
from tests.backend.factories import a_ticket
from tests.backend.hub.world import World, user
from tests.fakes.images import png_bytes

ONLY_SUNDAYS = BusinessCalendar(start_hour=9, end_hour=18, weekdays=frozenset({6}), holidays=())
PNG_1PX = png_bytes(1, 1)


def said(world: World, text: str, external: str, **kwargs: Any) -> list[str]:
    turn = world.receive(Inbound(channel="fake", external_id=external, text=text, **kwargs))
    return [reply.text for reply in turn.replies]


def transcript(world: World, cid: str) -> list[tuple[str, str, str]]:
    with session_scope(world.factory) as session:
        return [(m.direction, m.sender, m.text) for m in conv.list_messages(session, conversation_id=cid)]


def set_state(world: World, cid: str, state: str) -> None:
    with session_scope(world.factory) as session:
        if state == "queued":
            conv.mark_for_agent(session, conversation_id=cid, reason="test")
        elif state == "agent":
            conv.claim_conversation(session, conversation_id=cid, agent="alice")


def test_a_message_reaches_the_bot_and_its_reply_the_channel(world: World) -> None:
    external = user()
    assert said(world, "where is EA100000025CN", external) == ["bot reply"]
    cid = f"fake:{external}"
    assert world.rasa.texts_for(cid) == ["where is EA100000025CN"]
    assert world.channel.texts(external) == ["bot reply"]
    assert transcript(world, cid) == [
        ("in", "shipper", "where is EA100000025CN"),
        ("out", "bot", "bot reply"),
    ]


def test_a_replayed_message_is_processed_once(world: World) -> None:
    external = user()
    first = world.receive(Inbound(channel="fake", external_id=external, text="hi", channel_message_id="7"))
    again = world.receive(Inbound(channel="fake", external_id=external, text="hi", channel_message_id="7"))
    assert not first.duplicate and again.duplicate and again.replies == []
    assert world.rasa.texts_for(f"fake:{external}") == ["hi"]
    assert world.channel.texts(external) == ["bot reply"]


@pytest.mark.parametrize(
    ("typed", "bot_reads"),
    [("/restart", "restart"), ('/inform{"waybill": "EA100000017CN"}', 'inform{"waybill": "EA100000017CN"}')],
)
def test_slash_commands_reach_the_bot_as_plain_words(world: World, typed: str, bot_reads: str) -> None:
    external = user()
    said(world, typed, external)
    assert world.rasa.texts_for(f"fake:{external}") == [bot_reads]
    assert transcript(world, f"fake:{external}")[0] == ("in", "shipper", typed)


def test_a_huge_message_is_cut_for_the_bot_and_kept_whole(world: World) -> None:
    external = user()
    text = "my parcel is late " * 500
    assert said(world, text, external) == [CUT_TEXT, "bot reply"]
    [sent] = world.rasa.texts_for(f"fake:{external}")
    assert len(sent) <= MAX_BOT_TEXT and text.startswith(sent)
    assert transcript(world, f"fake:{external}")[0][2] == text


def test_an_empty_message_gets_a_polite_answer_without_the_bot(world: World) -> None:
    external = user()
    assert said(world, "   ", external) == [EMPTY_TEXT]
    assert world.rasa.texts_for(f"fake:{external}") == []


@pytest.mark.parametrize("state", ["queued", "agent"])
def test_with_a_person_nothing_reaches_the_bot_and_the_wait_is_announced_once(
    world: World, state: str
) -> None:
    external = user()
    cid = f"fake:{external}"
    set_state(world, cid, state)
    assert said(world, "hello?", external) == [WAITING_TEXT]
    assert said(world, "anyone there?", external) == []
    assert said(world, "/restart", external) == []
    assert world.rasa.texts_for(cid) == []
    assert [t for d, _, t in transcript(world, cid) if d == "in"] == ["hello?", "anyone there?", "/restart"]


def test_agents_are_told_of_every_shipper_message(world: World) -> None:
    external = user()
    cid = f"fake:{external}"
    set_state(world, cid, "agent")

    async def listen(hub: Hub) -> list[dict[str, Any]]:
        async with hub.broker.subscribe(AGENTS_TOPIC) as queue:
            await hub.receive(Inbound(channel="fake", external_id=external, text="still waiting"))
            return [queue.get_nowait() for _ in range(queue.qsize())]

    events = world.run(listen)
    texts = [e["message"]["text"] for e in events if e["type"] == "message"]
    assert texts == ["still waiting", WAITING_TEXT]


def test_an_agent_reply_reaches_the_shipper_and_the_bot_stays_silent(world: World) -> None:
    external = user()
    cid = f"fake:{external}"
    set_state(world, cid, "agent")
    pushed = world.run(lambda hub: hub.push(cid, "Hi, this is Alice from customer service."))
    assert pushed.sender == "agent"
    assert world.channel.texts(external) == ["Hi, this is Alice from customer service."]
    assert said(world, "thanks Alice", external) == []
    assert world.rasa.texts_for(cid) == []


def test_hand_back_resumes_the_bot(world: World) -> None:
    external = user()
    cid = f"fake:{external}"
    set_state(world, cid, "agent")
    replies = world.run(lambda hub: hub.hand_back(cid))
    assert [r.text for r in replies] == ["I'm back."]
    calls = [(what, body) for c, what, body in world.rasa.api_calls if c == cid]
    assert calls == [
        ("events", [{"event": "resume"}]),
        ("execute", {"name": "action_back_from_agent"}),
        ("execute", {"name": "action_listen"}),
    ]
    with session_scope(world.factory) as session:
        conversation = session.get(Conversation, cid)
        assert conversation is not None and (conversation.state, conversation.owner) == ("bot", None)
    assert said(world, "where is EA100000017CN", external) == ["bot reply"]


def test_a_double_hand_back_makes_the_bot_say_it_is_back_once(world: World) -> None:
    external = user()
    cid = f"fake:{external}"
    set_state(world, cid, "agent")

    async def twice(hub: Hub) -> list[list[Any]]:
        # Two clicks at once, and a third later: only the first gives the conversation back.
        both = list(await asyncio.gather(hub.hand_back(cid), hub.hand_back(cid)))
        return [*both, await hub.hand_back(cid)]

    replies = world.run(twice)
    assert sorted(len(r) for r in replies) == [0, 0, 1]
    assert world.channel.texts(external) == ["I'm back."]
    executed = [body for c, what, body in world.rasa.api_calls if c == cid and what == "execute"]
    assert executed == [{"name": "action_back_from_agent"}, {"name": "action_listen"}]
    assert transcript(world, cid) == [("out", "bot", "I'm back.")]


def test_a_pressed_button_sends_its_payload(world: World) -> None:
    external = user()
    world.rasa.replies = [
        {"text": "Register a complaint?", "buttons": [{"title": "Yes", "payload": "/affirm"}]}
    ]
    [offer] = world.receive(Inbound(channel="fake", external_id=external, text="EA100000034CN")).replies
    assert offer.buttons == (Button("Yes", "/affirm"),)
    world.rasa.replies = [{"text": "ok"}]
    world.receive(Inbound(channel="fake", external_id=external, button=(offer.message_id, 0)))
    last = world.rasa.received[-1]
    assert (last["message"], last["metadata"]["button"]) == ("/affirm", True)
    assert transcript(world, f"fake:{external}")[2] == ("in", "shipper", "Yes")


def test_a_button_of_another_conversation_cannot_be_pressed(world: World) -> None:
    owner, intruder = user(), user()
    world.rasa.replies = [{"text": "Register?", "buttons": [{"title": "Yes", "payload": "/affirm"}]}]
    [offer] = world.receive(Inbound(channel="fake", external_id=owner, text="EA100000034CN")).replies
    turn = world.receive(Inbound(channel="fake", external_id=intruder, button=(offer.message_id, 0)))
    assert [r.text for r in turn.replies] == [STALE_BUTTON_TEXT]
    assert world.rasa.texts_for(f"fake:{intruder}") == []


def test_an_own_contact_verifies_the_customer(world: World) -> None:
    external = user()
    said(world, "", external, own_phone="+86 138 0000 0003")
    cid = f"fake:{external}"
    assert world.rasa.texts_for(cid) == ["+86 138 0000 0003"]
    with session_scope(world.factory) as session:
        assert conv.verified_customer_id(session, cid) == "C003"


def test_someone_elses_contact_verifies_nobody(world: World) -> None:
    external = user()
    replies = said(world, "", external, other_phone="+86 138 0000 0003")
    assert "own" in replies[0]
    with session_scope(world.factory) as session:
        assert conv.verified_customer_id(session, f"fake:{external}") is None


def test_a_photo_is_stored_and_attached_to_the_open_complaint(world: World) -> None:
    external = user()
    cid = f"fake:{external}"
    with session_scope(world.factory) as session:
        ticket = a_ticket(
            session,
            idempotency_key=f"test:{cid}",
            conversation_id=cid,
            status="waiting_customer",
            category="damage",
            photo_status="later",
        )
        number = ticket.number
    world.receive(Inbound(channel="fake", external_id=external, files=(InboundFile(PNG_1PX, "vase.png"),)))
    with session_scope(world.factory) as session:
        ticket = get_ticket(session, number)
        assert ticket is not None and ticket.photo_status == "received"
        [attachment] = session.query(Attachment).filter_by(conversation_id=cid).all()
        assert (attachment.ticket_id, attachment.content_type, attachment.size) == (
            ticket.id,
            "image/png",
            len(PNG_1PX),
        )
        assert (world.upload_dir / attachment.path).read_bytes() == PNG_1PX
        assert "photo_received" in [e.action for e in list_ticket_events(session, number)]


def test_a_file_that_is_not_an_image_is_refused_politely(world: World) -> None:
    external = user()
    replies = said(world, "here", external, files=(InboundFile(b"%PDF-1.4 not a photo", "photo.jpg"),))
    assert replies[0].startswith("I can only take photos")
    with session_scope(world.factory) as session:
        assert session.query(Attachment).filter_by(conversation_id=f"fake:{external}").count() == 0


def test_a_stored_photo_is_served_to_its_own_conversation_only(world: World) -> None:
    external = user()
    cid = f"fake:{external}"
    world.receive(Inbound(channel="fake", external_id=external, files=(InboundFile(PNG_1PX, "vase.png"),)))
    with session_scope(world.factory) as session:
        [attachment] = session.query(Attachment).filter_by(conversation_id=cid).all()
        attachment_id = attachment.id
    own = world.run(lambda hub: hub.attachment_file(attachment_id, conversation_id=cid))
    assert own is not None and own.content_type == "image/png" and own.data == PNG_1PX
    # The console asks without a conversation; a widget of another conversation hears "no such photo".
    assert world.run(lambda hub: hub.attachment_file(attachment_id)) == own
    assert world.run(lambda hub: hub.attachment_file(attachment_id, conversation_id="fake:other")) is None
    assert world.run(lambda hub: hub.attachment_file(attachment_id + 1000)) is None
    with session_scope(world.factory) as session:
        tampered = session.get(Attachment, attachment_id)
        assert tampered is not None
        tampered.path = f"../{external}.png"
    (world.upload_dir.parent / f"{external}.png").write_bytes(PNG_1PX)
    assert world.run(lambda hub: hub.attachment_file(attachment_id)) is None


def resolved_ticket(world: World, cid: str) -> str:
    with session_scope(world.factory) as session:
        ticket = a_ticket(
            session,
            idempotency_key=f"test:{cid}",
            conversation_id=cid,
            status="resolved",
            actor="agent:alice",
            category="delay",
            waybill="EA100000034CN",
        )
        return ticket.number


def test_a_resolved_ticket_gets_one_follow_up_and_its_answers_land_on_the_ticket(world: World) -> None:
    external = user()
    cid = f"fake:{external}"
    number = resolved_ticket(world, cid)
    asked = world.run(lambda hub: hub.ask_follow_up(number))
    assert asked is not None and number in asked.text and "1 (not at all) to 5" in asked.text
    assert [b.title for b in asked.buttons] == ["1", "2", "3", "4", "5"]
    assert world.run(lambda hub: hub.ask_follow_up(number)) is None  # never asked twice

    [thanks] = world.receive(
        Inbound(channel="fake", external_id=external, button=(asked.message_id, 3))
    ).replies
    assert "we could do better" in thanks.text
    [done] = world.receive(
        Inbound(channel="fake", external_id=external, text="Call me before delivery")
    ).replies
    assert "Thank you for your feedback" in done.text
    assert world.rasa.texts_for(cid) == []  # the follow-up is the hub's, not the bot's
    with session_scope(world.factory) as session:
        ticket = get_ticket(session, number)
        assert ticket is not None
        assert (ticket.satisfaction, ticket.satisfaction_comment) == (4, "Call me before delivery")
    # Afterwards the bot answers as usual.
    assert said(world, "where is EA100000025CN", external) == ["bot reply"]


def test_a_low_typed_rating_asks_what_fell_short(world: World) -> None:
    external = user()
    number = resolved_ticket(world, f"fake:{external}")
    world.run(lambda hub: hub.ask_follow_up(number))
    assert "fell short" in said(world, "2", external)[0]
    assert "Thank you for your feedback" in said(world, "no", external)[0]
    with session_scope(world.factory) as session:
        ticket = get_ticket(session, number)
        assert ticket is not None and (ticket.satisfaction, ticket.satisfaction_comment) == (2, None)


def test_a_verdict_in_words_is_the_rating_and_a_sentence_is_not(world: World) -> None:
    external = user()
    number = resolved_ticket(world, f"fake:{external}")
    world.run(lambda hub: hub.ask_follow_up(number))
    # A sentence that mentions satisfaction is no verdict: the bot answers it, the question stays open.
    assert said(world, "not satisfied with EA100000025CN either, where is it?", external) == ["bot reply"]
    assert "哪方面不满意" in said(world, "不太满意", external)[0]  # answered in the shipper's language
    said(world, "没有", external)
    with session_scope(world.factory) as session:
        ticket = get_ticket(session, number)
        assert ticket is not None and ticket.satisfaction == 2


@pytest.mark.parametrize(
    ("answer", "score"),
    [
        ("非常满意！", 5),
        ("满意", 4),
        ("还行吧", 3),
        ("一般般", 3),
        ("不怎么样", 2),
        ("非常不满意", 1),
        ("Very satisfied", 5),
        ("pretty good", 4),
        ("so-so", 3),
        ("not happy", 2),
        ("terrible!!", 1),
        ("ＯＫ", 3),
    ],
)
def test_short_verdicts_in_both_languages_score_from_1_to_5(answer: str, score: int) -> None:
    assert follow_up.parse_rating(answer) == score


@pytest.mark.parametrize(
    "text",
    ["满意的话我就不投诉了", "I am not happy that my parcel EA100000025CN is late", "转人工", "no", ""],
)
def test_anything_longer_or_other_is_no_rating(text: str) -> None:
    assert follow_up.parse_rating(text) is None


def test_an_unanswered_follow_up_does_not_stop_the_bot(world: World) -> None:
    external = user()
    number = resolved_ticket(world, f"fake:{external}")
    world.run(lambda hub: hub.ask_follow_up(number))
    assert said(world, "where is EA100000025CN", external) == ["bot reply"]


def test_an_unresolved_ticket_gets_no_follow_up(world: World) -> None:
    cid = f"fake:{user()}"
    with session_scope(world.factory) as session:
        number = a_ticket(
            session,
            idempotency_key=f"t:{cid}",
            conversation_id=cid,
        ).number
    assert world.run(lambda hub: hub.ask_follow_up(number)) is None


def test_a_file_the_channel_could_not_fetch_is_explained_and_not_sent_to_the_bot(world: World) -> None:
    external = user()
    problem = "That file is too large for me to receive here. Could you send a smaller photo?"
    assert said(world, "", external, file_problem=problem) == [problem]
    assert world.rasa.texts_for(f"fake:{external}") == []


def test_outside_business_hours_the_wait_notice_says_when_people_are_back(world: World) -> None:
    # A calendar whose only working day is a Sunday: whenever the test runs, nobody is at work now
    # (unless it is a Sunday during the day, when the notice is the plain one).
    world.calendar = ONLY_SUNDAYS
    external = user()
    set_state(world, f"fake:{external}", "queued")
    [notice] = said(world, "hello?", external)
    if ONLY_SUNDAYS.is_open(utcnow()):
        assert notice == WAITING_TEXT
    else:
        assert notice.startswith(WAITING_TEXT) and "9:00-18:00" in notice and "pick this up from" in notice


def test_the_follow_up_of_a_chinese_conversation_is_in_chinese(world: World) -> None:
    """The seeds' 回访: asked, rated and thanked in the shipper's language, the answers on the ticket."""
    external = user()
    cid = f"fake:{external}"
    assert said(world, "你好，我想查一下快递", external) == ["bot reply"]
    number = resolved_ticket(world, cid)
    asked = world.run(lambda hub: hub.ask_follow_up(number))
    assert asked is not None and number in asked.text and "满意" in asked.text
    assert not re.search(r"[A-Za-z]{3,}", asked.text.replace(number, "")), asked.text
    [thanks] = world.receive(
        Inbound(channel="fake", external_id=external, button=(asked.message_id, 4))
    ).replies
    assert re.search(r"[\u4e00-\u9fff]", thanks.text), thanks.text
    [done] = world.receive(Inbound(channel="fake", external_id=external, text="送货前打个电话")).replies
    assert "感谢" in done.text
    with session_scope(world.factory) as session:
        ticket = get_ticket(session, number)
        assert ticket is not None
        assert (ticket.satisfaction, ticket.satisfaction_comment, ticket.language) == (
            5,
            "送货前打个电话",
            "zh",
        )


# --- a button answers the question it came with (issue 15, point 7) ----------------------------------


def test_an_earlier_messages_button_changes_nothing_and_the_open_question_is_asked_again(
    world: World,
) -> None:
    external = user()
    world.rasa.replies = [
        {"text": "Register a complaint?", "buttons": [{"title": "Yes, please", "payload": "/affirm"}]}
    ]
    [offer] = world.receive(Inbound(channel="fake", external_id=external, text="EA100000034CN")).replies
    world.rasa.replies = [
        {"text": "Is that right?", "buttons": [{"title": "Yes, that's right", "payload": "/affirm"}]}
    ]
    [summary] = world.receive(Inbound(channel="fake", external_id=external, text="it is late")).replies
    sent = len(world.rasa.texts_for(f"fake:{external}"))
    turn = world.receive(Inbound(channel="fake", external_id=external, button=(offer.message_id, 0)))
    assert [r.text for r in turn.replies] == [EARLIER_BUTTON_TEXT, "Is that right?"]
    assert turn.replies[1].buttons == summary.buttons
    assert len(world.rasa.texts_for(f"fake:{external}")) == sent, "the stale press reached the bot"
    # The question asked again takes its own button as the answer.
    world.rasa.replies = [{"text": "ok"}]
    again = turn.replies[1]
    world.receive(Inbound(channel="fake", external_id=external, button=(again.message_id, 0)))
    assert world.rasa.received[-1]["message"] == "/affirm"


def test_a_double_press_acts_once(world: World) -> None:
    external = user()
    world.rasa.replies = [
        {"text": "Is that right?", "buttons": [{"title": "Yes, that's right", "payload": "/affirm"}]}
    ]
    [summary] = world.receive(Inbound(channel="fake", external_id=external, text="my parcel is late")).replies
    world.rasa.replies = [{"text": "Registered as T-1."}]
    world.receive(Inbound(channel="fake", external_id=external, button=(summary.message_id, 0)))
    turn = world.receive(Inbound(channel="fake", external_id=external, button=(summary.message_id, 0)))
    assert [r.text for r in turn.replies] == [EARLIER_BUTTON_TEXT]
    assert world.rasa.texts_for(f"fake:{external}").count("/affirm") == 1


def test_a_button_after_a_typed_answer_changes_nothing(world: World) -> None:
    external = user()
    world.rasa.replies = [{"text": "Register?", "buttons": [{"title": "Yes", "payload": "/affirm"}]}]
    [offer] = world.receive(Inbound(channel="fake", external_id=external, text="EA100000034CN")).replies
    world.rasa.replies = [{"text": "What would you like us to do?"}]
    world.receive(Inbound(channel="fake", external_id=external, text="yes"))
    turn = world.receive(Inbound(channel="fake", external_id=external, button=(offer.message_id, 0)))
    assert [r.text for r in turn.replies] == [EARLIER_BUTTON_TEXT]
    assert "/affirm" not in world.rasa.texts_for(f"fake:{external}")
