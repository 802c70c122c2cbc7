"""Pure helpers: the shipment answers (shipment_text) and reading form answers (complaint_parsing)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from backend.complaints.analysis import ComplaintFacts, analyse
from backend.complaints.sla import WORKING_WEEK
from backend.config import carrier_today, carrier_tz
from backend.domain import EventView, ShipmentView
from bot.actions.complaint_parsing import (
    category_text,
    correction_fields,
    parse_category,
    parse_photo,
    parse_value,
    parse_wants,
    says_no_number,
    wants_text,
)
from bot.actions.shipment_text import (
    billing_text,
    has_problem,
    overbilled,
    promise_text,
    shipment_answer,
    signed_text,
    status_text,
)
from tests.bot.trackers import shipment

TZ = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 11, 25)  # a Wednesday
SCAN = EventView(
    occurred_at=datetime(2026, 11, 24, 1, 0, tzinfo=timezone.utc),  # 09:00 in Shanghai
    location="Wuhan hub",
    code="held",
    description="Held at Wuhan hub",
)
HELD = ShipmentView(
    waybill="EA100000034CN",
    customer_id="C002",
    customer_name="Wang's Hardware",
    customer_class="B",
    origin="Nanning",
    destination="Beijing",
    status="held",
    promised_date=date(2026, 11, 23),
    events=(SCAN,),
    delay_reason="capacity shortage on the Beijing linehaul",
    declared_value=Decimal("1200"),
    freight_amount=Decimal("180"),
    days_late=2,
)
DELIVERED = replace(
    HELD,
    waybill="EA100000017CN",
    destination="Guangzhou",
    status="delivered",
    promised_date=date(2026, 11, 23),
    delivered_at=datetime(2026, 11, 23, 6, 5, tzinfo=timezone.utc),  # 14:05 in Shanghai
    signed_by="Li Wei",
    signer_is_recipient=True,
    delay_reason=None,
    days_late=0,
)


def test_status_of_a_held_shipment() -> None:
    assert status_text(HELD, TZ, TODAY) == (
        "It is held. Last scan: Held at Wuhan hub (Wuhan hub, yesterday at 09:00)."
    )
    assert promise_text(HELD, TODAY) == "It was promised for Mon 23 Nov, so it is 2 days late."
    assert has_problem(HELD)


def test_answers_about_a_delivered_shipment() -> None:
    assert status_text(DELIVERED, TZ, TODAY) == (
        'It was delivered Mon 23 Nov at 14:05. It was signed for by "Li Wei" (the recipient).'
    )
    assert shipment_answer(DELIVERED, "signed_by", tz=TZ, today=TODAY) == (
        "EA100000017CN (Nanning → Guangzhou): "
        'It was signed for by "Li Wei" (the recipient) Mon 23 Nov at 14:05.'
    )
    assert shipment_answer(DELIVERED, "delay_reason", tz=TZ, today=TODAY) == (
        "EA100000017CN (Nanning → Guangzhou): It was delivered Mon 23 Nov at 14:05. "
        'It was signed for by "Li Wei" (the recipient). It was promised for Mon 23 Nov and arrived on time.'
    )
    assert not has_problem(DELIVERED)


def test_signed_by_someone_else_is_a_problem() -> None:
    front_desk = replace(DELIVERED, signed_by="front desk", signer_is_recipient=False)
    assert signed_text(front_desk, TZ, TODAY, with_time=False) == (
        'It was signed for by "front desk", not by the recipient in person. '
        "If the recipient has not received it, please tell me and I'll look into it."
    )
    assert has_problem(front_desk)
    assert signed_text(HELD, TZ, TODAY) == "It has not been delivered yet, so nobody has signed for it."


def test_eta_and_delay_reason_of_a_late_shipment() -> None:
    assert shipment_answer(HELD, "eta", tz=TZ, today=TODAY) == (
        "EA100000034CN (Nanning → Beijing): It was promised for Mon 23 Nov, so it is 2 days late. "
        "The reason: capacity shortage on the Beijing linehaul. "
        "We'll move it on the first available departure and keep you updated."
    )
    weather = replace(HELD, delay_reason="ferry suspended by typhoon", force_majeure=True)
    assert shipment_answer(weather, "delay_reason", tz=TZ, today=TODAY).startswith(
        "EA100000034CN (Nanning → Beijing): This is weather beyond our control: ferry suspended by typhoon."
    )


def test_an_on_schedule_shipment_is_not_late() -> None:
    on_time = replace(HELD, status="in_transit", promised_date=TODAY, delay_reason=None, days_late=0)
    assert promise_text(on_time, TODAY) == "It is due today and on schedule."
    assert shipment_answer(on_time, "delay_reason", tz=TZ, today=TODAY) == (
        "EA100000034CN (Nanning → Beijing): It isn't late. It is due today and on schedule. "
        "We'll keep it moving; you can ask me again at any time."
    )
    assert not has_problem(on_time)


def test_billing_text_only_when_noticeably_overbilled() -> None:
    billed = replace(
        DELIVERED,
        declared_weight_kg=Decimal("5"),
        charged_weight_kg=Decimal("12"),
        quoted_amount=Decimal("60"),
        charged_amount=Decimal("144"),
    )
    assert overbilled(billed) and has_problem(billed)
    assert (
        billing_text(billed)
        == "It was billed for 12 kg against 5 kg declared: 144.00 CNY (quoted 60.00 CNY)."
    )
    within = replace(billed, charged_weight_kg=Decimal("5.5"))
    assert not overbilled(within) and billing_text(within) == ""


@pytest.mark.parametrize(
    ("waybill", "problem"),
    [
        ("EA100000017CN", False),  # delivered on time to Li Wei
        ("EA100000034CN", True),  # held at Wuhan, late
        ("EA100000051CN", True),  # missing
        ("EA100000065CN", False),  # delivered (the damage is only in the customer's words)
        ("EA100000096CN", True),  # billed 12 kg against 5 kg
    ],
)
def test_demo_shipments_with_a_problem(waybill: str, problem: bool) -> None:
    assert has_problem(shipment(waybill)) is problem


def test_missing_demo_shipment_says_a_trace_has_started() -> None:
    view = shipment("EA100000051CN")
    text = shipment_answer(view, "status", tz=TZ, today=TODAY)
    assert "It is missing in our network and a trace has been started." in text
    assert text.endswith(
        "Our trace takes up to 48 hours; if we can't find it, you are compensated per our policy."
    )


def test_a_returned_demo_shipment_past_its_promise_is_late_in_the_answer_and_the_analysis() -> None:
    # Returned two days after its promised date: the answer and the complaint analysis agree it is late.
    view = shipment("EA100000136CN")
    today, tz = carrier_today(), carrier_tz()
    assert view.status == "returned" and view.days_late == 2
    text = shipment_answer(view, "status", tz=tz, today=today)
    assert "so it is 2 days late" in text and "on schedule" not in text
    analysis = analyse(
        view,
        ComplaintFacts(category="delay", text="it never came"),
        now=datetime.now(timezone.utc),
        calendar=replace(WORKING_WEEK, tz=tz),
    )
    assert any(reason.text("en").endswith("; 2 days late") for reason in analysis.reasons)


# --- complaint_parsing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("my parcel arrived broken", "damage"),
        ("billing", "billing"),
        ("it's late", "delay"),
        ("nobody came to pick up", "missed_pickup"),
        ("the courier was rude", "staff_conduct"),
        ("something else", "other"),
        ("blah", None),
    ],
)
def test_parse_category(text: str, category: str | None) -> None:
    assert parse_category(text) == category


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2k", "2000"),
        ("¥1,200", "1200"),
        ("800", "800"),
        ("don't know", "unknown"),
        ("lots", None),
    ],
)
def test_parse_value(text: str, value: str | None) -> None:
    assert parse_value(text) == value


def test_parse_value_fractional_thousands() -> None:
    assert Decimal(parse_value("1.5k") or "") == Decimal("1500")


@pytest.mark.parametrize(
    ("text", "wants"),
    [
        ("refund please", "refund"),
        ("I'd like them to pay for it", "compensation"),
        ("send it again", "redelivery"),
        ("just to report it", "report_only"),
        ("be more careful", "be more careful"),
    ],
)
def test_parse_wants(text: str, wants: str) -> None:
    assert parse_wants(text) == wants


@pytest.mark.parametrize(
    ("text", "photo"), [("later", "later"), ("I can't right now", "later"), ("sent", "received")]
)
def test_parse_photo(text: str, photo: str) -> None:
    assert parse_photo(text) == photo


@pytest.mark.parametrize(
    ("text", "no_number"),
    [
        ("I don't have it", True),
        ("not sure", True),
        ("I don't know the number", True),
        ("sure, it is EA100000017CN", False),
    ],
)
def test_says_no_number(text: str, no_number: bool) -> None:
    assert says_no_number(text) is no_number


def test_correction_fields_in_form_order() -> None:
    assert correction_fields("the value and the number are wrong") == ["complaint_waybill", "complaint_value"]
    assert correction_fields("hmm") == []


def test_texts_for_the_summary() -> None:
    assert (wants_text(None), wants_text("refund"), wants_text("a new box")) == (
        "not said yet",
        "a refund",
        "a new box",
    )
    assert (category_text(None), category_text("loss")) == (
        "another problem",
        "a lost shipment or missing items",
    )
