"""The complaint script: action_start_complaint, the form validator, summary, correction, analysis, remedy."""

from __future__ import annotations

import asyncio
import hashlib
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk.events import ConversationPaused, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from backend.complaints.findings import said
from backend.complaints.wording import calm_message
from backend.i18n import full_date_text
from backend.models import Conversation
from backend.services import complaints as use_cases
from backend.services.attachments import store_attachment
from backend.services.tickets import StaleTicket, get_ticket, list_ticket_events, list_tickets
from bot.actions.client import transaction
from bot.actions.complaint_flow import COMPLAINT_SLOTS, FORM_SLOTS
from bot.actions.complaint_form import ValidateComplaintForm
from bot.actions.complaint_texts import (
    CORRECTION_KEPT_TEXT,
    NO_PHOTO_YET_TEXT,
    NO_VALUE_OK_TEXT,
    NO_WAYBILL_OK_TEXT,
    PHOTO_LATER_TEXT,
    STALE_TEXT,
    failure_text,
    record_facts_text,
)
from bot.actions.complaints import (
    ActionAcceptRemedy,
    ActionAnalyseComplaint,
    ActionComplaintSummary,
    ActionCorrectComplaint,
    ActionRefuseRemedy,
    ActionStartComplaint,
    ActionStopComplaint,
)
from bot.actions.escalation import business_calendar, who_answers_text
from bot.actions.shipment_text import malformed_text, mistyped_text, not_found_text
from tests.bot.actions.stories import DELAY_STORY, VOUCHER
from tests.bot.trackers import DOMAIN, applied, make_tracker, new_sender, run, shipment, validate
from tests.fakes.images import png_bytes

PNG_1PX = png_bytes(1, 1)

NUMBER = re.compile(r"T-\d{6}-\d{5}")
FULL_REFUND = "We'll refund the full freight of 180.00 CNY."
FORM = ValidateComplaintForm()


def complaint_id(sender: str, message_id: str) -> str:
    return hashlib.sha1(f"{sender}:{message_id}".encode()).hexdigest()[:12]


def start(sender: str, text: str, **slots: Any) -> dict[str, Any]:
    """Runs action_start_complaint on a story; returns the slots, with `slots` filled in as the form would."""
    events, _ = run(ActionStartComplaint(), make_tracker(text, intent="complain", sender_id=sender))
    # The slots the action leaves empty (it sets only what changes) are empty in the tracker.
    return {**dict.fromkeys(FORM_SLOTS), **applied(events), **slots}


def analyse(sender: str, slots: dict[str, Any]) -> tuple[list[EventType], list[str], dict[str, Any]]:
    events, texts = run(
        ActionAnalyseComplaint(), make_tracker("yes", intent="affirm", sender_id=sender, slots=slots)
    )
    return events, texts, applied(events, slots)


def escalation_text(number: str, priority: str, now: datetime) -> str:
    return (
        f"I've registered your complaint as {number} and passed it to a colleague who can decide on it. "
        + who_answers_text(priority, now)
        + " They will see everything you've told me, so you won't need to repeat it."
    )


# --- action_start_complaint -------------------------------------------------------------------------


def test_start_prefills_waybill_category_and_wants_from_the_story() -> None:
    sender = new_sender()
    text = DELAY_STORY.replace("nobody", "NOBODY") + "!!! I want my money back"
    tracker = make_tracker(text, intent="complain", sender_id=sender, message_id="m-1")
    events, texts = run(ActionStartComplaint(), tracker)
    expected: dict[str, Any] = {slot: None for slot in FORM_SLOTS}
    expected.update(
        complaint_waybill="EA100000034CN",
        complaint_category="delay",
        complaint_wants="refund",
        complaint_id=complaint_id(sender, "m-1"),
        complaint_description=text,
        complaint_retries=0.0,
        complaint_correction_pending=False,
        complaint_refusals=0.0,
        ticket_number=None,
        awaiting=None,
        pending_question=None,
        waybill="EA100000034CN",
    )
    # Only what changes: the slots a new conversation has empty are not set to empty again.
    assert events == [SlotSet(name, value) for name, value in expected.items() if value is not None]
    assert texts == [calm_message("delay", 1, seed="m-1")]
    assert "sorry" in texts[0].lower() or "apolog" in texts[0]


def test_bare_request_prefills_nothing_but_the_complaint_id() -> None:
    sender = new_sender()
    tracker = make_tracker("I want to complain", intent="complain", sender_id=sender, message_id="m-2")
    events, texts = run(ActionStartComplaint(), tracker)
    slots = applied(events)
    assert slots["complaint_id"] == complaint_id(sender, "m-2")
    filled = {name: value for name, value in slots.items() if value not in (None, False, 0.0)}
    assert filled == {"complaint_id": complaint_id(sender, "m-2")}
    assert all(slots.get(slot) is None for slot in FORM_SLOTS) and "waybill" not in slots
    assert texts == [calm_message(None, 0, seed="m-2")]


