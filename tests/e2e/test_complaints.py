"""Every DEMO_DATA complaint scenario end to end over the REST channel, checked on the ticket API.

Each scenario uses its own waybill once (a second complaint on a waybill is serious by policy, and
that rule has its own test), so the tests do not depend on their order.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Talk, late_extra_shipment
from tests.e2e.conversation import CALMED, COMPLAINT_STEPS, assert_clean, said
from tools.stack import Stack

pytestmark = pytest.mark.e2e


def converse(talk: Talk, sender: str, turns: list[tuple[str, str | None]]) -> list[list[str]]:
    """Sends each message; when an expected phrase is given, the reply must contain it."""
    transcript = []
    for message, expected in turns:
        replies = talk(sender, message)
        assert_clean(replies)
        if expected == CALMED:
            assert any(word in said(replies) for word in ("sorry", "apolog")), replies
            assert any(step in said(replies) for step in COMPLAINT_STEPS), f"no complaint started: {replies}"
        elif expected is not None:
            assert expected.lower() in said(replies), f"after {message!r} expected {expected!r} in {replies}"
        transcript.append(replies)
    return transcript


def only_ticket(api: httpx.Client, sender: str) -> dict[str, Any]:
    response = api.get("/api/tickets", params={"conversation_id": sender})
    assert response.status_code == 200, response.text
    tickets = response.json()["tickets"]
    assert len(tickets) == 1, tickets
    return dict(tickets[0])


def assert_ticket(ticket: dict[str, Any], **expected: Any) -> None:
    for key, value in expected.items():
        assert ticket[key] == value, f"{key}: {ticket[key]!r} != {value!r} in {ticket}"


def assert_paused(talk: Talk, sender: str) -> None:
    """An escalated conversation belongs to a person: the bot no longer answers."""
    assert talk(sender, "hello? is anyone there?") == []


def test_delay_carrier_fault_first_offer_refused_second_accepted(
    talk: Talk, sender: str, api: httpx.Client
) -> None:
    converse(
        talk,
        sender,
        [
            (
                "EA100000034CN was supposed to be in Beijing two days ago and NOBODY told me anything!!!",
                CALMED,
            ),
            ("I want my money back", "is that right"),
            ("yes", "36.00"),
            ("no, a voucher is not enough", "180.00"),
            ("ok fine, I accept", "T-"),
        ],
    )
    ticket = only_ticket(api, sender)
    assert_ticket(ticket, kind="complaint", category="delay", level="general", priority="P3", status="open")
    assert_ticket(ticket, waybill="EA100000034CN", customer_wants="refund")
    assert "180.00" in ticket["agreed_resolution"]


def test_a_second_complaint_on_the_same_waybill_is_serious(talk: Talk, api: httpx.Client) -> None:
    first, second = "rest:repeat-1", "rest:repeat-2"
    converse(
        talk,
        first,
        [
            ("my parcel EA100000119CN should have arrived yesterday, this is not acceptable", CALMED),
            ("just an apology and get it here today", "is that right"),
            ("correct", "offer"),
            ("yes that's ok", "T-"),
        ],
    )
    assert_ticket(only_ticket(api, first), category="delay", level="general", priority="P2", status="open")
    converse(
        talk,
        second,
        [
            ("I'm complaining AGAIN about EA100000119CN, still late!!", CALMED),
            ("compensation", "is that right"),
            ("yes", "colleague"),
        ],
    )
    ticket = only_ticket(api, second)
    assert_ticket(ticket, category="delay", level="serious", priority="P1", status="escalated")
    assert_paused(talk, second)


def test_delay_force_majeure_is_an_expectation_complaint(talk: Talk, sender: str, api: httpx.Client) -> None:
    converse(
        talk,
        sender,
        [
            ("EA100000048CN from Haikou is late, I needed it yesterday. really disappointed", CALMED),
            ("just want it delivered", "is that right"),
            ("yes", "typhoon"),
            ("ok I understand", "T-"),
        ],
    )
    ticket = only_ticket(api, sender)
    assert_ticket(ticket, category="delay", level="expectation", priority="P4", status="open")
    assert_ticket(ticket, waybill="EA100000048CN")


def test_lost_high_value_shipment_is_escalated_at_once(talk: Talk, sender: str, api: httpx.Client) -> None:
    converse(
        talk,
        sender,
        [
            ("our shipment EA100000051CN to Chengdu has vanished, no updates for over a week", CALMED),
            ("we want compensation", "3,000.00"),
            ("yes that's right", "colleague"),
        ],
    )
    ticket = only_ticket(api, sender)
    assert_ticket(ticket, category="loss", level="serious", priority="P1", status="escalated")
    assert_ticket(ticket, waybill="EA100000051CN")
    assert_paused(talk, sender)


def test_damage_with_photo_later_gets_a_claim_up_to_the_declared_value(
    talk: Talk, sender: str, api: httpx.Client
) -> None:
    converse(
        talk,
        sender,
        [
            ("the vase in EA100000065CN arrived smashed into pieces", CALMED),
            ("the ceramic vase, completely broken", "photo"),
            ("I'll send it later", "would you like"),
            ("compensation please", "is that right"),
            ("yes", "400.00"),
            ("yes please", "T-"),
        ],
    )
    ticket = only_ticket(api, sender)
    assert_ticket(ticket, category="damage", level="general", priority="P3", status="open")
    assert_ticket(ticket, waybill="EA100000065CN", customer_wants="compensation")
    assert "400.00" in ticket["agreed_resolution"]


def test_signed_by_someone_else_and_never_received_is_serious(
    talk: Talk, sender: str, api: httpx.Client
) -> None:
    converse(
        talk,
        sender,
        [
            ("EA100000079CN shows signed but nobody here ever received it. who signed??", CALMED),
            ("find it and deliver it to us", "is that right"),
            ("yes", "colleague"),
        ],
    )
    ticket = only_ticket(api, sender)
    assert_ticket(ticket, category="wrong_delivery", level="serious", priority="P1", status="escalated")
    assert_paused(talk, sender)


def test_missed_pickup_of_a_key_customer(talk: Talk, sender: str, api: httpx.Client) -> None:
    converse(
        talk,
        sender,
        [
            ("nobody came to collect EA100000082CN today, we waited the whole afternoon", CALMED),
            ("come and get it tomorrow morning", "is that right"),
            ("yes", "pickup"),
            ("sounds good", "T-"),
        ],
    )
    ticket = only_ticket(api, sender)
    assert_ticket(ticket, category="missed_pickup", level="general", priority="P2", status="open")
    assert_ticket(ticket, waybill="EA100000082CN")


def test_billing_above_the_declared_weight_refunds_the_difference(
    talk: Talk, sender: str, api: httpx.Client
) -> None:
    converse(
        talk,
        sender,
        [
            ("you charged me 144 yuan for EA100000096CN but the quote was 60, it only weighs 5 kg", CALMED),
            ("refund the difference", "is that right"),
            ("yes", "84.00"),
            ("yes, thank you", "T-"),
        ],
    )
    ticket = only_ticket(api, sender)
    assert_ticket(ticket, category="billing", level="general", priority="P3", status="open")
    assert "84.00" in ticket["agreed_resolution"]


def test_wrong_building_is_retrieved(talk: Talk, sender: str, api: httpx.Client) -> None:
    converse(
        talk,
        sender,
        [
            ("EA100000105CN was dropped at the wrong building, my neighbour found it", CALMED),
            ("bring it to my address", "is that right"),
            ("yes", "24 hours"),
            ("ok", "T-"),
        ],
    )
    ticket = only_ticket(api, sender)
    assert_ticket(ticket, category="wrong_delivery", level="general", priority="P3", status="open")


def test_refused_twice_is_escalated(talk: Talk, sender: str, api: httpx.Client, stack: Stack) -> None:
    waybill = late_extra_shipment(stack)
    converse(
        talk,
        sender,
        [
            (f"{waybill} arrived days late, this keeps happening with you", CALMED),
            ("a refund", "is that right"),
            ("yes", "would that be acceptable"),
            ("no", "instead"),
            ("no, still not good enough", "colleague"),
        ],
    )
    ticket = only_ticket(api, sender)
    assert_ticket(ticket, kind="complaint", category="delay", status="escalated", waybill=waybill)
    assert_paused(talk, sender)


def test_a_bare_complaint_asks_for_what_is_missing_and_accepts_a_correction(
    talk: Talk, sender: str, api: httpx.Client
) -> None:
    converse(
        talk,
        sender,
        [
            ("I want to make a complaint", "what happened"),
            ("my parcel is late", "waybill"),
            ("EA100000025CN", "what would you like"),
            ("just keep me posted", "is that right"),
            ("no, the number is wrong, it is EA100000122CN", "ea100000122cn"),
            ("yes", None),
            ("ok", "T-"),
        ],
    )
    ticket = only_ticket(api, sender)
    assert_ticket(ticket, waybill="EA100000122CN", category="delay", level="expectation", priority="P4")


def test_a_question_inside_the_form_is_answered_and_the_form_resumes(talk: Talk, sender: str) -> None:
    converse(talk, sender, [("I'd like to complain about a delivery", "what happened")])
    replies = converse(talk, sender, [("where is EA100000025CN right now?", "changsha")])[-1]
    assert "what happened" in said(replies)
    converse(talk, sender, [("stop", "stopped")])


def test_stop_ends_the_form_cleanly_without_a_ticket(talk: Talk, sender: str, api: httpx.Client) -> None:
    converse(talk, sender, [("I want to complain", "what happened"), ("forget it", "stopped")])
    assert api.get("/api/tickets", params={"conversation_id": sender}).json()["tickets"] == []
    converse(talk, sender, [("where is EA100000025CN?", "changsha")])


def test_a_person_asked_for_inside_the_form_escalates_the_complaint(
    talk: Talk, sender: str, api: httpx.Client
) -> None:
    converse(
        talk,
        sender,
        [
            ("I have a complaint about EA100000017CN", "what happened"),
            ("I want to speak to a real person", "colleague"),
        ],
    )
    ticket = only_ticket(api, sender)
    assert_ticket(ticket, kind="complaint", status="escalated", waybill="EA100000017CN")
    assert_paused(talk, sender)


def test_a_plain_request_for_a_person_is_a_handoff(talk: Talk, sender: str, api: httpx.Client) -> None:
    converse(talk, sender, [("can I talk to a human please", "person")])
    ticket = only_ticket(api, sender)
    assert_ticket(ticket, kind="handoff", status="escalated")
    assert_paused(talk, sender)


def test_staff_conduct_goes_to_a_supervisor(talk: Talk, sender: str, api: httpx.Client) -> None:
    converse(
        talk,
        sender,
        [
            ("your driver was extremely rude to my staff and threw the boxes on the floor", CALMED),
            ("I don't have the number", None),
            ("this morning around 10", None),
            ("an apology", "is that right"),
            ("yes", "colleague"),
        ],
    )
    ticket = only_ticket(api, sender)
    assert_ticket(ticket, category="staff_conduct", status="escalated")


def test_complaint_status_is_answered_from_the_store(talk: Talk, sender: str, api: httpx.Client) -> None:
    converse(
        talk,
        sender,
        [
            ("EA100000140CN is stuck at customs for days, why is nobody sorting this out", CALMED),
            ("just keep me updated", "is that right"),
            ("yes", "invoice"),
            ("alright", "T-"),
        ],
    )
    number = only_ticket(api, sender)["number"]
    mine = converse(talk, sender, [("what's happening with my complaint?", number.lower())])[-1]
    assert "ea100000140cn" in said(mine) and "carried out" in said(mine)
    # Ticket numbers are easy to guess: another conversation learns the state, not the details.
    theirs = converse(talk, f"{sender}-other", [(f"status of complaint {number}", number.lower())])[-1]
    assert "ea100000140cn" not in said(theirs)
