from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from backend.domain import ShipmentView
from backend.services.conversations import verified_customer_id
from backend.services.customers import prove_with_shipment, shipments_by_phone, verify_by_own_contact
from backend.services.shipments import find_shipments_by_phone, get_shipment

TZ = ZoneInfo("Asia/Shanghai")


def local_date(at: datetime | None) -> date | None:
    return at.astimezone(TZ).date() if at is not None else None


def view(session: Session, waybill: str, today: date) -> ShipmentView:
    found = get_shipment(session, waybill, today=today)
    assert found is not None, waybill
    return found


# waybill -> (customer, origin, destination, status, promised day offset, days_late, other facts)
SCENARIOS: dict[str, tuple[str, str, str, str, int | None, int, dict[str, Any]]] = {
    "EA100000017CN": (
        "C002",
        "Nanning",
        "Guangzhou",
        "delivered",
        -2,
        0,
        {"signed_by": "Li Wei", "signer_is_recipient": True},
    ),
    "EA100000025CN": ("C003", "Nanning", "Shanghai", "in_transit", 2, 0, {}),
    "EA100000034CN": (
        "C002",
        "Nanning",
        "Beijing",
        "held",
        -2,
        2,
        {"freight_amount": Decimal("180.00"), "force_majeure": False},
    ),
    "EA100000048CN": ("C003", "Haikou", "Nanning", "held", -1, 1, {"force_majeure": True}),
    "EA100000051CN": ("C004", "Nanning", "Chengdu", "missing", -6, 6, {"declared_value": Decimal("3000.00")}),
    "EA100000065CN": (
        "C003",
        "Nanning",
        "Kunming",
        "delivered",
        -1,
        0,
        {"declared_value": Decimal("400.00")},
    ),
    "EA100000079CN": (
        "C002",
        "Nanning",
        "Shenzhen",
        "delivered",
        -1,
        0,
        {"signed_by": "front desk", "signer_is_recipient": False},
    ),
    "EA100000082CN": ("C001", "Nanning", "Guangzhou", "pickup_missed", 2, 0, {}),
    "EA100000096CN": (
        "C002",
        "Nanning",
        "Xiamen",
        "delivered",
        -3,
        0,
        {
            "declared_weight_kg": Decimal("5.00"),
            "charged_weight_kg": Decimal("12.00"),
            "quoted_amount": Decimal("60.00"),
            "charged_amount": Decimal("144.00"),
        },
    ),
    "EA100000105CN": ("C003", "Nanning", "Hangzhou", "delivered", -1, 0, {"signer_is_recipient": False}),
    "EA100000119CN": ("C001", "Nanning", "Guangzhou", "out_for_delivery", -1, 1, {}),
    "EA100000122CN": ("C004", "Nanning", "Liuzhou", "out_for_delivery", 0, 0, {}),
    # Returned before reaching the recipient: the promise was not kept, so it counts as late.
    "EA100000136CN": ("C003", "Nanning", "Wuhan", "returned", -2, 2, {}),
    "EA100000140CN": ("C001", "Shenzhen", "Singapore", "customs_hold", 3, 0, {}),
}


@pytest.mark.parametrize("waybill", sorted(SCENARIOS))
def test_scenario_facts(db_session: Session, seeded_today: date, waybill: str) -> None:
    customer, origin, destination, status, promised, days_late, facts = SCENARIOS[waybill]
    v = view(db_session, waybill, seeded_today)
    assert (v.customer_id, v.origin, v.destination, v.status) == (customer, origin, destination, status)
    assert v.promised_date == (seeded_today + timedelta(days=promised) if promised is not None else None)
    assert v.days_late == days_late
    assert v.is_late == (days_late > 0)
    for name, value in facts.items():
        assert getattr(v, name) == value, name
    assert v.freight_amount is not None and v.freight_amount > 0
    assert v.goods_description
    assert v.events, "every shipment has tracking events"
    assert list(v.events) == sorted(v.events, key=lambda e: e.occurred_at)
    assert all(e.occurred_at.tzinfo is not None for e in v.events)