def test_a_new_complaint_clears_what_the_last_one_left_and_sets_nothing_twice() -> None:
    # Each SlotSet is a tracker event stored and read on every later turn: only changes are sent.
    earlier = {"complaint_category": "damage", "complaint_wants": "refund", "awaiting": "summary_confirm"}
    tracker = make_tracker("I want to complain", intent="complain", slots=earlier, message_id="m-3")
    events, _ = run(ActionStartComplaint(), tracker)
    changed = {event["name"]: event["value"] for event in events if event.get("event") == "slot"}
    assert changed["complaint_category"] is None and changed["complaint_wants"] is None
    assert changed["awaiting"] is None
    assert "complaint_photo" not in changed and "ticket_number" not in changed
    assert all(value != tracker.get_slot(name) for name, value in changed.items())


def test_damage_story_prefills_the_declared_value_from_the_record() -> None:
    slots = start(
        new_sender(), "My parcel EA100000065CN arrived broken, the vase inside is smashed into pieces"
    )
    assert (slots["complaint_waybill"], slots["complaint_category"], slots["complaint_value"]) == (
        "EA100000065CN",
        "damage",
        "400.00",
    )
    assert slots["complaint_wants"] is None
    # The story said what was damaged: the form does not ask "What exactly was damaged?" again.
    assert slots["complaint_extent"] == "the vase inside is smashed into pieces"


@pytest.mark.parametrize(
    ("story", "extent"),
    [
        ("EA100000065CN arrived today and my TV screen is cracked!!", "my TV screen is cracked"),
        ("EA100000065CN 收到了，里面的花瓶碎了，太过分了", "里面的花瓶碎了"),
        ("EA100000065CN 外箱压扁了，摔坏了一台咖啡机", "摔坏了一台咖啡机"),
        ("My parcel EA100000065CN arrived damaged", None),
        ("EA100000065CN the box is crushed, what a mess", None),
        ("EA100000065CN 快递送来的时候就坏了", None),
        ("EA100000065CN 包装破了一个洞", None),
    ],
)
def test_a_damage_story_that_names_the_goods_gives_the_extent(story: str, extent: str | None) -> None:
    slots = start(new_sender(), story)
    assert slots["complaint_category"] == "damage"
    assert slots["complaint_extent"] == extent


def test_the_shippers_own_value_is_kept_beside_the_declared_one() -> None:
    slots = start(new_sender(), "EA100000065CN arrived smashed, it was a vase worth 800 yuan, I'm so upset")
    assert slots["complaint_value"] == "800"
    tracker = make_tracker(slots={**slots, "complaint_wants": "compensation", "complaint_photo": "later"})
    _, texts = run(ActionComplaintSummary(), tracker)
    assert "- Value of the goods: 800.00 CNY by your account; 400.00 CNY declared on the waybill" in texts[0]
    chinese = make_tracker(slots={**slots, "language": "zh", "complaint_photo": "later"})
    _, texts = run(ActionComplaintSummary(), chinese)
    assert "- 货物价值：按您所说是 800.00 元；运单上的申报价值是 400.00 元" in texts[0]


def test_the_analysis_records_the_disagreement_for_the_agent() -> None:
    sender = new_sender()
    slots = start(sender, "EA100000065CN arrived smashed, it was a vase worth 800 yuan, I'm so upset")
    slots.update(complaint_wants="compensation", complaint_photo="later")
    _, _, after = analyse(sender, slots)
    with transaction() as session:
        (analysed,) = [
            e for e in list_ticket_events(session, after["ticket_number"]) if e.action == "analysed"
        ]
        findings = [said(finding, "en") for finding in analysed.data["findings"]]
        chinese = [said(finding, "zh") for finding in analysed.data["findings"]]
    assert any(finding.startswith("Declared value 400.00 CNY") for finding in findings)
    assert "The customer values the goods at 800.00 CNY" in findings
    assert "客户自述货物价值为 800.00 元" in chinese


def test_a_value_that_matches_the_record_is_shown_once() -> None:
    slots = start(new_sender(), "EA100000065CN arrived smashed, a vase worth 400 yuan")
    _, texts = run(ActionComplaintSummary(), make_tracker(slots=slots))
    assert "- Value of the goods: 400.00 CNY\n" in texts[0]


