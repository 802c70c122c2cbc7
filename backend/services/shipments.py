"""Shipment look-ups returning the read-only ShipmentView of backend.domain."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from backend.config import carrier_tz
from backend.domain import EventView, ShipmentView
from backend.formatting import json_value
from backend.lateness import days_late
from backend.models import Customer, Shipment
from backend.phones import normalise_phone
from backend.waybill import normalise


def to_view(shipment: Shipment, *, today: date | None = None, tz: ZoneInfo | None = None) -> ShipmentView:
    """The read-only view of a loaded shipment (its customer and events are read)."""
    tz = tz or carrier_tz()
    today = today or datetime.now(tz).date()
    customer = shipment.customer
    events = tuple(
        EventView(
            occurred_at=e.occurred_at,
            location=e.location,
            code=e.code,
            description=e.description,
            force_majeure=e.force_majeure,
        )
        for e in sorted(shipment.events, key=lambda e: (e.occurred_at, e.id))
    )
    return ShipmentView(
        waybill=shipment.waybill,
        customer_id=customer.id,
        customer_name=customer.name,
        customer_class=customer.customer_class,
        origin=shipment.origin,
        destination=shipment.destination,
        status=shipment.status,
        promised_date=shipment.promised_date,
        events=events,
        delivered_at=shipment.delivered_at,
        signed_by=shipment.signed_by,
        signer_is_recipient=shipment.signer_is_recipient,
        delay_reason=shipment.delay_reason,
        exception_reason=shipment.exception_reason,
        force_majeure=shipment.force_majeure,
        declared_value=shipment.declared_value,
        declared_weight_kg=shipment.declared_weight_kg,
        charged_weight_kg=shipment.charged_weight_kg,
        quoted_amount=shipment.quoted_amount,
        charged_amount=shipment.charged_amount,
        freight_amount=shipment.freight_amount,
        goods_description=shipment.goods_description,
        pickup_due_at=shipment.pickup_due_at,
        courier_note=shipment.courier_note,
        days_late=days_late(
            shipment.status, shipment.promised_date, shipment.delivered_at, today=today, tz=tz
        ),
    )


def get_shipment(session: Session, waybill: str, *, today: date | None = None) -> ShipmentView | None:
    """The shipment with this waybill (typed in any spacing or case), or None if it is not in the store."""
    stmt = (
        select(Shipment)
        .where(Shipment.waybill == normalise(waybill))
        .options(selectinload(Shipment.customer), selectinload(Shipment.events))
    )
    shipment = session.scalars(stmt).one_or_none()
    return None if shipment is None else to_view(shipment, today=today)


def find_customer_by_phone(session: Session, phone: str) -> Customer | None:
    """The customer registered with this phone number (any written form), or None."""
    normalised = normalise_phone(phone)
    if normalised is None:
        return None
    return session.scalars(select(Customer).where(Customer.phone == normalised).limit(1)).first()


def find_shipments_by_phone(
    session: Session, phone: str, *, limit: int = 5, today: date | None = None
) -> list[ShipmentView]:
    """Recent shipments of the customer registered with this phone number, most recent first."""
    normalised = normalise_phone(phone)
    if normalised is None:
        return []
    stmt = (
        select(Shipment)
        .join(Shipment.customer)
        .where(Customer.phone == normalised)
        .order_by(Shipment.created_at.desc(), Shipment.id.desc())
        .limit(limit)
        .options(selectinload(Shipment.customer), selectinload(Shipment.events))
    )
    return [to_view(s, today=today) for s in session.scalars(stmt)]


def shipment_to_dict(view: ShipmentView) -> dict[str, Any]:
    """The JSON shape of a ShipmentView: ISO dates, Decimals as strings, plus is_late and last_event."""
    data: dict[str, Any] = json_value(asdict(view))
    data["is_late"] = view.is_late
    data["last_event"] = data["events"][-1] if data["events"] else None
    return data
