"""Each DEMO_DATA.md complaint scenario, from the customer's words to level, priority and first remedy."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from backend.complaints import ComplaintFacts, analyse, escalate_after_refusals, read_signals
from backend.domain import ShipmentView

from .demo import DEMO, NOW, english


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
    assert "Promised 16 November 2026; 2 days late" in english(analysis.reasons)
    assert not escalate_after_refusals(analysis, 1)
    assert escalate_after_refusals(analysis, 2)


def test_048_force_majeure_is_explained_and_escalated_if_the_customer_insists(
    shipments: dict[str, ShipmentView],
) -> None:
    analysis = analyse(shipments["EA100000048CN"], ComplaintFacts("delay", "late"), now=NOW)
    assert "Ferry suspended by typhoon (force majeure)" in english(analysis.reasons)
    assert len(analysis.remedies) == 1 and analysis.remedies[0].amount is None
    assert escalate_after_refusals(analysis, 1)


def test_051_reported_as_a_delay_is_still_a_serious_loss(shipments: dict[str, ShipmentView]) -> None:
    analysis = analyse(
        shipments["EA100000051CN"], ComplaintFacts("delay", "It still hasn't arrived"), now=NOW
    )
    assert analysis.category == "loss"
    assert (analysis.level, analysis.priority, analysis.escalate_now) == ("serious", "P1", True)
    assert any("8 days without a scan" in r for r in english(analysis.reasons))


def test_065_bot_may_grant_the_vase(shipments: dict[str, ShipmentView]) -> None:
    analysis = analyse(shipments["EA100000065CN"], ComplaintFacts("damage", "broken vase"), now=NOW)
    assert analysis.remedies[0].bot_may_grant
    assert "400.00 CNY" in analysis.remedies[0].description


def test_079_reason_names_the_signer(shipments: dict[str, ShipmentView]) -> None:
    analysis = analyse(
        shipments["EA100000079CN"], ComplaintFacts("wrong_delivery", "I never got it"), now=NOW
    )
    assert analysis.escalate_reason and "front desk" in analysis.escalate_reason.text("en")


def test_096_reasons_compare_weights(shipments: dict[str, ShipmentView]) -> None:
    analysis = analyse(shipments["EA100000096CN"], ComplaintFacts("billing", "overcharged"), now=NOW)
    assert "Charged 12 kg against 5 kg declared (+140%)" in english(analysis.reasons)
    assert "Quoted 60.00 CNY, charged 144.00 CNY" in english(analysis.reasons)


def test_second_complaint_on_a_demo_waybill_is_serious(shipments: dict[str, ShipmentView]) -> None:
    facts = ComplaintFacts("delay", "still late", previous_complaints_on_waybill=1)
    analysis = analyse(shipments["EA100000119CN"], facts, now=NOW)
    assert (analysis.level, analysis.priority, analysis.escalate_now) == ("serious", "P1", True)