def test_accepting_the_offer_with_yes_takes_the_waybill_and_category_from_the_record() -> None:
    tracker = make_tracker("yes", intent="affirm", slots={"waybill": "EA100000034CN"})
    events, _ = run(ActionStartComplaint(), tracker)
    slots = applied(events)
    assert (slots["complaint_waybill"], slots["complaint_category"]) == ("EA100000034CN", "delay")
    assert slots.get("complaint_description") is None


def test_accepting_the_offer_on_a_missing_shipment_prefills_a_loss() -> None:
    tracker = make_tracker("yes", intent="affirm", slots={"waybill": "EA100000051CN"})
    events, _ = run(ActionStartComplaint(), tracker)
    slots = applied(events)
    assert slots["complaint_category"] == "loss"
    assert (slots["complaint_extent"], slots["complaint_value"]) == ("the whole shipment", "3000.00")


def test_start_with_a_mistyped_number_says_so() -> None:
    events, texts = run(
        ActionStartComplaint(), make_tracker("my parcel EA100000018CN arrived completely broken today")
    )
    assert texts[1] == mistyped_text("EA100000018CN")
    assert applied(events).get("complaint_waybill") is None


# --- ValidateComplaintForm ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("category", "required"),
    [
        (None, ["complaint_category", "complaint_waybill", "complaint_wants"]),
        ("delay", ["complaint_category", "complaint_waybill", "complaint_wants"]),
        ("billing", ["complaint_category", "complaint_waybill", "complaint_wants"]),
        ("staff_conduct", ["complaint_category", "complaint_waybill", "complaint_when", "complaint_wants"]),
        ("other", ["complaint_category", "complaint_waybill", "complaint_when", "complaint_wants"]),
        (
            "loss",
            [
                "complaint_category",
                "complaint_waybill",
                "complaint_extent",
                "complaint_value",
                "complaint_wants",
            ],
        ),
        (
            "damage",
            [
                "complaint_category",
                "complaint_waybill",
                "complaint_extent",
                "complaint_value",
                "complaint_photo",
                "complaint_wants",
            ],
        ),
    ],
)
def test_required_slots_per_category(category: str | None, required: list[str]) -> None:
    tracker = make_tracker(slots={"complaint_category": category})
    assert asyncio.run(FORM.required_slots([], CollectingDispatcher(), tracker, DOMAIN)) == required


def test_a_pending_correction_is_asked_first() -> None:
    tracker = make_tracker(slots={"complaint_category": "delay", "complaint_correction_pending": True})
    assert asyncio.run(FORM.required_slots([], CollectingDispatcher(), tracker, DOMAIN)) == [
        "complaint_correction",
        "complaint_category",
        "complaint_waybill",
        "complaint_wants",
    ]


@pytest.mark.parametrize(
    ("category", "answer", "result"),
    [
        ("delay", "EA100000034CN", {"complaint_waybill": "EA100000034CN", "waybill": "EA100000034CN"}),
        (
            "damage",
            "it's ea-1000-0006-5-cn",
            {"complaint_waybill": "EA100000065CN", "waybill": "EA100000065CN", "complaint_value": "400.00"},
        ),
        (
            "loss",
            "EA100000051CN",
            {
                "complaint_waybill": "EA100000051CN",
                "waybill": "EA100000051CN",
                "complaint_value": "3000.00",
                "complaint_extent": "the whole shipment",
            },
        ),
    ],
)
def test_validate_waybill_known(category: str, answer: str, result: dict[str, Any]) -> None:
    tracker = make_tracker(answer, slots={"complaint_category": category})
    assert validate(FORM, "validate_complaint_waybill", answer, tracker) == (result, [])


def test_validate_waybill_keeps_a_value_the_customer_gave() -> None:
    tracker = make_tracker(slots={"complaint_category": "damage", "complaint_value": "350"})
    slots, _ = validate(FORM, "validate_complaint_waybill", "EA100000065CN", tracker)
    assert slots == {"complaint_waybill": "EA100000065CN", "waybill": "EA100000065CN"}


@pytest.mark.parametrize(
    ("answer", "result", "said"),
    [
        ("EA 1000 0001 8 CN", None, mistyped_text("EA100000018CN")),
        # Too short to be a waybill: "incomplete", not "mistyped".
        ("EA10000001CN", None, malformed_text("EA10000001CN")),
        ("EA100000153CN", None, not_found_text("EA100000153CN")),
        ("I don't have it", "none", NO_WAYBILL_OK_TEXT),
        (
            "hello",
            None,
            "I couldn't see a waybill number in that. It has 13 characters, like EA123456785CN. "
            "If you don't have it, just say \"I don't have it\".",
        ),
    ],
)
def test_validate_waybill_rejected_or_missing(answer: str, result: str | None, said: str) -> None:
    tracker = make_tracker(answer, slots={"complaint_category": "delay"})
    # A first failed try is counted; an honest "I don't have it" ends the question at once.
    tries = 0.0 if result else 1.0
    assert validate(FORM, "validate_complaint_waybill", answer, tracker) == (
        {"complaint_waybill": result, "complaint_retries": tries},
        [said],
    )


