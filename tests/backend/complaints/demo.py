"""The DEMO_DATA.md shipments built by hand relative to a fixed "today", and builders for other cases."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from backend.domain import EventView, ShipmentView
from backend.i18n import Words

SHANGHAI = ZoneInfo("Asia/Shanghai")
# D = Wednesday 18 November 2026; "now" is 10:00 in Shanghai, inside business hours.
D = date(2026, 11, 18)
NOW = datetime(2026, 11, 18, 2, 0, tzinfo=timezone.utc)

CUSTOMERS = {
    "C001": ("Harbor Fresh Foods Co.", "A"),
    "C002": ("Wang's Hardware", "B"),
    "C003": ("Lin Mei (individual)", "C"),
    "C004": ("Nanning Textile Trading", "A"),
}


def english(reasons: tuple[Words, ...] | list[Words]) -> list[str]:
    """The analysis's reasons as an English-reading agent reads them."""
    return [reason.text("en") for reason in reasons]


def at(days: int, hour: int = 10, minute: int = 0) -> datetime:
    """A local Shanghai time on day D+days, as UTC."""
    local = datetime.combine(D + timedelta(days=days), time(hour, minute), tzinfo=SHANGHAI)
    return local.astimezone(timezone.utc)


def ev(days: int, location: str, code: str, description: str, hour: int = 10, fm: bool = False) -> EventView:
    """One tracking scan."""
    return EventView(at(days, hour), location, code, description, fm)


def ship(
    waybill: str, customer: str, route: str, status: str, promised: int | None, **kw: object
) -> ShipmentView:
    """A ShipmentView for a DEMO_DATA row."""
    name, klass = CUSTOMERS[customer]
    origin, destination = route.split(" → ")
    return ShipmentView(
        waybill=waybill,
        customer_id=customer,
        customer_name=name,
        customer_class=klass,
        origin=origin,
        destination=destination,
        status=status,
        promised_date=D + timedelta(days=promised) if promised is not None else None,
        **kw,  # type: ignore[arg-type]
    )


