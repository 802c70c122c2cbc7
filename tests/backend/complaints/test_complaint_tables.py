"""Every row of DOMAIN.md's level, priority and remedy tables."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from backend.complaints import (
    Analysis,
    ComplaintFacts,
    TextSignals,
    analyse,
    escalate_after_refusals,
    next_remedy,
    sla_due,
)

from .demo import NOW, at, base_shipment, english, ev

LATE_2 = {"promised_date": -2}
DELIVERED = {
    "status": "delivered",
    "delivered_at": at(-1, 15),
    "signed_by": "Li Wei",
    "signer_is_recipient": True,
}
MISSING = {"status": "missing", "promised_date": -3}
FM_EVENT = {
    "status": "held",
    "promised_date": -1,
    "events": (ev(-2, "Haikou port", "held", "Ferry suspended by typhoon", fm=True),),
}


def run(changes: dict[str, Any] | None, category: str, text: str = "", **facts: Any) -> Analysis:
    """Analyse a complaint on a base shipment with some fields changed (None: no shipment)."""
    signals = facts.pop("signals", None)
    shipment = base_shipment(**changes) if changes is not None else None
    return analyse(shipment, ComplaintFacts(category, text, **facts), now=NOW, signals=signals)


# --------------------------------------------------------------------------------------------------
# Level table
# --------------------------------------------------------------------------------------------------

LEVEL_CASES = [
    # serious: large loss
    (
        "loss above 2000 (record)",
        MISSING | {"declared_value": Decimal("2500")},
        "loss",
        "It's lost",
        {},
        "serious",
    ),
    (
        "damage above 2000 (facts)",
        DELIVERED,
        "damage",
        "It's broken",
        {"declared_value": Decimal("2001")},
        "serious",
    ),
    (
        "wrong delivery above 2000",
        DELIVERED | {"declared_value": Decimal("5000")},
        "wrong_delivery",
        "",
        {},
        "serious",
    ),
    (
        "exactly 2000 is not above",
        DELIVERED | {"declared_value": Decimal("2000")},
        "damage",
        "",
        {},
        "general",
    ),
    # serious: injury or safety
    ("injury", DELIVERED, "damage", "The glass cut my hand, I was bleeding", {}, "serious"),
    ("safety", DELIVERED, "damage", "Smoke was coming out of the box", {}, "serious"),
    # serious: conflict with law or a legal threat
    ("legal threat", LATE_2, "delay", "It is late and I will sue you", {}, "serious"),
    ("regulator", LATE_2, "delay", "I'll report you to 12315", {}, "serious"),
    # serious: signature forgery
    (
        "signed by someone else, never received",
        DELIVERED | {"signed_by": "front desk", "signer_is_recipient": False},
        "wrong_delivery",
        "It says delivered but I never received it",
        {},
        "serious",
    ),
    (
        "forgery alleged against a signed delivery",
        DELIVERED,
        "wrong_delivery",
        "The signature is forged",
        {},
        "serious",
    ),
    # serious: a second complaint on the same shipment
    ("second complaint", LATE_2, "delay", "It's late", {"previous_complaints_on_waybill": 1}, "serious"),
    # serious: strong, repeated anger
    ("furious", LATE_2, "delay", "WHERE IS MY PARCEL!!! THIRD TIME I CALL, YOU IDIOTS", {}, "serious"),
    ("anger 3 from signals", LATE_2, "delay", "", {"signals": TextSignals(anger=3)}, "serious"),
    # serious wins over expectation
    (
        "serious beats expectation",
        {"promised_date": 2},
        "delay",
        "It's late, I'm calling my lawyer",
        {},
        "serious",
    ),
    # expectation: "late" before the promised date
    ("not yet due", {"promised_date": 2}, "delay", "My parcel is late", {}, "expectation"),
    ("due today", {"promised_date": 0}, "delay", "My parcel is late", {}, "expectation"),
    ("delivered on time", DELIVERED | {"promised_date": -1}, "delay", "It was late", {}, "expectation"),
    # expectation: delay from force majeure
    ("force majeure event", FM_EVENT, "delay", "It's late", {}, "expectation"),
    (
        "force majeure on the record",
        {"promised_date": -1, "force_majeure": True, "delay_reason": "road closed by flooding"},
        "delay",
        "It's late",
        {},
        "expectation",
    ),
    (
        "customer's own details",
        {"status": "returned", "promised_date": -1, "exception_reason": "recipient phone number wrong"},
        "delay",
        "Why was it returned?",
        {},
        "expectation",
    ),
    # expectation: weight dispute where the charged weight matches the record
    (
        "weights match",
        {"declared_weight_kg": Decimal("5"), "charged_weight_kg": Decimal("5")},
        "billing",
        "",
        {},
        "expectation",
    ),
    (
        "weights within 10%",
        {"declared_weight_kg": Decimal("5"), "charged_weight_kg": Decimal("5.5")},
        "billing",
        "",
        {},
        "expectation",
    ),
    (
        "pickup window still open",
        {"status": "pickup_booked", "promised_date": None, "pickup_due_at": at(0, 14, 30)},
        "missed_pickup",
        "Nobody came",
        {},
        "expectation",
    ),
    # general: inconvenience or a limited loss
    ("carrier delay", LATE_2, "delay", "My parcel is late", {}, "general"),
    (
        "overcharged by more than 10%",
        {"declared_weight_kg": Decimal("5"), "charged_weight_kg": Decimal("5.6")},
        "billing",
        "",
        {},
        "general",
    ),
    (
        "damage, small value",
        DELIVERED | {"declared_value": Decimal("300")},
        "damage",
        "It's broken",
        {},
        "general",
    ),
    ("angry but not furious", LATE_2, "delay", "This is unacceptable!!!", {}, "general"),
    ("staff conduct", None, "staff_conduct", "The courier was rude", {}, "general"),
    (
        "delay above 2000 is not a large loss",
        LATE_2 | {"declared_value": Decimal("9000")},
        "delay",
        "",
        {},
        "general",
    ),
]


@pytest.mark.parametrize(
    ("changes", "category", "text", "facts", "level"),
    [c[1:] for c in LEVEL_CASES],
    ids=[c[0] for c in LEVEL_CASES],
)
def test_level_table(
    changes: dict[str, Any] | None, category: str, text: str, facts: dict[str, Any], level: str
) -> None:
    assert run(changes, category, text, **facts).level == level


# --------------------------------------------------------------------------------------------------
# Priority table
# --------------------------------------------------------------------------------------------------

PRIORITY_CASES = [
    (
        "serious, A-class",
        {"customer_class": "A"} | MISSING | {"declared_value": Decimal("3000")},
        "loss",
        "P1",
    ),
    (
        "serious, C-class",
        {"customer_class": "C"} | MISSING | {"declared_value": Decimal("3000")},
        "loss",
        "P1",
    ),
    ("general, A-class", {"customer_class": "A"} | LATE_2, "delay", "P2"),
    ("general, B-class", {"customer_class": "B"} | LATE_2, "delay", "P3"),
    ("general, C-class", {"customer_class": "C"} | LATE_2, "delay", "P3"),
    ("general, no shipment", None, "staff_conduct", "P3"),
    ("expectation, A-class", {"customer_class": "A", "promised_date": 3}, "delay", "P4"),
    ("expectation, C-class", {"customer_class": "C", "promised_date": 3}, "delay", "P4"),
]


@pytest.mark.parametrize(
    ("changes", "category", "priority"), [c[1:] for c in PRIORITY_CASES], ids=[c[0] for c in PRIORITY_CASES]
)
def test_priority_table(changes: dict[str, Any] | None, category: str, priority: str) -> None:
    analysis = run(changes, category, "")
    assert analysis.priority == priority
    assert analysis.sla_due_at == sla_due(NOW, priority)


def test_a_class_note_in_reasons() -> None:
    assert any("A-class" in r for r in english(run({"customer_class": "A"} | LATE_2, "delay").reasons))


# --------------------------------------------------------------------------------------------------
# Remedy table
# --------------------------------------------------------------------------------------------------


def codes(analysis: Analysis) -> list[tuple[str, Decimal | None, bool]]:
    """The ladder as (code, amount, bot_may_grant)."""
    return [(r.code, r.amount, r.bot_may_grant) for r in analysis.remedies]


D_ = Decimal

REMEDY_CASES = [
    # (id, shipment changes, category, text, facts, ladder, escalate_now, refusals before escalation)
    (
        "delay carrier, 1 day late",
        {"promised_date": -1, "freight_amount": D_("180")},
        "delay",
        "late",
        {},
        [("apology_priority_updates", None, True), ("freight_refund", D_("180.00"), True)],
        False,
        2,
    ),
    (
        "delay carrier, more than 1 day late",
        {"promised_date": -2, "freight_amount": D_("180")},
        "delay",
        "late",
        {},
        [("apology_priority_updates_voucher", D_("36.00"), True), ("freight_refund", D_("180.00"), True)],
        False,
        2,
    ),
    ("delay force majeure", FM_EVENT, "delay", "late", {}, [("explanation_updates", None, True)], False, 1),
    (
        "missed pickup",
        {
            "status": "pickup_missed",
            "promised_date": None,
            "pickup_due_at": at(-1, 14),
            "freight_amount": D_("50"),
        },
        "missed_pickup",
        "nobody came",
        {},
        [("repickup_fee_waived", None, True), ("voucher", D_("10.00"), True)],
        False,
        2,
    ),
    (
        "damage within the bot's limit",
        DELIVERED | {"declared_value": D_("400")},
        "damage",
        "broken",
        {"photo_status": "received"},
        [("damage_claim", D_("400.00"), True)],
        False,
        1,
    ),
    (
        "damage at exactly 500",
        DELIVERED | {"declared_value": D_("500")},
        "damage",
        "broken",
        {"photo_status": "later"},
        [("damage_claim", D_("500.00"), True)],
        False,
        1,
    ),
    (
        "damage above 500",
        DELIVERED | {"declared_value": D_("800")},
        "damage",
        "broken",
        {"photo_status": "received"},
        [("damage_claim", D_("800.00"), False)],
        True,
        0,
    ),
    (
        "loss within 500",
        MISSING | {"declared_value": D_("300")},
        "loss",
        "lost",
        {},
        [("trace_then_compensation", D_("300.00"), True)],
        False,
        1,
    ),
    (
        "loss above 500",
        MISSING | {"declared_value": D_("800")},
        "loss",
        "lost",
        {},
        [("trace_then_compensation", D_("800.00"), False)],
        True,
        0,
    ),
    (
        "loss serious",
        MISSING | {"declared_value": D_("3000")},
        "loss",
        "lost",
        {},
        [("trace_then_compensation", D_("3000.00"), False)],
        True,
        0,
    ),
    (
        "wrong delivery",
        DELIVERED | {"signed_by": None, "signer_is_recipient": None, "freight_amount": D_("32")},
        "wrong_delivery",
        "left at the wrong building",
        {},
        [("retrieval_24h", None, True), ("redelivery_freight_refund", D_("32.00"), True)],
        False,
        2,
    ),
    (
        "wrong delivery, false signature",
        DELIVERED | {"signed_by": "front desk", "signer_is_recipient": False, "freight_amount": D_("45")},
        "wrong_delivery",
        "I never received it",
        {},
        [("retrieval_24h", None, True), ("redelivery_freight_refund", D_("45.00"), True)],
        True,
        0,
    ),
    (
        "billing, charged weight above declared by more than 10%",
        DELIVERED
        | {
            "declared_weight_kg": D_("5"),
            "charged_weight_kg": D_("12"),
            "quoted_amount": D_("60"),
            "charged_amount": D_("144"),
        },
        "billing",
        "overcharged",
        {},
        [("weight_refund", D_("84.00"), True)],
        False,
        1,
    ),
    (
        "billing, record matches",
        DELIVERED | {"declared_weight_kg": D_("5"), "charged_weight_kg": D_("5")},
        "billing",
        "overcharged",
        {},
        [("billing_explanation", None, True)],
        False,
        1,
    ),
    (
        "staff conduct",
        DELIVERED,
        "staff_conduct",
        "rude courier",
        {},
        [("supervisor_follow_up", None, True)],
        True,
        0,
    ),
    ("other", DELIVERED, "other", "something else", {}, [("person_follow_up", None, True)], True, 0),
]


@pytest.mark.parametrize(
    ("changes", "category", "text", "facts", "ladder", "escalate_now", "refusals"),
    [c[1:] for c in REMEDY_CASES],
    ids=[c[0] for c in REMEDY_CASES],
)
def test_remedy_table(
    changes: dict[str, Any],
    category: str,
    text: str,
    facts: dict[str, Any],
    ladder: list[tuple[str, Decimal | None, bool]],
    escalate_now: bool,
    refusals: int,
) -> None:
    analysis = run(changes, category, text, **facts)
    assert codes(analysis) == ladder
    assert analysis.escalate_now is escalate_now
    assert (analysis.escalate_reason is not None) is escalate_now
    # Escalation comes exactly after the table's number of refusals.
    if refusals:
        assert not escalate_after_refusals(analysis, refusals - 1)
    assert escalate_after_refusals(analysis, refusals)
    for r in analysis.remedies:
        assert r.description and r.description[0].isupper() and r.description.endswith(".")
        assert "don't know" not in r.description


def test_voucher_above_the_bot_limit_escalates_now() -> None:
    analysis = run({"promised_date": -2, "freight_amount": Decimal("3000")}, "delay", "late")
    assert analysis.remedies[0].amount == Decimal("600.00")
    assert analysis.escalate_now and analysis.escalate_reason
    assert "500.00 CNY" in analysis.escalate_reason.text("en")


def test_voucher_and_refund_amounts_are_in_the_wording() -> None:
    analysis = run({"promised_date": -2, "freight_amount": Decimal("180")}, "delay", "late")
    assert "36.00 CNY" in analysis.remedies[0].description
    assert "180.00 CNY" in analysis.remedies[1].description


def test_damage_wording_follows_the_photo() -> None:
    changes = DELIVERED | {"declared_value": Decimal("400")}
    assert "send a photo" in run(changes, "damage", "broken").remedies[0].description
    assert (
        "Thank you for the photo"
        in run(changes, "damage", "broken", photo_status="received").remedies[0].description
    )


def test_damage_without_declared_value_goes_to_a_person() -> None:
    analysis = run(DELIVERED, "damage", "broken")
    assert analysis.remedies[0].amount is None and not analysis.remedies[0].bot_may_grant
    assert analysis.escalate_now


def test_second_step_above_the_bot_limit_escalates_instead() -> None:
    analysis = run({"promised_date": -1, "freight_amount": Decimal("3000")}, "delay", "late")
    assert not analysis.escalate_now
    assert analysis.remedies[1].amount == Decimal("3000.00") and not analysis.remedies[1].bot_may_grant
    assert escalate_after_refusals(analysis, 1)
    assert next_remedy(analysis, 0) == analysis.remedies[0]
    assert next_remedy(analysis, 1) is None


def test_next_remedy_walks_the_ladder() -> None:
    analysis = run({"promised_date": -2}, "delay", "late")
    assert next_remedy(analysis, 0) == analysis.remedies[0]
    assert next_remedy(analysis, 1) == analysis.remedies[1]
    assert next_remedy(analysis, 2) is None


def test_billing_refund_without_a_quote_is_proportional() -> None:
    changes = {
        "declared_weight_kg": Decimal("5"),
        "charged_weight_kg": Decimal("12"),
        "charged_amount": Decimal("144"),
    }
    assert run(changes, "billing", "").remedies[0].amount == Decimal("84.00")


def test_billing_without_weights_goes_to_a_person() -> None:
    analysis = run({}, "billing", "You charged me twice")
    assert analysis.remedies[0].code == "billing_recheck"
    assert analysis.escalate_now


def test_no_shipment_goes_to_a_person() -> None:
    analysis = run(None, "delay", "It's late")
    assert analysis.responsibility == "undetermined"
    assert analysis.escalate_now and analysis.escalate_reason
    assert analysis.remedies[0].code == "person_follow_up"


# --------------------------------------------------------------------------------------------------
# Responsibility, reasons and guards
# --------------------------------------------------------------------------------------------------

RESPONSIBILITY_CASES = [
    ("carrier delay", LATE_2, "delay", "carrier"),
    ("force majeure", FM_EVENT, "delay", "force_majeure"),
    (
        "customer: wrong phone on the waybill",
        {
            "status": "returned",
            "promised_date": -1,
            "exception_reason": "recipient phone number wrong on the waybill",
        },
        "delay",
        "customer",
    ),
    (
        "customer: customs awaiting the shipper's invoice",
        {"status": "customs_hold", "exception_reason": "customs hold awaiting commercial invoice"},
        "delay",
        "customer",
    ),
    (
        "third party: customs inspection",
        {"status": "customs_hold", "promised_date": -2, "exception_reason": "customs inspection"},
        "delay",
        "third_party",
    ),
    ("not yet due", {"promised_date": 2}, "delay", "undetermined"),
    ("damage", DELIVERED, "damage", "carrier"),
    ("staff conduct without shipment", None, "staff_conduct", "carrier"),
    ("other", DELIVERED, "other", "undetermined"),
    (
        "billing overcharge",
        {"declared_weight_kg": Decimal("5"), "charged_weight_kg": Decimal("12")},
        "billing",
        "carrier",
    ),
    (
        "billing matches",
        {"declared_weight_kg": Decimal("5"), "charged_weight_kg": Decimal("5")},
        "billing",
        "undetermined",
    ),
]


@pytest.mark.parametrize(
    ("changes", "category", "responsibility"),
    [c[1:] for c in RESPONSIBILITY_CASES],
    ids=[c[0] for c in RESPONSIBILITY_CASES],
)
def test_responsibility(changes: dict[str, Any] | None, category: str, responsibility: str) -> None:
    assert run(changes, category, "").responsibility == responsibility


def test_reasons_state_the_findings() -> None:
    late = run({"promised_date": -2, "delay_reason": "capacity shortage"}, "delay", "late")
    assert "Promised 16 November 2026; 2 days late" in english(late.reasons)
    assert "Cause in the record: capacity shortage" in english(late.reasons)
    fm = run(FM_EVENT, "delay", "late")
    assert "Ferry suspended by typhoon (force majeure)" in english(fm.reasons)
    bill = run({"declared_weight_kg": Decimal("5"), "charged_weight_kg": Decimal("12")}, "billing", "")
    assert "Charged 12 kg against 5 kg declared (+140%)" in english(bill.reasons)


def test_days_late_follows_the_clock_not_a_stale_field() -> None:
    analysis = run({"promised_date": -3, "days_late": 0}, "delay", "late")
    assert analysis.remedies[0].code == "apology_priority_updates_voucher"


def test_days_late_field_used_without_a_promised_date() -> None:
    analysis = run({"promised_date": None, "days_late": 3}, "delay", "late")
    assert analysis.responsibility == "carrier"
    assert analysis.remedies[0].code == "apology_priority_updates_voucher"


def test_delay_on_a_missing_shipment_is_analysed_as_a_loss() -> None:
    analysis = run(MISSING | {"declared_value": Decimal("300")}, "delay", "Where is it?")
    assert analysis.category == "loss"
    assert analysis.remedies[0].code == "trace_then_compensation"
    assert analysis.reasons[0].text("en") == (
        "Reported as a late shipment, but the record shows a lost shipment or missing items"
    )


def test_signals_are_read_from_the_text_when_not_given() -> None:
    given = run(LATE_2, "delay", "I will sue you", signals=TextSignals())
    read = run(LATE_2, "delay", "I will sue you")
    assert given.level == "general" and read.level == "serious"


@pytest.mark.parametrize(
    "facts",
    [ComplaintFacts("nonsense", "x"), ComplaintFacts("damage", "x", photo_status="maybe")],
)
def test_bad_facts_are_refused(facts: ComplaintFacts) -> None:
    with pytest.raises(ValueError):
        analyse(base_shipment(), facts, now=NOW)


def test_naive_clock_is_refused() -> None:
    with pytest.raises(ValueError):
        analyse(base_shipment(), ComplaintFacts("delay", "x"), now=datetime(2026, 11, 18, 10))


def test_analysis_is_frozen() -> None:
    analysis = run(LATE_2, "delay", "late")
    with pytest.raises(AttributeError):
        analysis.level = "serious"  # type: ignore[misc]
    assert replace(analysis, level="serious").level == "serious"