@pytest.mark.parametrize("answer", ["hello", "EA100000153CN", "EA10000001CN"])
def test_the_second_failed_waybill_goes_on_without_one(answer: str) -> None:
    tracker = make_tracker(answer, slots={"complaint_category": "delay", "complaint_retries": 1.0})
    slots, said = validate(FORM, "validate_complaint_waybill", answer, tracker)
    assert slots == {"complaint_waybill": "none", "complaint_retries": 0.0}
    assert said[-1].endswith(NO_WAYBILL_OK_TEXT)


@pytest.mark.parametrize(
    ("answer", "category"),
    [
        ("the box arrived broken", "damage"),
        ("they charged me too much", "billing"),
        ("the courier was rude", "staff_conduct"),
    ],
)
def test_validate_category(answer: str, category: str) -> None:
    tracker = make_tracker(answer, slots={"complaint_waybill": "none"})
    slots, said = validate(FORM, "validate_complaint_category", answer, tracker)
    assert slots == {"complaint_category": category, "complaint_description": answer}
    assert said == []


@pytest.mark.parametrize(
    ("answer", "category"), [("billing", "billing"), ("late", "delay"), ("lost", "loss")]
)
def test_a_category_name_is_not_a_description(answer: str, category: str) -> None:
    tracker = make_tracker(answer, slots={"complaint_waybill": "none"})
    assert validate(FORM, "validate_complaint_category", answer, tracker) == (
        {"complaint_category": category},
        [],
    )


def test_validate_category_prefills_from_the_record_and_keeps_the_description() -> None:
    tracker = make_tracker(
        slots={"complaint_waybill": "EA100000051CN", "complaint_description": "It vanished."}
    )
    assert validate(FORM, "validate_complaint_category", "lost", tracker) == (
        {
            "complaint_category": "loss",
            "complaint_value": "3000.00",
            "complaint_extent": "the whole shipment",
        },
        [],
    )


def test_what_happened_takes_any_answer() -> None:
    """An open question: words that name no category are "another problem", in the customer's words."""
    answer = "something weird with the whole thing honestly"
    assert validate(FORM, "validate_complaint_category", answer, make_tracker()) == (
        {"complaint_category": "other", "complaint_description": answer},
        [],
    )


@pytest.mark.parametrize(
    ("answer", "value"),
    [("2k", "2000"), ("¥1,200", "1200"), ("800", "800"), ("don't know", "unknown"), ("no idea", "unknown")],
)
def test_validate_value(answer: str, value: str) -> None:
    assert validate(FORM, "validate_complaint_value", answer, make_tracker()) == (
        {"complaint_value": value},
        [],
    )


def test_validate_value_unreadable_then_move_on() -> None:
    second = make_tracker("lots", slots={"complaint_retries": 1.0})
    assert validate(FORM, "validate_complaint_value", "lots", second) == (
        {"complaint_value": "unknown", "complaint_retries": 0.0},
        [NO_VALUE_OK_TEXT],
    )
    assert validate(FORM, "validate_complaint_value", "lots", make_tracker()) == (
        {"complaint_value": None, "complaint_retries": 1.0},
        [
            "Sorry, I couldn't read an amount there. Roughly how much are the goods worth, in CNY? "
            '"Don\'t know" is fine too.'
        ],
    )


@pytest.mark.parametrize("answer", ["later", "I'll send it tomorrow"])
def test_validate_photo_later(answer: str) -> None:
    assert validate(FORM, "validate_complaint_photo", answer, make_tracker()) == (
        {"complaint_photo": "later"},
        [],
    )


@pytest.mark.parametrize("answer", ["here it is", "yes", "sent"])
def test_words_alone_are_not_a_photo(answer: str) -> None:
    assert validate(FORM, "validate_complaint_photo", answer, make_tracker()) == (
        {"complaint_photo": None, "complaint_retries": 1.0},
        [NO_PHOTO_YET_TEXT],
    )


def test_asked_twice_without_a_photo_the_claim_waits_for_it() -> None:
    tracker = make_tracker("I sent it already", slots={"complaint_retries": 1.0})
    assert validate(FORM, "validate_complaint_photo", "I sent it already", tracker) == (
        {"complaint_photo": "later", "complaint_retries": 0.0},
        [PHOTO_LATER_TEXT],
    )


