"""Any answer to the summary or to an offer keeps the complaint (issue 15, points 1, 5, 7 and 8).

The reading of a yes or a no from the first words, and the actions run on trackers against the demo
store: the same question again with buttons, a person after two tries, a correction in its field.
"""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.events import SlotSet

from backend.domain import PHOTO_FOR_BOT
from backend.services.tickets import list_tickets
from bot.actions.client import transaction
from bot.actions.complaint_parsing import after_yes_no, promises_photo, read_yes_no
from bot.actions.complaint_texts import NOT_YES_NO_TEXT, PHOTO_RECEIVED_TEXT
from bot.actions.complaints import ActionAnalyseComplaint, ActionComplaintAnswer, ActionStartComplaint
from bot.actions.handoff import ActionTicketStatus
from bot.actions.shipments import ActionDeclineOffer
from tests.bot.trackers import applied, make_tracker, new_sender, run

DELAY = "EA100000034CN is 2 days late and nobody told me!!"


@pytest.mark.parametrize(
    ("text", "intent", "reading"),
    [
        ("yes, and nobody even told me!!", "deny", "yes"),
        ("yes!! nobody told me", "deny", "yes"),
        ("yes and I want my money back", "complain", "yes"),
        ("是的！！根本没人通知我", "deny", "yes"),
        ("好，我要退钱", "inform", "yes"),
        ("👍", None, "yes"),
        ("no, the value is wrong", "affirm", "no"),
        ("不对，价值是800元", "inform", "no"),
        ("nobody told me", "deny", "no"),
        ("好慢啊", None, None),
        ("嗯……让我想想看", "affirm", "yes"),
        ("嗯……让我想想看", "inform", None),
        ("嗯嗯", None, "yes"),
        ("是我的快递", None, None),
        ("2", "inform", None),
        ("I will send a photo later", "inform", None),
        ("/affirm", "affirm", "yes"),
        ("🤔", "affirm", None),
        ("??", "deny", None),
    ],
)
def test_a_yes_or_a_no_is_read_from_the_first_words_then_the_intent(
    text: str, intent: str | None, reading: str | None
) -> None:
    assert read_yes_no(text, intent) == reading


def test_what_a_yes_adds_is_kept() -> None:
    assert after_yes_no("yes, and nobody even told me!!") == "and nobody even told me"
    assert after_yes_no("好的，我要退钱") == "我要退钱"
    assert after_yes_no("yes") == ""


@pytest.mark.parametrize(
    ("text", "promised"),
    [
        ("I will send a photo later", True),
        ("等下发照片", True),
        ("no photo yet, I'll send one tomorrow", True),
        ("I don't have a photo", False),
        ("later", False),
        ("没有照片", False),
    ],
)
def test_a_photo_promise(text: str, promised: bool) -> None:
    assert promises_photo(text) is promised


def summary_slots(sender: str) -> dict[str, Any]:
    events, _ = run(ActionStartComplaint(), make_tracker(DELAY, intent="complain", sender_id=sender))
    return {**applied(events), "complaint_wants": "refund", "awaiting": "summary_confirm"}


def tickets(sender: str) -> list[Any]:
    with transaction() as session:
        return list(list_tickets(session, conversation_id=sender))


def test_an_unclear_answer_at_the_summary_asks_again_then_hands_over_with_everything() -> None:
    sender = new_sender()
    slots = summary_slots(sender)
    events, texts = run(
        ActionComplaintAnswer(), make_tracker("2", intent="inform", sender_id=sender, slots=slots)
    )
    assert texts[0].startswith(NOT_YES_NO_TEXT) and "Is the summary above right?" in texts[0]
    assert SlotSet("awaiting", "summary_confirm") in events and SlotSet("complaint_retries", 1.0) in events
    assert tickets(sender) == []
    slots = applied(events, slots)
    events, texts = run(
        ActionComplaintAnswer(), make_tracker("🤔", intent="out_of_scope", sender_id=sender, slots=slots)
    )
    [ticket] = tickets(sender)
    assert ticket.number in texts[-1] and SlotSet("awaiting", "done") in events
    assert (ticket.status, ticket.waybill, ticket.category, ticket.customer_wants) == (
        "escalated",
        "EA100000034CN",
        "delay",
        "refund",
    )


