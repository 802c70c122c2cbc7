"""action_answer_shipment, action_find_by_phone and action_decline_offer against the seeded demo data."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta

import pytest
from rasa_sdk.events import ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from backend.formatting import day_text
from backend.phones import find_phone_in_text
from backend.services.conversations import verified_customer_id, verify_customer
from backend.services.tickets import get_ticket
from bot.actions.client import transaction
from bot.actions.dialogue import asks_for_call_back
from bot.actions.shipment_flow import ASK_WAYBILL_TEXT, NO_MATCH_TEXT, NO_NUMBER_HELP_TEXT
from bot.actions.shipment_text import OFFER_TEXT, malformed_text, mistyped_text, not_found_text
from bot.actions.shipments import (
    NO_PHONE_HELP_TEXT,
    PROVE_PHONE_TEXT,
    SHARE_CONTACT_TEXT,
    ActionAnswerShipment,
    ActionDeclineOffer,
    ActionFindByPhone,
)
from tests.bot.trackers import make_tracker, run
from tools.evaluate import NLU_DATA, read_nlu_examples

ANSWER = ActionAnswerShipment()


def day(today: date, offset: int) -> str:
    return day_text(today + timedelta(days=offset), today)


def test_status_with_the_number_in_the_text(today: date) -> None:
    events, texts = run(ANSWER, make_tracker("where is ea 1000 0001 7 cn?", intent="track_shipment"))
    assert events == [
        SlotSet("waybill", "EA100000017CN"),
        SlotSet("pending_question", None),
        SlotSet("awaiting", None),
    ]
    assert texts == [
        f"EA100000017CN (Nanning → Guangzhou): It was delivered {day(today, -2)} at 14:05. "
        'It was signed for by "Li Wei" (the recipient). '
        f"It was promised for {day(today, -2)} and arrived on time."
    ]


@pytest.mark.parametrize(
    ("intent", "aspect"),
    [("track_shipment", "status"), ("ask_eta", "eta"), ("ask_signed_by", "signed_by"), ("greet", "status")],
)
def test_no_number_asks_for_it_and_remembers_the_question(intent: str, aspect: str) -> None:
    events, texts = run(ANSWER, make_tracker("where is my parcel?", intent=intent))
    assert events == [SlotSet("pending_question", aspect)]
    assert texts == [ASK_WAYBILL_TEXT]


def test_the_pending_question_survives_an_unrelated_intent() -> None:
    tracker = make_tracker("ok so?", intent="inform", slots={"pending_question": "delay_reason"})
    events, texts = run(ANSWER, tracker)
    assert events == [SlotSet("pending_question", "delay_reason")]
    assert texts == [ASK_WAYBILL_TEXT]


@pytest.mark.parametrize("text", ["no idea", "I don't have the number", "lost the receipt"])
def test_no_number_to_give_is_not_asked_for_again(text: str) -> None:
    tracker = make_tracker(text, intent="track_shipment", slots={"pending_question": "status"})
    events, texts = run(ANSWER, tracker)
    assert events == [SlotSet("pending_question", None)]
    assert texts == [NO_NUMBER_HELP_TEXT]


def test_the_waybill_question_is_never_asked_twice_in_a_row() -> None:
    tracker = make_tracker("where is it", intent="track_shipment")
    tracker.events.append({"event": "bot", "text": ASK_WAYBILL_TEXT})
    events, texts = run(ANSWER, tracker)
    assert texts == [NO_NUMBER_HELP_TEXT]


def test_the_phone_question_is_never_asked_twice_in_a_row() -> None:
    tracker = make_tracker("I don't have the phone number", intent="find_by_phone", sender_id="rest:abc")
    events, texts = run(ActionFindByPhone(), tracker)
    assert events == [SlotSet("pending_question", None)]
    assert texts == [NO_PHONE_HELP_TEXT]


def test_mistyped_number() -> None:
    events, texts = run(ANSWER, make_tracker("EA 1000 0001 8 CN", intent="ask_eta"))
    assert events == [SlotSet("pending_question", "eta")]
    assert texts == [mistyped_text("EA100000018CN")]
    assert "EA100000018CN looks mistyped" in texts[0]


def test_malformed_number() -> None:
    events, texts = run(ANSWER, make_tracker("my number is EA10000001CN", intent="track_shipment"))
    assert events == [SlotSet("pending_question", "status")]
    assert texts == [malformed_text("EA10000001CN")]


def test_valid_number_that_we_do_not_know() -> None:
    events, texts = run(ANSWER, make_tracker("EA100000153CN", intent="track_shipment"))
    assert events == [SlotSet("pending_question", "status"), SlotSet("waybill", None)]
    assert texts == [not_found_text("EA100000153CN")]


def test_a_late_shipment_offers_a_complaint() -> None:
    events, texts = run(ANSWER, make_tracker("where is EA100000034CN", intent="track_shipment"))
    assert events == [
        SlotSet("waybill", "EA100000034CN"),
        SlotSet("pending_question", None),
        SlotSet("awaiting", "complaint_offer"),
    ]
    answer, offer = texts
    assert answer.startswith("EA100000034CN (Nanning → Beijing): It is held")
    # The last scan already names the cause, so the answer says it once.
    assert answer.count("capacity shortage") == 1
    assert "Last scan: Still held at Wuhan hub: capacity shortage on the Beijing linehaul " in answer
    assert "(Wuhan hub, yesterday at 09:00)." in answer
    assert "so it is 2 days late." in answer
    assert answer.endswith("We'll move it on the first available departure and keep you updated.")
    assert offer == OFFER_TEXT


def test_an_overbilled_shipment_offers_a_complaint() -> None:
    events, texts = run(ANSWER, make_tracker("EA100000096CN", intent="track_shipment"))
    assert events[-1] == SlotSet("awaiting", "complaint_offer")
    assert "It was billed for 12 kg against 5 kg declared: 144.00 CNY (quoted 60.00 CNY)." in texts[0]
    assert texts[1] == OFFER_TEXT


@pytest.mark.parametrize(
    ("slots", "active_loop"),
    [({"ticket_number": "T-202611-00001"}, {}), ({}, {"name": "complaint_form"})],
    ids=["complaint-registered", "form-active"],
)
def test_no_offer_while_a_complaint_is_taken_or_registered(
    slots: dict[str, str], active_loop: dict[str, str]
) -> None:
    tracker = make_tracker("EA100000034CN", intent="track_shipment", slots=slots, active_loop=active_loop)
    events, texts = run(ANSWER, tracker)
    assert events[-1] == SlotSet("awaiting", None)
    assert OFFER_TEXT not in texts and len(texts) == 1


def test_follow_up_question_uses_the_waybill_slot(today: date) -> None:
    tracker = make_tracker("who signed for it?", intent="ask_signed_by", slots={"waybill": "EA100000017CN"})
    events, texts = run(ANSWER, tracker)
    assert events == [
        SlotSet("waybill", "EA100000017CN"),
        SlotSet("pending_question", None),
        SlotSet("awaiting", None),
    ]
    assert texts == [
        f'EA100000017CN (Nanning → Guangzhou): It was signed for by "Li Wei" (the recipient) '
        f"{day(today, -2)} at 14:05."
    ]


def test_the_number_after_the_question_answers_the_pending_question() -> None:
    tracker = make_tracker(
        "EA100000034CN", intent="inform_waybill", slots={"pending_question": "delay_reason"}
    )
    events, texts = run(ANSWER, tracker)
    assert events[:2] == [SlotSet("waybill", "EA100000034CN"), SlotSet("pending_question", None)]
    assert texts[0].startswith(
        "EA100000034CN (Nanning → Beijing): The reason: Held at Wuhan hub: capacity shortage on the "
        "Wuhan-Beijing linehaul."
    )


def test_a_number_in_the_text_wins_over_the_slot() -> None:
    tracker = make_tracker("and EA100000065CN?", intent="track_shipment", slots={"waybill": "EA100000017CN"})
    events, texts = run(ANSWER, tracker)
    assert events[0] == SlotSet("waybill", "EA100000065CN")
    assert texts[0].startswith("EA100000065CN (Nanning → Kunming): It was delivered yesterday at 11:20.")


# --- action_find_by_phone ---------------------------------------------------------------------------


def web_sender() -> str:
    return f"web:{uuid.uuid4()}"


def listed_waybills(text: str) -> set[str]:
    lines = text.split("\n")
    assert lines[0] == f"I found {len(lines) - 2} recent shipment(s) on your account:"
    assert lines[-1] == "Send me one of the numbers for the full details."
    return {line[2:15] for line in lines[1:-1]}


def test_a_phone_number_alone_does_not_list_an_account() -> None:
    sender = web_sender()
    events, texts = run(ActionFindByPhone(), make_tracker("it's +86 138 0000 0002", sender_id=sender))
    assert texts == [PROVE_PHONE_TEXT]
    assert events == [SlotSet("pending_question", None), SlotSet("phone_to_verify", "+8613800000002")]


def test_an_unknown_number_gets_the_same_answer_as_a_known_one() -> None:
    # Nobody can learn from the answer whether a number belongs to one of our customers.
    events, texts = run(ActionFindByPhone(), make_tracker("+86 139 9999 9999", sender_id=web_sender()))
    assert texts == [PROVE_PHONE_TEXT]
    assert SlotSet("phone_to_verify", "+8613999999999") in events


def test_phone_then_a_waybill_of_the_same_account_lists_its_shipments() -> None:
    sender = web_sender()
    tracker = make_tracker(
        "EA100000017CN",
        intent="provide_waybill",
        sender_id=sender,
        slots={"phone_to_verify": "+8613800000002"},
    )
    events, texts = run(ANSWER, tracker)
    assert len(texts) == 2 and "EA100000017CN" in texts[0]
    assert {"EA100000017CN", "EA100000034CN", "EA100000079CN", "EA100000096CN"} <= listed_waybills(texts[1])
    assert SlotSet("phone_to_verify", None) in events
    with transaction() as session:
        assert verified_customer_id(session, sender) == "C002"


def test_phone_then_a_waybill_of_another_account_lists_nothing() -> None:
    sender = web_sender()
    tracker = make_tracker(
        "EA100000025CN",
        intent="provide_waybill",
        sender_id=sender,
        slots={"phone_to_verify": "+8613800000002"},
    )
    events, texts = run(ANSWER, tracker)
    assert texts[-1] == NO_MATCH_TEXT
    assert not any("+86" in text or "138" in text for text in texts)
    with transaction() as session:
        assert verified_customer_id(session, sender) is None


def test_a_waybill_then_the_phone_of_its_account_lists_its_shipments() -> None:
    tracker = make_tracker("+86 138 0000 0002", sender_id=web_sender(), slots={"waybill": "EA100000034CN"})
    events, texts = run(ActionFindByPhone(), tracker)
    assert "EA100000096CN" in listed_waybills(texts[0])
    assert events[0] == SlotSet("pending_question", None)


def test_on_telegram_a_typed_number_asks_for_the_own_contact() -> None:
    sender = f"telegram:{uuid.uuid4().int % 10**9}"
    dispatcher = CollectingDispatcher()
    events = asyncio.run(
        ActionFindByPhone().run(dispatcher, make_tracker("+86 138 0000 0002", sender_id=sender), {})
    )
    assert events == [SlotSet("pending_question", None)]
    assert dispatcher.messages[0]["custom"] == {"text": SHARE_CONTACT_TEXT, "request_contact": True}


def test_on_telegram_a_verified_own_contact_lists_the_shipments() -> None:
    sender = f"telegram:{uuid.uuid4().int % 10**9}"
    with transaction() as session:
        verify_customer(session, conversation_id=sender, customer_id="C002")
    events, texts = run(ActionFindByPhone(), make_tracker("+8613800000002", sender_id=sender))
    assert "EA100000079CN" in listed_waybills(texts[0])


def test_find_by_phone_with_a_single_shipment_sets_the_waybill() -> None:
    # C010 of the seeded random customers has exactly one shipment.
    sender = web_sender()
    with transaction() as session:
        verify_customer(session, conversation_id=sender, customer_id="C010")
    events, texts = run(ActionFindByPhone(), make_tracker("+86 139 0000 0010", sender_id=sender))
    assert len(texts) == 1 and texts[0].startswith("I found 1 recent shipment(s) on your account:\n- ")
    waybill = texts[0].split("\n")[1][2:15]
    assert events == [
        SlotSet("pending_question", None),
        SlotSet("phone_to_verify", None),
        SlotSet("waybill", waybill),
    ]


def test_find_by_phone_without_a_number_asks_for_it() -> None:
    events, texts = run(ActionFindByPhone(), make_tracker("find my parcels", sender_id=web_sender()))
    assert events == [SlotSet("pending_question", "phone")]
    assert texts == [
        "Of course. What's the phone number registered on your account? For example +86 139 1234 5678."
    ]


def test_decline_offer() -> None:
    tracker = make_tracker("no thanks", intent="deny", slots={"awaiting": "complaint_offer"})
    events, texts = run(ActionDeclineOffer(), tracker)
    assert events == [SlotSet("awaiting", None)]
    assert texts == [
        "All right, no complaint. I'll keep you informed if anything changes. "
        "Anything else I can check for you?"
    ]


# --- a phone number left for a call back ---------------------------------------------------------------


def test_a_number_left_for_a_call_back_hands_over_instead_of_searching() -> None:
    for text in ("客服有空打我手机 186 0000 1111", "please have an agent call me on +86 138 0000 0002"):
        sender = web_sender()
        events, texts = run(ActionFindByPhone(), make_tracker(text, intent="find_by_phone", sender_id=sender))
        assert ConversationPaused() in events, text
        number = next(e["value"] for e in events if e.get("name") == "ticket_number")
        with transaction() as session:
            ticket = get_ticket(session, number)
            assert ticket is not None and (ticket.kind, ticket.description) == ("handoff", text)
        assert number in texts[0] and PROVE_PHONE_TEXT not in texts


def test_call_me_on_a_number_answers_the_phone_question() -> None:
    tracker = make_tracker(
        "call me on +86 138 0000 0002",
        intent="find_by_phone",
        sender_id=web_sender(),
        slots={"pending_question": "phone"},
    )
    events, texts = run(ActionFindByPhone(), tracker)
    assert texts == [PROVE_PHONE_TEXT]
    assert SlotSet("phone_to_verify", "+8613800000002") in events


def training_texts(intent: str) -> list[str]:
    return [text for name, text in read_nlu_examples(sorted(NLU_DATA.glob("*.yml"))) if name == intent]


def test_every_search_by_phone_in_the_training_data_is_still_a_search() -> None:
    searches = training_texts("find_by_phone")
    assert len(searches) > 100
    assert [text for text in searches if asks_for_call_back(text)] == []


def test_requests_for_a_person_with_a_phone_number_are_seen() -> None:
    callers = [text for text in training_texts("request_human") if find_phone_in_text(text) is not None]
    assert len(callers) >= 10
    assert [text for text in callers if not asks_for_call_back(text)] == []