def test_an_attached_photo_counts(tmp_path: Path) -> None:
    tracker = make_tracker("[photo]")
    with transaction() as session:
        store_attachment(
            session,
            conversation_id=tracker.sender_id,
            data=PNG_1PX,
            upload_dir=tmp_path,
            max_bytes=10_000,
        )
    assert validate(FORM, "validate_complaint_photo", "[photo]", tracker) == (
        {"complaint_photo": "received"},
        [],
    )


@pytest.mark.parametrize(
    ("answer", "wants"),
    [
        ("refund please", "refund"),
        ("please deliver it again", "redelivery"),
        ("I just want them to be careful", "I just want them to be careful"),
        # Asking for nothing in particular is not a wish to record.
        ("no", "unspecified"),
        ("not sure", "unspecified"),
        ("I don't know", "unspecified"),
        ("  ", None),
    ],
)
def test_validate_wants(answer: str, wants: str | None) -> None:
    assert validate(FORM, "validate_complaint_wants", answer, make_tracker()) == (
        {"complaint_wants": wants},
        [],
    )


def test_validate_when_and_extent_take_the_customers_words() -> None:
    assert validate(FORM, "validate_complaint_when", " yesterday morning ", make_tracker()) == (
        {"complaint_when": "yesterday morning"},
        [],
    )
    assert validate(FORM, "validate_complaint_extent", "the vase", make_tracker()) == (
        {"complaint_extent": "the vase"},
        [],
    )
    assert validate(FORM, "validate_complaint_extent", "", make_tracker()) == ({"complaint_extent": None}, [])
    # An amount said with the extent is the shipper's value of the goods (the record's stays beside it).
    assert validate(
        FORM,
        "validate_complaint_extent",
        "a ceramic vase, worth about 800 yuan",
        make_tracker(slots={"complaint_value": "400.00"}),
    ) == ({"complaint_extent": "a ceramic vase, worth about 800 yuan", "complaint_value": "800"}, [])
    assert validate(FORM, "validate_complaint_when", "no idea", make_tracker()) == (
        {"complaint_when": "not known"},
        [],
    )


def form_turn(
    text: str, intent: str, requested: str, slots: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """One whole turn of the form's validation action, as Rasa calls it after mapping `text` to the slot."""
    tracker = make_tracker(
        text,
        intent=intent,
        slots={**slots, "requested_slot": requested},
        active_loop={"name": "complaint_form"},
    )
    tracker.events += [
        {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}},
        {"event": "slot", "name": requested, "value": text},
    ]
    tracker.slots[requested] = text
    events, texts = run(FORM, tracker)
    return applied(events), texts


def test_a_question_during_an_open_question_is_answered_once() -> None:
    known = {"waybill": "EA100000034CN", "complaint_waybill": "EA100000034CN", "complaint_category": "delay"}
    slots, texts = form_turn("hang on, when will it arrive?", "ask_eta", "complaint_wants", known)
    assert slots["complaint_wants"] is None and slots["complaint_retries"] == 1.0
    assert len(texts) == 1 and "EA100000034CN" in texts[0] and "late" in texts[0]
    # Asked again, the next message is the answer, whatever it looks like.
    slots, texts = form_turn("when can you deliver it?", "ask_eta", "complaint_wants", {**known, **slots})
    assert slots["complaint_wants"] == "when can you deliver it?"
    assert texts == []


def test_a_wish_that_sounds_like_tracking_is_the_wish() -> None:
    known = {"waybill": "EA100000034CN", "complaint_waybill": "EA100000034CN", "complaint_category": "delay"}
    slots, texts = form_turn("just get it delivered tomorrow", "track_shipment", "complaint_wants", known)
    assert slots["complaint_wants"] == "just get it delivered tomorrow"
    assert texts == []


DAMAGE_SLOTS = {
    "complaint_waybill": "EA100000065CN",
    "complaint_category": "damage",
    "complaint_value": "400.00",
}


@pytest.mark.parametrize(
    ("answer", "updates"),
    [
        ("the value is 600", {"complaint_value": "600"}),
        ("the number is wrong", {"complaint_waybill": None}),
        # Another shipment: its own record's value replaces the old one, and the extent is asked again.
        (
            "it's EA100000034CN",
            {
                "complaint_waybill": "EA100000034CN",
                "waybill": "EA100000034CN",
                "complaint_value": "1200.00",
                "complaint_extent": None,
            },
        ),
        # "damaged" names the extent too: it is cleared so the form asks what is missing.
        ("no, it was lost, not damaged", {"complaint_category": "loss", "complaint_extent": None}),
    ],
)
def test_validate_correction(answer: str, updates: dict[str, Any]) -> None:
    slots, said = validate(FORM, "validate_complaint_correction", answer, make_tracker(slots=DAMAGE_SLOTS))
    assert slots == {**updates, "complaint_correction": answer, "complaint_correction_pending": False}
    assert said == []


