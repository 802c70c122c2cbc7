"""The dialogue always has a way forward (issue 8): no loops, questions answered first, a "no" heard,
anger read over the whole complaint, and a summary that never invents what the shipper did not say.

Real Rasa with the trained model, the real action server and backend, over the REST channel.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Talk, late_extra_shipment, late_extra_shipments
from tests.e2e.conversation import assert_clean, assert_never_three_alike, said
from tools.stack import Stack

pytestmark = pytest.mark.e2e


class Chat:
    """One conversation: sends messages, keeps every bot message, checks each reply is clean."""

    def __init__(self, talk: Talk, sender: str) -> None:
        self.talk, self.sender, self.transcript = talk, sender, []  # type: list[str]

    def say(self, message: str) -> str:
        replies = self.talk(self.sender, message)
        assert_clean(replies)
        self.transcript += replies
        assert_never_three_alike(self.transcript)
        return said(replies)


@pytest.fixture()
def chat(talk: Talk, sender: str) -> Chat:
    return Chat(talk, sender)


@pytest.fixture(scope="module")
def fresh_late_waybills(stack: Stack) -> Iterator[str]:
    """Late, undisputed non-demo shipments, each complained about once only in this module (a second
    complaint on a waybill is serious by policy); the one other modules complain about is left out.
    Taken from the front of the list: test_complaint_robustness takes its own from the end."""
    taken_elsewhere = late_extra_shipment(stack)
    late = [w for w in late_extra_shipments(stack, min_days=1) if w != taken_elsewhere]
    assert len(late) >= 5, "the seed needs at least five late extra shipments"
    return iter(late)


def tickets_of(api: httpx.Client, sender: str) -> list[dict[str, Any]]:
    response = api.get("/api/tickets", params={"conversation_id": sender})
    assert response.status_code == 200, response.text
    return list(response.json()["tickets"])


def test_no_waybill_and_no_phone_is_never_asked_a_third_time(chat: Chat) -> None:
    assert "waybill number" in chat.say("where's my parcel?")
    reply = chat.say("I don't have the number, sorry")
    assert "phone number" in reply and "agent" in reply
    # Nothing to look up by either: the bot offers a person instead of asking again.
    reply = chat.say("I don't have the phone number either")
    assert "agent" in reply or "colleague" in reply, reply
    chat.say("I don't know it")
    chat.say("no idea")


def test_every_form_question_accepts_i_dont_know_and_ends_within_two_tries(
    chat: Chat, api: httpx.Client
) -> None:
    assert "what happened" in chat.say("I want to make a complaint")
    assert "which shipment" in chat.say("the vase I sent came out of the box in pieces")
    # No number: said once, the form moves on.
    reply = chat.say("I don't have it")
    assert "later" in reply or "colleague" in reply, reply
    steps: list[str] = []
    while len(steps) < 6 and not any("is that right" in step for step in steps):
        steps.append(chat.say("I don't know"))
    assert "is that right" in steps[-1], steps
    summary = steps[-1]
    # Nothing invented: no photo counted, no wish made up from "I don't know".
    assert "photo: received" not in summary
    assert "nothing in particular" in summary
    chat.say("yes")
    (ticket,) = tickets_of(api, chat.sender)
    assert ticket["photo_status"] != "received"
    assert ticket["customer_wants"] is None


def test_a_closed_question_is_asked_at_most_twice(chat: Chat) -> None:
    chat.say("my parcel was damaged and i want compensation")
    chat.say("no I don't have the waybill")
    chat.say("a ceramic vase")
    asked = [chat.say("hmm") for _ in range(3)]
    value_questions = sum("worth" in step or "value" in step for step in asked)
    assert value_questions <= 2, asked
    assert any("photo" in step for step in asked), asked


def test_a_free_text_wish_is_taken_as_the_wish(chat: Chat, fresh_late_waybills: Iterator[str]) -> None:
    waybill = next(fresh_late_waybills)
    chat.say(f"I have a complaint, {waybill} arrived days after the promised date")
    reply = chat.say("just make sure my next parcel gets there on time")
    assert "is that right" in reply, reply
    assert "my next parcel gets there on time" in reply


def test_a_question_during_the_form_is_answered_once_then_the_form_goes_on(
    chat: Chat, fresh_late_waybills: Iterator[str]
) -> None:
    waybill = next(fresh_late_waybills)
    chat.say(f"I want to complain about {waybill}, it was late")
    reply = chat.say("wait, when was it delivered?")
    assert waybill.lower() in reply and "delivered" in reply, reply
    assert "what would you like" in reply, reply
    assert "is that right" in chat.say("an apology would be nice")


def test_a_question_inside_a_complaint_is_answered_first(talk: Talk, sender: str) -> None:
    replies = talk(sender, "EA100000034CN is two days late and nobody tells me anything, where is it now??")
    assert_clean(replies)
    where = next(i for i, reply in enumerate(replies) if "wuhan" in reply.lower())
    calm = next(i for i, reply in enumerate(replies) if "sorry" in reply.lower() or "apolog" in reply.lower())
    assert where <= calm, replies
    assert "days late" in replies[where].lower() or "2 days" in replies[where].lower()


def test_no_thanks_declines_the_offer_of_a_complaint(chat: Chat, api: httpx.Client) -> None:
    reply = chat.say("where is EA100000048CN")
    assert "register a complaint" in reply
    reply = chat.say("no thanks, it's fine")
    assert "no complaint" in reply, reply
    assert "what happened" not in reply and "which shipment" not in reply
    assert tickets_of(api, chat.sender) == []


def test_one_angry_sentence_stays_general(
    chat: Chat, api: httpx.Client, fresh_late_waybills: Iterator[str]
) -> None:
    waybill = next(fresh_late_waybills)
    chat.say(f"{waybill} came late, honestly this is ridiculous")
    reply = chat.say("a refund")
    assert "is that right" in reply
    reply = chat.say("yes")
    assert "offer" in reply and "colleague" not in reply, reply
    (ticket,) = tickets_of(api, chat.sender)
    assert ticket["level"] == "general"


def test_strong_anger_repeated_across_messages_is_serious(
    chat: Chat, api: httpx.Client, fresh_late_waybills: Iterator[str]
) -> None:
    waybill = next(fresh_late_waybills)
    chat.say(f"{waybill} was late AGAIN, this is ridiculous and unacceptable!!!")
    chat.say("I am fed up with your terrible service, I want my money back!!!")
    reply = chat.say("yes")
    (ticket,) = tickets_of(api, chat.sender)
    assert ticket["level"] == "serious", ticket
    assert ticket["priority"] == "P1"
    assert "colleague" in reply


def test_the_summary_shows_the_record_beside_the_customers_words(chat: Chat) -> None:
    chat.say("I want to complain about EA100000096CN")
    reply = chat.say("billing")
    if "is that right" not in reply:
        reply = chat.say("a refund of the difference")
    assert "our record" in reply and "12 kg" in reply, reply
    # "billing" names a category; it is not the customer's description of what happened.
    assert 'in your words: "billing"' not in reply
    assert "description: none given" in reply
