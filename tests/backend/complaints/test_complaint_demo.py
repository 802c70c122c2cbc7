"""Each DEMO_DATA.md complaint scenario, from the customer's words to level, priority and first remedy."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from backend.complaints import ComplaintFacts, analyse, escalate_after_refusals, read_signals
from backend.domain import ShipmentView

from .demo import NOW

# waybill, customer's text, confirmed category, facts, level, responsibility, priority,
# first remedy code, its amount, escalate now, SLA due (UTC)
DEMO = [
    (
        "EA100000034CN",
        "Where is my parcel?? It was promised two days ago and it's still stuck in Wuhan.",
        "delay",
        {},
        "general", "carrier", "P3", "apology_priority_updates_voucher", Decimal("36.00"), False,
        datetime(2026, 11, 18, 10, 0, tzinfo=timezone.utc),
    ),
    (
        "EA100000048CN",
        "My parcel from Haikou is late, when will it arrive?",
        "delay",
        {},
        "expectation", "force_majeure", "P4", "explanation_updates", None, False,
        datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc),
    ),
    (
        "EA100000051CN",
        "Our shipment to Chengdu has disappeared, no scan for 8 days. The goods are worth 3000 yuan.",
        "loss",
        {"declared_value": Decimal("3000")},
        "serious", "carrier", "P1", "trace_then_compensation", Decimal("3000.00"), True,
        datetime(2026, 11, 18, 4, 0, tzinfo=timezone.utc),
    ),
    (
        "EA100000065CN",
        "The ceramic vase arrived broken, the box was crushed. I want compensation.",
        "damage",
        {"photo_status": "received", "customer_wants": "compensation"},
        "general", "carrier", "P3", "damage_claim", Decimal("400.00"), False,
        datetime(2026, 11, 18, 10, 0, tzinfo=timezone.utc),
    ),
    (
        "EA100000079CN",
        "The tracking says delivered and signed by front desk but I never received it!",
        "wrong_delivery",
        {},
        "serious", "carrier", "P1", "retrieval_24h", None, True,
        datetime(2026, 11, 18, 4, 0, tzinfo=timezone.utc),
    ),
    (
        "EA100000082CN",
        "Nobody came to collect our pickup today, we booked it before 14:30.",
        "missed_pickup",
        {},
        "general", "carrier", "P2", "repickup_fee_waived", None, False,
        datetime(2026, 11, 18, 6, 0, tzinfo=timezone.utc),
    ),
    (
        "EA100000096CN",
        "You charged me 144 CNY for 12 kg but I declared 5 kg and was quoted 60 CNY. Overcharged!",
        "billing",
        {"customer_wants": "refund"},
        "general", "carrier", "P3", "weight_refund", Decimal("84.00"), False,
        datetime(2026, 11, 18, 10, 0, tzinfo=timezone.utc),
    ),
    (
        "EA100000105CN",
        "It was delivered to the neighbouring building, not to my address.",
        "wrong_delivery",
        {},
        "general", "carrier", "P3", "retrieval_24h", None, False,
        datetime(2026, 11, 18, 10, 0, tzinfo=timezone.utc),
    ),
    (
        "EA100000119CN",
        "Our shipment to Guangzhou is a day late.",
        "delay",
        {},
        "general", "carrier", "P2", "apology_priority_updates", None, False,
        datetime(2026, 11, 18, 6, 0, tzinfo=timezone.utc),
    ),
    (
        "EA100000122CN",
        "Why isn't my Liuzhou parcel here yet? It's late.",
        "delay",
        {},
        "expectation", "undetermined", "P4", "explanation_on_schedule", None, False,
        datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc),
    ),
    (
        "EA100000025CN",
        "My parcel to Shanghai is late!",
        "delay",
        {},
        "expectation", "undetermined", "P4", "explanation_on_schedule", None, False,
        datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc),
    ),
    (
        "EA100000017CN",
        "My parcel to Guangzhou was late.",
        "delay",
        {},
        "expectation", "undetermined", "P4", "explanation_delivered_on_time", None, False,
        datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc),
    ),
    (
        "EA100000136CN",
        "My parcel to Wuhan never arrived, it was sent back to me!",
        "delay",
        {},
        "expectation", "customer", "P4", "explanation_next_steps", None, False,
        datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc),
    ),
    (
        "EA100000140CN",
        "Our Singapore shipment is stuck, why?",
        "delay",
        {},
        "expectation", "customer", "P4", "explanation_next_steps", None, False,
        datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc),
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    (
        "waybill",
        "text",
        "category",
        "facts",
        "level",
        "responsibility",
        "priority",
        "code",
        "amount",
        "escalate",
        "due",
    ),
    DEMO,
    ids=[row[0] for row in DEMO],
)
def test_demo_scenario(
    shipments: dict[str, ShipmentView],
    waybill: str,
    text: str,
    category: str,
    facts: dict[str, object],
    level: str,
    responsibility: str,
    priority: str,
    code: str,
    amount: Decimal | None,
    escalate: bool,
    due: datetime,
) -> None:
    analysis = analyse(shipments[waybill], ComplaintFacts(category, text, **facts), now=NOW)  # type: ignore[arg-type]
    assert analysis.level == level
    assert analysis.responsibility == responsibility
    assert analysis.priority == priority
    assert analysis.first_remedy is not None
    assert (analysis.first_remedy.code, analysis.first_remedy.amount) == (code, amount)
    assert analysis.escalate_now is escalate
    assert analysis.sla_due_at == due


@pytest.mark.parametrize(
    ("waybill", "text"),
    [(row[0], row[1]) for row in DEMO if row[0] not in ("EA100000136CN", "EA100000140CN")],
)
def test_demo_text_reads_as_the_confirmed_category(waybill: str, text: str) -> None:
    expected = next(row[2] for row in DEMO if row[0] == waybill)
    assert read_signals(text).category == expected


def test_034_second_offer_is_the_full_freight(shipments: dict[str, ShipmentView]) -> None:
    analysis = analyse(shipments["EA100000034CN"], ComplaintFacts("delay", "late"), now=NOW)
    assert [r.amount for r in analysis.remedies] == [Decimal("36.00"), Decimal("180.00")]
    assert "Promised 2026-11-16; 2 days late" in analysis.reasons
    assert not escalate_after_refusals(analysis, 1)
    assert escalate_after_refusals(analysis, 2)


def test_048_force_majeure_is_explained_and_escalated_if_the_customer_insists(
    shipments: dict[str, ShipmentView],
) -> None:
    analysis = analyse(shipments["EA100000048CN"], ComplaintFacts("delay", "late"), now=NOW)
    assert "Ferry suspended by typhoon (force majeure)" in analysis.reasons
    assert len(analysis.remedies) == 1 and analysis.remedies[0].amount is None
    assert escalate_after_refusals(analysis, 1)


def test_051_reported_as_a_delay_is_still_a_serious_loss(shipments: dict[str, ShipmentView]) -> None:
    analysis = analyse(
        shipments["EA100000051CN"], ComplaintFacts("delay", "It still hasn't arrived"), now=NOW
    )
    assert analysis.category == "loss"
    assert (analysis.level, analysis.priority, analysis.escalate_now) == ("serious", "P1", True)
    assert any("8 days without a scan" in r for r in analysis.reasons)


def test_065_bot_may_grant_the_vase(shipments: dict[str, ShipmentView]) -> None:
    analysis = analyse(shipments["EA100000065CN"], ComplaintFacts("damage", "broken vase"), now=NOW)
    assert analysis.remedies[0].bot_may_grant
    assert "400.00 CNY" in analysis.remedies[0].description


def test_079_reason_names_the_signer(shipments: dict[str, ShipmentView]) -> None:
    analysis = analyse(
        shipments["EA100000079CN"], ComplaintFacts("wrong_delivery", "I never got it"), now=NOW
    )
    assert analysis.escalate_reason and "front desk" in analysis.escalate_reason


def test_096_reasons_compare_weights(shipments: dict[str, ShipmentView]) -> None:
    analysis = analyse(shipments["EA100000096CN"], ComplaintFacts("billing", "overcharged"), now=NOW)
    assert "Charged 12 kg against 5 kg declared (+140%)" in analysis.reasons
    assert "Quoted 60.00 CNY, charged 144.00 CNY" in analysis.reasons


def test_second_complaint_on_a_demo_waybill_is_serious(shipments: dict[str, ShipmentView]) -> None:
    facts = ComplaintFacts("delay", "still late", previous_complaints_on_waybill=1)
    analysis = analyse(shipments["EA100000119CN"], facts, now=NOW)
    assert (analysis.level, analysis.priority, analysis.escalate_now) == ("serious", "P1", True)