def test_validate_correction_not_understood_then_kept() -> None:
    assert validate(FORM, "validate_complaint_correction", "hmm", make_tracker(slots=DAMAGE_SLOTS)) == (
        {"complaint_correction": None, "complaint_retries": 1.0},
        ["Sorry, I didn't catch which part."],
    )
    second = make_tracker(slots={**DAMAGE_SLOTS, "complaint_retries": 1.0})
    assert validate(FORM, "validate_complaint_correction", "hmm", second) == (
        {"complaint_correction": "hmm", "complaint_retries": 0.0, "complaint_correction_pending": False},
        [CORRECTION_KEPT_TEXT],
    )


def test_a_corrected_waybill_is_looked_up() -> None:
    slots, said = validate(
        FORM, "validate_complaint_correction", "the number is EA100000153CN", make_tracker(slots=DAMAGE_SLOTS)
    )
    assert slots.get("complaint_waybill") is None
    assert said == [not_found_text("EA100000153CN")]


# --- summary and correction -------------------------------------------------------------------------


def test_summary_restates_everything_and_asks() -> None:
    tracker = make_tracker(
        slots={
            **DAMAGE_SLOTS,
            "complaint_description": "My parcel EA100000065CN arrived broken",
            "complaint_extent": "the vase",
            "complaint_photo": "later",
            "complaint_wants": "compensation",
        }
    )
    events, texts = run(ActionComplaintSummary(), tracker)
    assert events == [SlotSet("awaiting", "summary_confirm"), SlotSet("complaint_correction", None)]
    assert texts == [
        "Let me make sure I have this right:\n"
        "- Shipment: EA100000065CN\n"
        f"- Our record: {record_facts_text(shipment('EA100000065CN'))}\n"
        "- What happened: damaged goods\n"
        '- In your words: "My parcel EA100000065CN arrived broken"\n'
        "- Damaged or missing: the vase\n"
        "- Value of the goods: 400.00 CNY\n"
        "- Photo: you will send it later\n"
        "- You would like: compensation\n"
        "Is that right?"
    ]


def test_summary_of_a_sparse_complaint() -> None:
    tracker = make_tracker(
        slots={"complaint_waybill": "none", "complaint_when": "last Monday", "complaint_value": "unknown"}
    )
    _, texts = run(ActionComplaintSummary(), tracker)
    assert texts == [
        "Let me make sure I have this right:\n"
        "- Shipment: no waybill number given\n"
        "- What happened: another problem\n"
        "- Your own description: none given yet\n"
        "- When: last Monday\n"
        "- Value of the goods: not known\n"
        "- You would like: not said yet\n"
        "Is that right?"
    ]


def test_summary_shortens_a_long_story() -> None:
    story = "word " * 60
    _, texts = run(ActionComplaintSummary(), make_tracker(slots={"complaint_description": story}))
    assert f'- In your words: "{story[:157]}..."' in texts[0]


def test_correct_complaint_with_a_new_value() -> None:
    tracker = make_tracker(
        "no, the value is 600", intent="deny", slots={**DAMAGE_SLOTS, "awaiting": "summary_confirm"}
    )
    events, texts = run(ActionCorrectComplaint(), tracker)
    assert events == [
        SlotSet("awaiting", None),
        SlotSet("complaint_retries", 0.0),
        SlotSet("complaint_value", "600"),
    ]
    assert texts == ["Thanks, let me fix that."]


def test_correct_complaint_naming_a_field_clears_it() -> None:
    tracker = make_tracker("the waybill number is wrong", intent="deny", slots=DAMAGE_SLOTS)
    events, texts = run(ActionCorrectComplaint(), tracker)
    assert events == [
        SlotSet("awaiting", None),
        SlotSet("complaint_retries", 0.0),
        SlotSet("complaint_waybill", None),
    ]
    assert texts == ["Thanks, let me fix that."]


def test_correct_complaint_without_details_asks_which_part() -> None:
    events, texts = run(
        ActionCorrectComplaint(), make_tracker("no that's wrong", intent="deny", slots=DAMAGE_SLOTS)
    )
    assert events == [
        SlotSet("awaiting", None),
        SlotSet("complaint_retries", 0.0),
        SlotSet("complaint_correction_pending", True),
    ]
    assert texts == []


def test_stop_complaint_clears_it() -> None:
    events, texts = run(ActionStopComplaint(), make_tracker("forget it", intent="stop"))
    reset = [*COMPLAINT_SLOTS, "awaiting"]
    assert events == [SlotSet(slot, None) for slot in reset]
    assert texts[0].startswith("All right, I've stopped and registered nothing.")


# --- analyse and negotiate --------------------------------------------------------------------------