def test_a_value_at_the_summary_is_a_correction_of_the_value() -> None:
    sender = new_sender()
    slots = summary_slots(sender)
    events, texts = run(
        ActionComplaintAnswer(),
        make_tracker("the goods were worth 800 yuan", intent="inform", sender_id=sender, slots=slots),
    )
    after = applied(events, slots)
    assert (after["complaint_value"], after["awaiting"]) == ("800", None)
    assert texts == ["Thanks, let me fix that."]


def test_a_yes_that_adds_a_wish_feeds_the_analysis() -> None:
    sender = new_sender()
    slots = {**summary_slots(sender), "complaint_wants": None}
    events, _ = run(
        ActionAnalyseComplaint(),
        make_tracker("yes and I want my money back", intent="affirm", sender_id=sender, slots=slots),
    )
    assert SlotSet("complaint_wants", "refund") in events
    [ticket] = tickets(sender)
    assert ticket.customer_wants == "refund"


def test_a_photo_promise_accepts_a_claim_that_waits_for_one() -> None:
    sender = new_sender()
    story = "EA100000065CN arrived and the vase inside is smashed"
    events, _ = run(ActionStartComplaint(), make_tracker(story, intent="complain", sender_id=sender))
    slots = {**applied(events), "complaint_photo": "later", "complaint_wants": "compensation"}
    events, texts = run(
        ActionAnalyseComplaint(),
        make_tracker(
            "yes", intent="affirm", sender_id=sender, slots={**slots, "awaiting": "summary_confirm"}
        ),
    )
    slots = applied(events, slots)
    assert slots["awaiting"] == "remedy_answer"
    events, texts = run(
        ActionComplaintAnswer(), make_tracker("等下发照片", intent="inform", sender_id=sender, slots=slots)
    )
    assert SlotSet("awaiting", "done") in events
    [ticket] = tickets(sender)
    assert ticket.status == "open" and ticket.number in texts[-1]


def test_a_photo_at_the_summary_is_thanked_for_and_the_summary_asked_again() -> None:
    sender = new_sender()
    events, _ = run(
        ActionStartComplaint(),
        make_tracker(
            "EA100000065CN arrived and the vase inside is smashed", intent="complain", sender_id=sender
        ),
    )
    slots = {**applied(events), "complaint_photo": "later", "awaiting": "summary_confirm"}
    events, texts = run(
        ActionComplaintAnswer(), make_tracker(PHOTO_FOR_BOT, intent="inform", sender_id=sender, slots=slots)
    )
    assert texts[0] == PHOTO_RECEIVED_TEXT and "Is the summary above right?" in texts[1]
    assert SlotSet("complaint_photo", "received") in events
    assert SlotSet("complaint_retries", 0.0) in events


def test_a_yes_read_as_a_no_at_the_complaint_offer_starts_the_complaint() -> None:
    tracker = make_tracker("yes!! nobody told me", intent="deny", slots={"awaiting": "complaint_offer"})
    events, texts = run(ActionDeclineOffer(), tracker)
    assert texts == [] and events == [
        {"event": "followup", "timestamp": None, "name": "action_start_complaint"}
    ]


def test_a_yes_read_as_a_ticket_question_at_the_complaint_offer_starts_the_complaint() -> None:
    tracker = make_tracker(
        "是的！！根本没人通知我", intent="ask_ticket_status", slots={"awaiting": "complaint_offer"}
    )
    events, texts = run(ActionTicketStatus(), tracker)
    assert texts == [] and events == [
        {"event": "followup", "timestamp": None, "name": "action_start_complaint"}
    ]
