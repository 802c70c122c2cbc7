"""The carrier's data coming in: customers and shipments upserted by natural key, scans by event id."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from backend.models import Customer, Shipment
from backend.phones import normalise_phone

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
    session: Session, *, customer_id: str, name: str, customer_class: str, phone: str | None
) -> tuple[Customer, UpsertResult]:
    """Create or update the customer `customer_id`; a phone is stored in E.164 form."""
    normalised = None
    if phone is not None and phone.strip():
        normalised = normalise_phone(phone)
        if normalised is None:
            raise FieldError(("body", "phone"), "not a valid phone number", "phone_number", phone)
    values = {"name": name, "customer_class": customer_class, "phone": normalised}
    customer = session.get(Customer, customer_id)
    if customer is None:
        customer = Customer(id=customer_id, **values)
        session.add(customer)
        session.flush()
        log.info("integration: customer %s created", customer_id)
        return customer, "created"
    changed = _apply(customer, values)
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