def test_analyse_a_delay_offers_the_voucher_and_opens_a_ticket(now: datetime, today: date) -> None:
    sender = new_sender()
    slots = start(sender, DELAY_STORY)
    events, texts, _ = analyse(sender, slots)
    number = events[0]["value"]
    assert NUMBER.fullmatch(number)
    assert events == [SlotSet("ticket_number", number), SlotSet("awaiting", "remedy_answer")]
    assert texts == [f"Here is what I can offer: {VOUCHER} Would that be acceptable?"]
    with transaction() as session:
        # The findings are for the agent, on the audit trail, not for the customer.
        [analysed] = [e for e in list_ticket_events(session, number) if e.action == "analysed"]
        assert analysed.data is not None
        promised = full_date_text(today - timedelta(days=2), "en")
        assert said(analysed.data["findings"][0], "en") == f"Promised {promised}; 2 days late"
        assert analysed.data["responsibility"] == "carrier"
        ticket = get_ticket(session, number)
        assert ticket is not None
        assert (ticket.kind, ticket.status, ticket.conversation_id, ticket.channel) == (
            "complaint",
            "waiting_customer",
            sender,
            "telegram",
        )
        assert (ticket.waybill, ticket.customer_id, ticket.category, ticket.level, ticket.priority) == (
            "EA100000034CN",
            "C002",
            "delay",
            "general",
            "P3",
        )
        assert (ticket.responsibility, ticket.stage_reached) == ("carrier", "negotiate")
        assert (ticket.remedy_offered, ticket.agreed_resolution) == (VOUCHER, None)
        assert ticket.description == DELAY_STORY and ticket.summary == "Late shipment (EA100000034CN)"
        assert ticket.sla_due_at == business_calendar().sla_due("P3", now)


def test_analyse_twice_opens_one_ticket() -> None:
    sender = new_sender()
    slots = start(sender, DELAY_STORY)
    first, _, _ = analyse(sender, slots)
    second, texts, _ = analyse(sender, slots)
    assert first == second
    assert texts[-1] == f"Here is what I can offer: {VOUCHER} Would that be acceptable?"
    with transaction() as session:
        assert [t.number for t in list_tickets(session, conversation_id=sender)] == [first[0]["value"]]


def test_a_large_loss_is_escalated_at_once(now: datetime) -> None:
    sender = new_sender()
    slots = start(sender, "My parcel EA100000051CN never arrived, it has been lost for a week now")
    assert (slots["complaint_category"], slots["complaint_value"]) == ("loss", "3000.00")
    events, texts, _ = analyse(sender, slots)
    number = events[0]["value"]
    assert events == [SlotSet("ticket_number", number), SlotSet("awaiting", "done"), ConversationPaused()]
    assert texts == [escalation_text(number, "P1", now)]
    with transaction() as session:
        [analysed] = [e for e in list_ticket_events(session, number) if e.action == "analysed"]
        assert analysed.data is not None
        findings = [said(finding, "en") for finding in analysed.data["findings"]]
        assert "Large loss: declared value 3,000.00 CNY is above 2,000.00 CNY" in findings
        ticket = get_ticket(session, number)
        assert ticket is not None
        assert (ticket.status, ticket.category, ticket.level, ticket.priority, ticket.customer_id) == (
            "escalated",
            "loss",
            "serious",
            "P1",
            "C004",
        )
        assert ticket.remedy_offered is None and str(ticket.declared_value) == "3000.00"
        conversation = session.get(Conversation, sender)
        assert conversation is not None
        assert conversation.state == "queued"
        assert conversation.handoff_reason == (
            "Serious complaint: Large loss: declared value 3,000.00 CNY is above 2,000.00 CNY"
        )


def test_a_second_complaint_on_the_same_waybill_is_serious(now: datetime) -> None:
    first = new_sender()
    analyse(first, start(first, DELAY_STORY))
    second = new_sender()
    events, texts, _ = analyse(second, start(second, DELAY_STORY))
    assert events[1:] == [SlotSet("awaiting", "done"), ConversationPaused()]
    assert texts == [escalation_text(events[0]["value"], "P1", now)]
    with transaction() as session:
        [analysed] = [e for e in list_ticket_events(session, events[0]["value"]) if e.action == "analysed"]
        assert analysed.data is not None
        findings = [said(finding, "en") for finding in analysed.data["findings"]]
        assert "Repeat complaint: complaint no. 2 on this waybill" in findings