def test_customer_on_view(db_session: Session, seeded_today: date) -> None:
    v = view(db_session, "EA100000119CN", seeded_today)
    assert (v.customer_name, v.customer_class) == ("Harbor Fresh Foods Co.", "A")


def test_delivered_on_time(db_session: Session, seeded_today: date) -> None:
    v = view(db_session, "EA100000017CN", seeded_today)
    assert v.delivered_at is not None
    local = v.delivered_at.astimezone(TZ)
    assert (local.date(), local.time()) == (seeded_today - timedelta(days=2), time(14, 5))
    assert v.last_event is not None and v.last_event.code == "delivered"


def test_in_transit_last_scan_changsha_today(db_session: Session, seeded_today: date) -> None:
    v = view(db_session, "ea 1000 0002 5 cn", seeded_today)
    assert v.last_event is not None
    assert "Changsha" in v.last_event.location
    assert local_date(v.last_event.occurred_at) == seeded_today


def test_carrier_delay_explained(db_session: Session, seeded_today: date) -> None:
    v = view(db_session, "EA100000034CN", seeded_today)
    assert v.delay_reason and "capacity" in v.delay_reason.lower()
    held = [e for e in v.events if e.code == "held"]
    assert held and "Wuhan" in held[0].location
    assert local_date(held[0].occurred_at) == seeded_today - timedelta(days=3)
    assert "capacity" in held[0].description.lower()


def test_force_majeure_delay(db_session: Session, seeded_today: date) -> None:
    v = view(db_session, "EA100000048CN", seeded_today)
    assert v.delay_reason and "typhoon" in v.delay_reason.lower()
    fm = [e for e in v.events if e.force_majeure]
    assert fm and local_date(fm[0].occurred_at) == seeded_today - timedelta(days=2)
    assert "ferry" in fm[0].description.lower()


def test_lost_last_scan_guiyang(db_session: Session, seeded_today: date) -> None:
    v = view(db_session, "EA100000051CN", seeded_today)
    assert v.last_event is not None and "Guiyang" in v.last_event.location
    assert local_date(v.last_event.occurred_at) == seeded_today - timedelta(days=8)


def test_damage_case_vase(db_session: Session, seeded_today: date) -> None:
    v = view(db_session, "EA100000065CN", seeded_today)
    assert local_date(v.delivered_at) == seeded_today - timedelta(days=1)
    assert v.goods_description and "vase" in v.goods_description.lower()


def test_signed_by_someone_else(db_session: Session, seeded_today: date) -> None:
    v = view(db_session, "EA100000079CN", seeded_today)
    assert local_date(v.delivered_at) == seeded_today - timedelta(days=1)


def test_missed_pickup(db_session: Session, seeded_today: date) -> None:
    v = view(db_session, "EA100000082CN", seeded_today)
    assert v.pickup_due_at is not None
    local = v.pickup_due_at.astimezone(TZ)
    assert (local.date(), local.time()) == (seeded_today, time(14, 30))
    assert v.events[0].code == "pickup_booked"


def test_wrong_delivery_courier_note(db_session: Session, seeded_today: date) -> None:
    v = view(db_session, "EA100000105CN", seeded_today)
    assert local_date(v.delivered_at) == seeded_today - timedelta(days=1)
    assert v.courier_note and "neighbouring building" in v.courier_note.lower()


def test_late_a_class_out_for_delivery_today(db_session: Session, seeded_today: date) -> None:
    v = view(db_session, "EA100000119CN", seeded_today)
    assert v.last_event is not None and v.last_event.code == "out_for_delivery"
    assert local_date(v.last_event.occurred_at) == seeded_today


def test_returned_wrong_phone(db_session: Session, seeded_today: date) -> None:
    v = view(db_session, "EA100000136CN", seeded_today)
    assert v.exception_reason and "phone" in v.exception_reason.lower()
    failed = [e for e in v.events if e.code == "delivery_failed"]
    assert failed and local_date(failed[0].occurred_at) == seeded_today - timedelta(days=2)


