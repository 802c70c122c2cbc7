"""Who may list whose shipments by phone: the one place that decides phone look-ups for the bot and the hub.

A phone number alone proves nothing (anyone can type one). A conversation is the account holder's once
it shows its own contact (Telegram's shared contact), or, outside Telegram, the phone together with a
waybill of the same account. The answer is the same whether or not a number is ours, so nobody learns
whose number it is.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.orm import Session

from backend.domain import ShipmentView
from backend.phones import mask_phone, normalise_phone
from backend.services.conversations import parse_conversation_id, verified_customer_id, verify_customer
from backend.services.shipments import find_customer_by_phone, find_shipments_by_phone, get_shipment

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PhoneLookup:
    """The shipments a conversation may see for a phone number: none unless it has proved the account."""

    proven: bool
    shipments: list[ShipmentView] = field(default_factory=list)


def verify_by_own_contact(session: Session, *, conversation_id: str, phone: str) -> str | None:
    """The shipper shared their own contact: the conversation is that customer's (id), if we know them."""
    normalised = normalise_phone(phone)
    customer = find_customer_by_phone(session, normalised) if normalised else None
    if customer is None:
        return None
    verify_customer(session, conversation_id=conversation_id, customer_id=customer.id)
    logger.info("%s verified as %s by their own contact %s", conversation_id, customer.id, mask_phone(phone))
    return customer.id


def shipments_by_phone(
    session: Session,
    *,
    conversation_id: str,
    phone: str,
    known_waybill: str | None = None,
    today: date | None = None,
) -> PhoneLookup:
    """The account's recent shipments, if this conversation has proved it holds the account of `phone`.

    Outside Telegram a waybill of the same account, given earlier in the conversation, proves it too;
    on Telegram only the shipper's own shared contact does.
    """
    customer = find_customer_by_phone(session, phone)
    if customer is None:
        return PhoneLookup(proven=False)
    proven = verified_customer_id(session, conversation_id) == customer.id
    if not proven and known_waybill and parse_conversation_id(conversation_id)[0] != "telegram":
        view = get_shipment(session, known_waybill)
        if view is not None and view.customer_id == customer.id:
            verify_customer(session, conversation_id=conversation_id, customer_id=customer.id)
            proven = True
    if not proven:
        return PhoneLookup(proven=False)
    return PhoneLookup(proven=True, shipments=find_shipments_by_phone(session, phone, today=today))


def prove_with_shipment(
    session: Session, *, conversation_id: str, phone: str, customer_id: str, today: date | None = None
) -> PhoneLookup:
    """The waybill asked for to prove a phone number: the account's shipments if both are one customer's."""
    customer = find_customer_by_phone(session, phone)
    if customer is None or customer.id != customer_id:
        return PhoneLookup(proven=False)
    verify_customer(session, conversation_id=conversation_id, customer_id=customer.id)
    return PhoneLookup(proven=True, shipments=find_shipments_by_phone(session, phone, today=today))