def test_accept_the_first_offer() -> None:
    sender = new_sender()
    _, _, slots = analyse(sender, start(sender, DELAY_STORY))
    number = slots["ticket_number"]
    events, texts = run(
        ActionAcceptRemedy(), make_tracker("ok", intent="affirm", sender_id=sender, slots=slots)
    )
    assert events == [SlotSet("awaiting", "done")]
    assert texts == [
        f"Thank you. Your complaint is registered as {number}. "
        "What happens next: we carry out what we agreed and keep you updated here; "
        "when it's done we'll ask how satisfied you are. "
        f"You can ask me about {number} at any time."
    ]
    with transaction() as session:
        ticket = get_ticket(session, number)
        assert ticket is not None
        assert (ticket.status, ticket.agreed_resolution, ticket.version) == ("open", VOUCHER, 2)


def test_accept_promises_a_key_customer_a_follow_up() -> None:
    sender = new_sender()
    slots = start(sender, "Nobody came to collect EA100000082CN at the booked time this afternoon")
    assert slots["complaint_category"] == "missed_pickup"
    _, _, slots = analyse(sender, slots)
    assert slots["awaiting"] == "remedy_answer"
    _, texts = run(ActionAcceptRemedy(), make_tracker("fine", intent="affirm", sender_id=sender, slots=slots))
    assert " As one of our key customers, you'll also get a follow-up call once it's done. " in texts[0]


def test_refuse_once_gets_the_second_offer_then_accept_it() -> None:
    sender = new_sender()
    _, _, slots = analyse(sender, start(sender, DELAY_STORY))
    number = slots["ticket_number"]
    events, texts = run(
        ActionRefuseRemedy(), make_tracker("no", intent="deny", sender_id=sender, slots=slots)
    )
    assert events == [SlotSet("complaint_refusals", 1.0), SlotSet("awaiting", "remedy_answer")]
    assert texts == [f"I understand. Then let me offer this instead: {FULL_REFUND} Would that work for you?"]
    with transaction() as session:
        ticket = get_ticket(session, number)
        assert ticket is not None and (ticket.status, ticket.remedy_offered) == (
            "waiting_customer",
            FULL_REFUND,
        )
    slots = applied(events, slots)
    run(ActionAcceptRemedy(), make_tracker("ok then", intent="affirm", sender_id=sender, slots=slots))
    with transaction() as session:
        ticket = get_ticket(session, number)
        assert ticket is not None and (ticket.status, ticket.agreed_resolution) == ("open", FULL_REFUND)


def test_refuse_twice_escalates(now: datetime) -> None:
    sender = new_sender()
    _, _, slots = analyse(sender, start(sender, DELAY_STORY))
    number = slots["ticket_number"]
    events, _ = run(ActionRefuseRemedy(), make_tracker("no", intent="deny", sender_id=sender, slots=slots))
    slots = applied(events, slots)
    events, texts = run(
        ActionRefuseRemedy(), make_tracker("still no", intent="deny", sender_id=sender, slots=slots)
    )
    assert events == [
        SlotSet("complaint_refusals", 2.0),
        SlotSet("ticket_number", number),
        SlotSet("awaiting", "done"),
        ConversationPaused(),
    ]
    assert texts == ["I understand, and I'm sorry that isn't enough.", escalation_text(number, "P3", now)]
    with transaction() as session:
        ticket = get_ticket(session, number)
        assert ticket is not None and (ticket.status, ticket.priority) == ("escalated", "P3")
        conversation = session.get(Conversation, sender)
        assert conversation is not None
        assert (conversation.state, conversation.handoff_reason) == ("queued", "customer refused 2 offer(s)")


def test_a_ticket_changed_meanwhile_is_retried_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = use_cases.accept_remedy

    def stale_once(session: Any, number: str) -> Any:
        calls.append(number)
        if len(calls) == 1:
            raise StaleTicket(number, 1, 2)
        return real(session, number)

    sender = new_sender()
    slots = start(sender, DELAY_STORY)
    events, _, slots = analyse(sender, slots)
    monkeypatch.setattr(use_cases, "accept_remedy", stale_once)
    events, texts = run(
        ActionAcceptRemedy(), make_tracker("yes", intent="affirm", sender_id=sender, slots=slots)
    )
    assert len(calls) == 2 and events == [SlotSet("awaiting", "done")]
    assert texts[0].startswith("Thank you. Your complaint is registered")
    assert failure_text(StaleTicket("T-1", 1, 2)) == STALE_TEXT


def test_a_ticket_that_keeps_changing_gets_a_polite_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    def always_stale(session: Any, number: str) -> Any:
        raise StaleTicket(number, 1, 2)

    monkeypatch.setattr(use_cases, "accept_remedy", always_stale)
    tracker = make_tracker("yes", intent="affirm", slots={"ticket_number": "T-202612-00001"})
    events, texts = run(ActionAcceptRemedy(), tracker)
    assert events == [] and texts == [STALE_TEXT]
