"""The carrier's data coming in: customers and shipments upserted by natural key, scans by event id."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from backend.db import begin_write
from backend.models import Customer, Shipment, ShipmentEvent
from backend.phones import normalise_phone
from backend.services import customer_classes as classes

log = logging.getLogger(__name__)

UpsertResult = Literal["created", "updated", "unchanged"]

# The stored fields of a shipment a carrier's system sets, as GET /api/shipments/{waybill} shows them.
SHIPMENT_FIELDS = (
    "customer_id",
    "origin",
    "destination",
    "status",
    "promised_date",
    "delivered_at",
    "signed_by",
    "signer_is_recipient",
    "delay_reason",
    "exception_reason",
    "force_majeure",
    "declared_value",
    "declared_weight_kg",
    "charged_weight_kg",
    "quoted_amount",
    "charged_amount",
    "freight_amount",
    "goods_description",
    "pickup_due_at",
    "courier_note",
)


@dataclass(frozen=True)
class FieldError(Exception):
    """One field of the request that cannot be used: where (pydantic's `loc`), why, and the value sent."""

    loc: tuple[str, ...]
    msg: str
    type: str
    input: Any = None

    def as_detail(self) -> dict[str, Any]:
        """The entry FastAPI's own 422 answers carry, so callers parse one shape."""
        return {"type": self.type, "loc": list(self.loc), "msg": self.msg, "input": self.input}


def _apply(record: Any, values: dict[str, Any]) -> list[str]:
    """Set the values that differ (equal ones untouched: an unchanged record is not written); their names."""
    changed = [name for name, value in values.items() if getattr(record, name) != value]
    for name in changed:
        setattr(record, name, values[name])
    return changed


def upsert_customer(
    session: Session, *, customer_id: str, name: str, customer_class: str | None, phone: str | None
) -> tuple[Customer, UpsertResult]:
    """Create or update the customer `customer_id`; a phone is stored in E.164 form.

    Classes are computed from the shipments' revenue (backend.services.customer_classes), but the carrier
    knows things the freight does not (a new key account, a contract signed last week), and the demo's
    customers must keep the classes DEMO_DATA fixes. So a `customer_class` sent here is the carrier's word:
    a pin with source "carrier", which the monthly computation leaves in place (it records its own class
    beside it). A supervisor's pin wins over it: a CRM that sends its old field with every update must not
    undo what a person decided in the console. `customer_class` None (the carrier states no class) removes
    the carrier's pin, as a PUT empties a field it leaves out, and the data decides; a new customer without
    a class starts as C (no revenue yet) until the next computation.
    """
    normalised = None
    if phone is not None and phone.strip():
        normalised = normalise_phone(phone)
        if normalised is None:
            raise FieldError(("body", "phone"), "not a valid phone number", "phone_number", phone)
    values = {"name": name, "phone": normalised}
    customer = session.get(Customer, customer_id)
    if customer is None:
        customer = Customer(
            id=customer_id, customer_class=customer_class or classes.NO_REVENUE_CLASS, **values
        )
        if customer_class is None:
            customer.computed_class = classes.NO_REVENUE_CLASS
        # else: the model pins a class written from outside the computation as the carrier's (before_insert).
        session.add(customer)
        session.flush()
        log.info("integration: customer %s created", customer_id)
        return customer, "created"
    changed = _apply(customer, values)
    supervisor_pin = (customer.pinned_by or "").startswith("supervisor:")
    carrier_states = customer_class is not None or customer.pinned_by == classes.CARRIER
    if (
        carrier_states
        and not supervisor_pin
        and classes.pin(
            session, customer_id=customer_id, customer_class=customer_class, actor=classes.CARRIER
        )
    ):
        changed.append("customer_class")
    if changed:
        log.info("integration: customer %s updated (%s)", customer_id, ", ".join(changed))
    return customer, "updated" if changed else "unchanged"


def load_shipment(session: Session, waybill: str) -> Shipment | None:
    """The shipment with this (normalised) waybill, its customer and events loaded."""
    stmt = (
        select(Shipment)
        .where(Shipment.waybill == waybill)
        .options(selectinload(Shipment.customer), selectinload(Shipment.events))
    )
    return session.scalars(stmt).one_or_none()


def upsert_shipment(
    session: Session, *, waybill: str, values: dict[str, Any]
) -> tuple[Shipment, UpsertResult]:
    """Create or replace the shipment `waybill` (a valid, normalised number) with `values` (SHIPMENT_FIELDS).

    A PUT states the whole record: a field left out becomes empty. Its tracking scans are not touched.
    """
    unknown = set(values) - set(SHIPMENT_FIELDS)
    if unknown:
        raise ValueError(f"not shipment fields: {sorted(unknown)}")
    customer_id = values["customer_id"]
    if session.get(Customer, customer_id) is None:
        raise FieldError(
            ("body", "customer_id"),
            f"unknown customer {customer_id!r}: PUT /api/v1/customers/{customer_id} first",
            "unknown_customer",
            customer_id,
        )
    shipment = load_shipment(session, waybill)
    if shipment is None:
        shipment = Shipment(waybill=waybill, **values)
        session.add(shipment)
        session.flush()
        # Read back as stored (times in UTC, amounts to the cent), as GET would answer.
        session.expire(shipment)
        log.info("integration: shipment %s created", waybill)
        return shipment, "created"
    changed = _apply(shipment, values)
    if not changed:
        return shipment, "unchanged"
    session.flush()
    session.expire(shipment)
    log.info("integration: shipment %s updated (%s)", waybill, ", ".join(changed))
    return shipment, "updated"


@dataclass(frozen=True)
class EventOutcome:
    """What storing one tracking scan did."""

    event: ShipmentEvent
    created: bool
    # A replay whose body is not the stored one: nothing was applied, and the caller should know.
    differs: bool
    # Whether the scan's status became the shipment's (not when a newer scan has set one).
    status_applied: bool
    shipment: Shipment


def _event_values(event: ShipmentEvent) -> dict[str, Any]:
    return {
        "occurred_at": event.occurred_at,
        "code": event.code,
        "location": event.location,
        "description": event.description,
        "status": event.status,
        "force_majeure": event.force_majeure,
    }


def _stored_event(session: Session, shipment_id: int, event_id: str) -> ShipmentEvent | None:
    stmt = select(ShipmentEvent).where(
        ShipmentEvent.shipment_id == shipment_id, ShipmentEvent.event_id == event_id
    )
    return session.scalars(stmt).one_or_none()


def record_event(
    session: Session,
    *,
    shipment: Shipment,
    event_id: str,
    occurred_at: datetime,
    code: str,
    location: str,
    description: str,
    status: str | None = None,
    force_majeure: bool = False,
) -> EventOutcome:
    """Store the carrier's scan `event_id` of `shipment` once; a replay (same id) changes nothing.

    Scans are placed by their scan time: the shipment takes the scan's status only when no stored scan
    with a status is newer, so an old scan that arrives late cannot undo the current status.
    """
    begin_write(session)
    values = {
        "occurred_at": occurred_at,
        "code": code,
        "location": location,
        "description": description,
        "status": status,
        "force_majeure": force_majeure,
    }
    existing = _stored_event(session, shipment.id, event_id)
    if existing is None:
        event = ShipmentEvent(shipment_id=shipment.id, event_id=event_id, **values)
        try:
            # A savepoint: another process storing the same scan first makes this insert fail alone.
            with session.begin_nested():
                session.add(event)
                session.flush()
        except IntegrityError:
            existing = _stored_event(session, shipment.id, event_id)
            if existing is None:
                raise
    if existing is not None:
        differs = _event_values(existing) != values
        log.info(
            "integration: scan %s of %s replayed%s",
            event_id,
            shipment.waybill,
            " (differs)" if differs else "",
        )
        return EventOutcome(existing, created=False, differs=differs, status_applied=False, shipment=shipment)
    applied = status is not None and event.id in place_scan_statuses(session, {shipment.id: [event.id]})
    session.flush()
    # Read back as stored (UTC times; the scans in time order for the view).
    session.expire(shipment)
    session.refresh(event)
    log.info("integration: scan %s of %s stored (status %s)", event_id, shipment.waybill, status or "-")
    return EventOutcome(event, created=True, differs=False, status_applied=applied, shipment=shipment)


def place_scan_statuses(session: Session, new_scans: Mapping[int, Iterable[int]]) -> set[int]:
    """Apply the placement rule to scans just stored: {shipment id: [their new scan ids]}.

    A shipment takes the status of its newest scan that carries one (by scan time, then by storing order)
    when that scan is one of the new ones, so an old scan that arrives late cannot undo the current
    status; a delivered status also sets an empty `delivered_at`. One statement per shipment, however
    many scans: record_event calls it for one scan, the bulk import for a batch. Returns the ids of the
    new scans whose status became their shipment's.
    """
    new_ids = {shipment_id: set(ids) for shipment_id, ids in new_scans.items() if ids}
    if not new_ids:
        return set()
    session.flush()
    newest: dict[int, tuple[datetime, int, str]] = {}
    rows = session.execute(
        select(
            ShipmentEvent.shipment_id, ShipmentEvent.occurred_at, ShipmentEvent.id, ShipmentEvent.status
        ).where(ShipmentEvent.shipment_id.in_(list(new_ids)), ShipmentEvent.status.is_not(None))
    )
    for shipment_id, occurred_at, event_id, status in rows:
        best = newest.get(shipment_id)
        if best is None or (occurred_at, event_id) > best[:2]:
            newest[shipment_id] = (occurred_at, event_id, status)
    placed = {sid: best for sid, best in newest.items() if best[1] in new_ids[sid]}
    if not placed:
        return set()
    delivered_at: dict[int, datetime | None] = {
        shipment_id: moment
        for shipment_id, moment in session.execute(
            select(Shipment.id, Shipment.delivered_at).where(Shipment.id.in_(list(placed)))
        )
    }
    changes = []
    for shipment_id, (occurred_at, _event_id, status) in placed.items():
        change: dict[str, Any] = {"id": shipment_id, "status": status}
        if status == "delivered" and delivered_at.get(shipment_id) is None:
            change["delivered_at"] = occurred_at
        changes.append(change)
    # By primary key, grouped by the columns set (an executemany needs one shape per statement).
    for keys in {tuple(sorted(change)) for change in changes}:
        session.execute(update(Shipment), [c for c in changes if tuple(sorted(c)) == keys])
    return {event_id for _occurred_at, event_id, _status in placed.values()}