def test_customs_hold(db_session: Session, seeded_today: date) -> None:
    v = view(db_session, "EA100000140CN", seeded_today)
    assert v.exception_reason and "commercial invoice" in v.exception_reason.lower()
    hold = [e for e in v.events if e.code == "customs_hold"]
    assert hold and local_date(hold[0].occurred_at) == seeded_today - timedelta(days=1)


def test_days_late_grows_with_today(db_session: Session, seeded_today: date) -> None:
    assert view(db_session, "EA100000034CN", seeded_today + timedelta(days=3)).days_late == 5
    # Delivered shipments keep the lateness they had at delivery.
    assert view(db_session, "EA100000017CN", seeded_today + timedelta(days=3)).days_late == 0


@pytest.mark.parametrize("waybill", ["EA100000153CN", "EA100000018CN", "nonsense"])
def test_unknown_numbers(db_session: Session, seeded_today: date, waybill: str) -> None:
    assert get_shipment(db_session, waybill, today=seeded_today) is None


def test_find_by_phone(db_session: Session, seeded_today: date) -> None:
    views = find_shipments_by_phone(db_session, "138 0000 0003", today=seeded_today)
    assert len(views) == 5
    assert {v.customer_id for v in views} == {"C003"}
    assert views[0].waybill == "EA100000025CN"  # the most recent pickup
    starts = [v.events[0].occurred_at for v in views]
    assert starts == sorted(starts, reverse=True)
    assert find_shipments_by_phone(db_session, "+86 138 0000 0001", limit=2)[0].customer_id == "C001"
    assert find_shipments_by_phone(db_session, "+8613999999999") == []
    assert find_shipments_by_phone(db_session, "not a phone") == []


# --- who may list whose shipments by phone (backend.services.customers) -------------------------------


def test_a_phone_alone_lists_nothing(db_session: Session, seeded_today: date) -> None:
    found = shipments_by_phone(db_session, conversation_id="web:phone-alone", phone="138 0000 0003")
    assert (found.proven, found.shipments) == (False, [])
    assert verified_customer_id(db_session, "web:phone-alone") is None


def test_a_phone_with_a_waybill_of_the_same_account_lists_it_on_the_web(
    db_session: Session, seeded_today: date
) -> None:
    found = shipments_by_phone(
        db_session,
        conversation_id="web:phone-and-waybill",
        phone="138 0000 0003",
        known_waybill="EA100000025CN",
        today=seeded_today,
    )
    assert found.proven and {v.customer_id for v in found.shipments} == {"C003"}
    assert verified_customer_id(db_session, "web:phone-and-waybill") == "C003"


def test_on_telegram_only_the_own_contact_proves_the_phone(db_session: Session, seeded_today: date) -> None:
    cid = "telegram:own-contact"
    found = shipments_by_phone(
        db_session, conversation_id=cid, phone="138 0000 0003", known_waybill="EA100000025CN"
    )
    assert (found.proven, found.shipments) == (False, [])
    assert verify_by_own_contact(db_session, conversation_id=cid, phone="+86 138 0000 0003") == "C003"
    assert shipments_by_phone(db_session, conversation_id=cid, phone="138 0000 0003").proven
    assert (
        verify_by_own_contact(db_session, conversation_id="telegram:stranger", phone="+8613999999999") is None
    )


def test_a_waybill_of_another_account_proves_nothing(db_session: Session, seeded_today: date) -> None:
    other = find_shipments_by_phone(db_session, "+86 138 0000 0001", limit=1)[0]
    cid = "web:other-account"
    found = prove_with_shipment(
        db_session, conversation_id=cid, phone="138 0000 0003", customer_id=other.customer_id
    )
    assert (found.proven, found.shipments) == (False, [])
    mine = prove_with_shipment(db_session, conversation_id=cid, phone="138 0000 0003", customer_id="C003")
    assert mine.proven and len(mine.shipments) == 5
