"""A care campaign's follow-up by message through the real hub: the seed's script in the chat's language,
the answers read before the bot and written on one follow-up record, a new matter handed to the bot."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import update

from backend.db import session_scope
from backend.hub import Inbound, Outbound
from backend.hub.care_answers import ENDED_TEXT
from backend.models import AuditEvent, CareTarget, Conversation, Customer, FollowUpRecord, VolumeFlag, utcnow
from backend.services import care_messages as care
from backend.services import conversations as conv
from tests.backend.factories import a_ticket, forgets_customers_like
from tests.backend.hub.world import FakeChannel, World, user
from tests.backend.services.test_care_messages import on_message_campaign

CHINESE = re.compile(r"[\u4e00-\u9fff]")
ENGLISH_WORD = re.compile(r"[A-Za-z]{3,}")


# Their customers (ids CA…) and campaigns leave the shared database after each test.
_forget_customers = forgets_customers_like("CA")


def a_customer_in_chat(world: World, first_words: str, *, volume_drop: bool = False) -> tuple[int, str]:
    """A key customer who chatted on Telegram (`first_words`, answered by the bot) and is on a message
    campaign's list this month: (target id, external chat id)."""
    world.channel = FakeChannel(name="telegram")
    external = user()
    said(world, first_words, external)
    customer_id = f"CA{uuid.uuid4().hex[:10]}"
    today = date.today()
    with session_scope(world.factory) as session:
        session.add(Customer(id=customer_id, name="Lotus Freight", customer_class="A"))
        session.flush()
        conversation = session.get(Conversation, f"telegram:{external}")
        assert conversation is not None
        conversation.verified_customer_id = customer_id
        if volume_drop:
            session.add(
                VolumeFlag(
                    customer_id=customer_id, week="2026-W48", week_count=2, week_freight=100,
                    trailing_weeks=4, trailing_mean=10.0, drop_share=0.8, created_by="system:test",
                )
            )  # fmt: skip
        return on_message_campaign(session, customer_id, today), external


def said(world: World, text: str, external: str, **kwargs: Any) -> list[str]:
    turn = world.receive(Inbound(channel="telegram", external_id=external, text=text, **kwargs))
    return [reply.text for reply in turn.replies]


def press(world: World, asked: Outbound, index: int) -> list[str]:
    external = asked.conversation_id.split(":", 1)[1]
    turn = world.receive(Inbound(channel="telegram", external_id=external, button=(asked.message_id, index)))
    return [reply.text for reply in turn.replies]


def ask(world: World, target_id: int, external: str) -> Outbound | None:
    return world.run(lambda hub: hub.ask_care(target_id, f"telegram:{external}"))


def record_of(world: World, target_id: int) -> tuple[CareTarget, FollowUpRecord | None]:
    with session_scope(world.factory) as session:
        target = session.get(CareTarget, target_id)
        assert target is not None
        record = care.record_for(session, target_id)
        session.expunge_all()
        return target, record


def test_rating_then_suggestions_land_on_one_record_and_the_bot_is_not_asked(world: World) -> None:
    target_id, external = a_customer_in_chat(world, "hello")
    asked = ask(world, target_id, external)
    assert asked is not None and asked.sender == "bot"
    assert "Hello Lotus Freight" in asked.text and "rate it from 1 (not at all) to 5" in asked.text
    assert [b.title for b in asked.buttons] == ["1", "2", "3", "4", "5"]
    assert world.channel.texts(external)[-1] == asked.text  # delivered on the chat's own channel
    assert ask(world, target_id, external) is None  # once per period

    [question] = press(world, asked, 4)
    assert "glad you are satisfied" in question and "suggestions" in question
    target, record = record_of(world, target_id)
    assert (target.status, record is not None) == ("answered", True) and target.answered_at is not None
    [closing] = said(world, "Please call before delivering to our Wuhan warehouse", external)
    assert "goodbye" in closing
    target, record = record_of(world, target_id)
    assert record is not None
    assert (record.made_by, record.channel, record.language, record.satisfaction) == (
        "bot",
        "telegram",
        "en",
        5,
    )
    assert record.suggestions == "Please call before delivering to our Wuhan warehouse"
    assert (record.comment, record.volume_reason, record.next_step) == (None, None, None)
    assert (record.customer_id, record.campaign_id) == (target.customer_id, target.campaign_id)
    assert world.rasa.texts_for(f"telegram:{external}") == ["hello"]  # the answers were the hub's
    # The questions are over: the bot answers as usual.
    assert said(world, "thanks", external) == ["bot reply"]