def demo_shipments() -> dict[str, ShipmentView]:
    """Every DEMO_DATA.md shipment with its key facts."""
    shipments = [
        ship(
            "EA100000017CN",
            "C002",
            "Nanning → Guangzhou",
            "delivered",
            -2,
            events=(
                ev(-4, "Nanning", "picked_up", "Picked up"),
                ev(-2, "Guangzhou", "delivered", "Delivered", 14),
            ),
            delivered_at=at(-2, 14, 5),
            signed_by="Li Wei",
            signer_is_recipient=True,
            freight_amount=Decimal("35"),
        ),
        ship(
            "EA100000025CN",
            "C003",
            "Nanning → Shanghai",
            "in_transit",
            2,
            events=(
                ev(-1, "Nanning", "picked_up", "Picked up"),
                ev(0, "Changsha hub", "arrived", "Arrived at hub", 6),
            ),
            freight_amount=Decimal("28"),
        ),
        ship(
            "EA100000034CN",
            "C002",
            "Nanning → Beijing",
            "held",
            -2,
            events=(
                ev(-5, "Nanning", "picked_up", "Picked up"),
                ev(-3, "Wuhan hub", "held", "Held: capacity shortage"),
            ),
            delay_reason="capacity shortage at Wuhan hub",
            freight_amount=Decimal("180"),
        ),
        ship(
            "EA100000048CN",
            "C003",
            "Haikou → Nanning",
            "held",
            -1,
            events=(
                ev(-4, "Haikou", "picked_up", "Picked up"),
                ev(-2, "Haikou port", "held", "Ferry suspended by typhoon", fm=True),
            ),
            delay_reason="ferry suspended by typhoon",
            force_majeure=True,
            freight_amount=Decimal("40"),
        ),
        ship(
            "EA100000051CN",
            "C004",
            "Nanning → Chengdu",
            "missing",
            -4,
            events=(
                ev(-10, "Nanning", "picked_up", "Picked up"),
                ev(-8, "Guiyang", "departed", "Departed Guiyang hub"),
            ),
            declared_value=Decimal("3000"),
            freight_amount=Decimal("260"),
            goods_description="silk fabric rolls",
        ),
        ship(
            "EA100000065CN",
            "C003",
            "Nanning → Kunming",
            "delivered",
            -1,
            events=(
                ev(-3, "Nanning", "picked_up", "Picked up"),
                ev(-1, "Kunming", "delivered", "Delivered", 15),
            ),
            delivered_at=at(-1, 15),
            signed_by="Lin Mei",
            signer_is_recipient=True,
            declared_value=Decimal("400"),
            goods_description="a ceramic vase",
            freight_amount=Decimal("30"),
        ),
        ship(
            "EA100000079CN",
            "C002",
            "Nanning → Shenzhen",
            "delivered",
            -1,
            events=(
                ev(-3, "Nanning", "picked_up", "Picked up"),
                ev(-1, "Shenzhen", "delivered", "Delivered", 11),
            ),
            delivered_at=at(-1, 11),
            signed_by="front desk",
            signer_is_recipient=False,
            freight_amount=Decimal("45"),
        ),
        ship(
            "EA100000082CN",
            "C001",
            "Nanning → Nanning",
            "pickup_missed",
            None,
            pickup_due_at=at(0, 14, 30),
            freight_amount=Decimal("50"),
        ),
        ship(
            "EA100000096CN",
            "C002",
            "Nanning → Xiamen",
            "delivered",
            -1,
            delivered_at=at(-1, 16),
            signed_by="Chen Jie",
            signer_is_recipient=True,
            declared_weight_kg=Decimal("5"),
            charged_weight_kg=Decimal("12"),
            quoted_amount=Decimal("60"),
            charged_amount=Decimal("144"),
            freight_amount=Decimal("144"),
        ),
        ship(
            "EA100000105CN",
            "C003",
            "Nanning → Hangzhou",
            "delivered",
            -1,
            events=(
                ev(-3, "Nanning", "picked_up", "Picked up"),
                ev(-1, "Hangzhou", "delivered", "Delivered", 16),
            ),
            delivered_at=at(-1, 16),
            courier_note="Left at the reception of the neighbouring building (No. 7)",
            freight_amount=Decimal("32"),
        ),
        ship(
            "EA100000119CN",
            "C001",
            "Nanning → Guangzhou",
            "out_for_delivery",
            -1,
            events=(
                ev(-3, "Nanning", "picked_up", "Picked up"),
                ev(0, "Guangzhou", "out_for_delivery", "Out for delivery", 8),
            ),
            delay_reason="missed connection at Guangzhou hub",
            freight_amount=Decimal("90"),
        ),
        ship(
            "EA100000122CN",
            "C004",
            "Nanning → Liuzhou",
            "out_for_delivery",
            0,
            events=(
                ev(-1, "Nanning", "picked_up", "Picked up"),
                ev(0, "Liuzhou", "out_for_delivery", "Out for delivery", 8),
            ),
            freight_amount=Decimal("20"),
        ),
        ship(
            "EA100000136CN",
            "C003",
            "Nanning → Wuhan",
            "returned",
            -1,
            events=(
                ev(-4, "Nanning", "picked_up", "Picked up"),
                ev(
                    -2, "Wuhan", "undeliverable", "Undeliverable: recipient phone number wrong on the waybill"
                ),
            ),
            exception_reason="recipient phone number wrong on the waybill",
            freight_amount=Decimal("38"),
        ),
        ship(
            "EA100000140CN",
            "C001",
            "Shenzhen → Singapore",
            "customs_hold",
            1,
            events=(
                ev(-3, "Shenzhen", "picked_up", "Picked up"),
                ev(-1, "Singapore customs", "customs_hold", "Customs hold: awaiting commercial invoice"),
            ),
            exception_reason="customs hold awaiting commercial invoice from the shipper",
            freight_amount=Decimal("420"),
        ),
    ]
    return {s.waybill: s for s in shipments}


def base_shipment(**changes: object) -> ShipmentView:
    """A plain B-class shipment in transit, promised today, freight 100 CNY; override what a case needs."""
    shipment = ship(
        "EA100000017CN",
        "C002",
        "Nanning → Guangzhou",
        "in_transit",
        0,
        events=(
            ev(-2, "Nanning", "picked_up", "Picked up"),
            ev(-1, "Guangzhou hub", "arrived", "Arrived at hub"),
        ),
        freight_amount=Decimal("100"),
    )
    if "customer_class" in changes and "customer_id" not in changes:
        klass = changes["customer_class"]
        changes["customer_id"] = {"A": "C001", "B": "C002", "C": "C003"}[str(klass)]
    if "promised_date" in changes and isinstance(changes["promised_date"], int):
        changes["promised_date"] = D + timedelta(days=changes["promised_date"])
    return replace(shipment, **changes)  # type: ignore[arg-type]


# Each DEMO_DATA.md complaint scenario, checked by test_complaint_demo.py (English) and
# test_complaint_signals_zh.py (the same scenarios in Chinese).
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