def test_the_chinese_script_asks_why_the_volume_dropped_and_an_unhappy_rating_asks_for_a_call(
    world: World,
) -> None:
    target_id, external = a_customer_in_chat(world, "你好，我想查一下快递", volume_drop=True)
    asked = ask(world, target_id, external)
    assert asked is not None and CHINESE.search(asked.text) and "满意" in asked.text
    assert not ENGLISH_WORD.search(asked.text.replace("Lotus Freight", "")), asked.text
    [volume] = said(world, "2分", external)
    assert "发货量" in volume and not ENGLISH_WORD.search(volume), volume
    [shortfall] = said(world, "最近是淡季，下个月会恢复发货", external)
    assert "不满意" in shortfall and not ENGLISH_WORD.search(shortfall), shortfall
    [closing] = said(world, "没有", external)  # skips the question
    assert "改进" in closing and "再见" in closing
    _, record = record_of(world, target_id)
    assert record is not None
    assert (record.satisfaction, record.language, record.volume_reason) == (
        2,
        "zh",
        "最近是淡季，下个月会恢复发货",
    )
    assert (record.comment, record.suggestions) == (None, None)
    assert record.next_step == care.OWNER_CALL_STEP  # an unhappy key customer gets a person's call


def test_a_shortfall_is_kept_as_the_comment(world: World) -> None:
    target_id, external = a_customer_in_chat(world, "hi")
    assert ask(world, target_id, external) is not None
    [question] = said(world, "3", external)
    assert "sorry we fell short" in question and "did not satisfy you" in question
    said(world, "Pickups are often an hour late", external)
    _, record = record_of(world, target_id)
    assert record is not None
    assert (record.satisfaction, record.comment, record.next_step) == (
        3,
        "Pickups are often an hour late",
        None,
    )


def test_a_waybill_mid_questions_goes_to_the_bot_and_ends_the_questions(world: World) -> None:
    target_id, external = a_customer_in_chat(world, "hello")
    assert ask(world, target_id, external) is not None
    said(world, "5", external)
    replies = said(world, "where is EA100000025CN", external)
    assert replies == [ENDED_TEXT, "bot reply"]
    assert world.rasa.texts_for(f"telegram:{external}") == ["hello", "where is EA100000025CN"]
    target, record = record_of(world, target_id)
    assert target.status == "answered" and record is not None
    assert (record.satisfaction, record.suggestions) == (5, None)
    assert said(world, "and when will it arrive?", external) == ["bot reply"]


def test_a_question_instead_of_a_rating_goes_to_the_bot_and_the_target_stays_sent(world: World) -> None:
    target_id, external = a_customer_in_chat(world, "hello")
    assert ask(world, target_id, external) is not None
    assert said(world, "I want to talk to a real person", external) == [ENDED_TEXT, "bot reply"]
    target, record = record_of(world, target_id)
    assert (target.status, record) == ("sent", None)


def test_never_over_an_agents_head_nor_over_an_owed_complaint_follow_up(world: World) -> None:
    target_id, external = a_customer_in_chat(world, "hello")
    cid = f"telegram:{external}"
    with session_scope(world.factory) as session:
        conv.claim_conversation(session, conversation_id=cid, agent="alice")
    assert ask(world, target_id, external) is None
    with session_scope(world.factory) as session:
        conv.take_back_for_bot(session, conversation_id=cid)
        number = a_ticket(
            session,
            idempotency_key=f"test:{cid}",
            conversation_id=cid,
            status="resolved",
            actor="agent:alice",
        ).number
    assert world.run(lambda hub: hub.ask_follow_up(number)) is not None
    assert ask(world, target_id, external) is None  # the complaint's rating is owed first
    assert record_of(world, target_id)[0].status == "due"
    said(world, "4", external)  # the complaint's rating
    said(world, "no", external)  # its comment: the complaint follow-up is over
    assert ask(world, target_id, external) is not None


def test_a_rating_question_left_for_days_is_dropped_without_a_word(world: World) -> None:
    target_id, external = a_customer_in_chat(world, "hello")
    cid = f"telegram:{external}"
    assert ask(world, target_id, external) is not None
    two_days_ago = utcnow() - timedelta(days=2)
    with session_scope(world.factory) as session:  # the script went out two days ago
        session.execute(update(CareTarget).where(CareTarget.id == target_id).values(sent_at=two_days_ago))
        session.execute(update(AuditEvent).where(AuditEvent.conversation_id == cid).values(at=two_days_ago))
    assert said(world, "hi again, where is EA100000025CN", external) == ["bot reply"]
    assert said(world, "5", external) == ["bot reply"]  # the questions are over: the bot has it
    assert record_of(world, target_id)[0].status == "sent"
