"""Vocabulary and read-only views shared by the backend, the actions and the analysis.

The values are the ones ARCHITECTURE.md fixes; other tools compare against them as written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

CATEGORIES = (
    "delay",
    "missed_pickup",
    "damage",
    "loss",
    "wrong_delivery",
    "billing",
    "staff_conduct",
    "other",
)
LEVELS = ("general", "serious", "expectation")
PRIORITIES = ("P1", "P2", "P3", "P4")
TICKET_STATUSES = ("open", "escalated", "assigned", "waiting_customer", "resolved", "closed")
# The statuses of a ticket someone still has to finish (not resolved, not closed).
# Channels whose conversations are practice, never a shipper's (`make chat` talks to Rasa as `cli:<uuid>`):
# the agents' queue and the monthly report leave them out.
PRACTICE_CHANNELS = ("cli",)
OPEN_TICKET_STATUSES = ("open", "escalated", "assigned", "waiting_customer")
TICKET_KINDS = ("complaint", "handoff", "service_request")
RESPONSIBILITIES = ("carrier", "customer", "third_party", "force_majeure", "undetermined")
CUSTOMER_CLASSES = ("A", "B", "C")
# Who is speaking in a conversation: the bot, nobody yet (waiting for an agent), or an agent.
CONVERSATION_STATES = ("bot", "queued", "agent")
# What the bot reads when a shipper's message is only a photo (the damage form checks the attachment
# itself): the hub sends these words and the actions recognise them.
PHOTO_FOR_BOT = "I have sent a photo"

# Shipment statuses as the carrier's system records them.
SHIPMENT_STATUSES = (
    "pickup_booked",
    "pickup_missed",
    "in_transit",
    "held",
    "out_for_delivery",
    "delivered",
    "customs_hold",
    "returned",
    "missing",
)


@dataclass(frozen=True)
class EventView:
    """One tracking scan, times in UTC (timezone-aware)."""

    occurred_at: datetime
    location: str
    code: str
    description: str
    force_majeure: bool = False


@dataclass(frozen=True)
class ShipmentView:
    """Everything the bot and the analysis may know about one shipment."""

    waybill: str
    customer_id: str
    customer_name: str
    customer_class: str
    origin: str
    destination: str
    status: str
    promised_date: date | None
    events: tuple[EventView, ...] = field(default_factory=tuple)
    delivered_at: datetime | None = None
    signed_by: str | None = None
    signer_is_recipient: bool | None = None
    delay_reason: str | None = None
    exception_reason: str | None = None
    force_majeure: bool = False
    declared_value: Decimal | None = None
    declared_weight_kg: Decimal | None = None
    charged_weight_kg: Decimal | None = None
    quoted_amount: Decimal | None = None
    charged_amount: Decimal | None = None
    freight_amount: Decimal | None = None
    goods_description: str | None = None
    pickup_due_at: datetime | None = None
    courier_note: str | None = None
    # Derived by the service from the record and "today" in the carrier's time zone.
    days_late: int = 0

    @property
    def last_event(self) -> EventView | None:
        return self.events[-1] if self.events else None

    @property
    def is_late(self) -> bool:
        return self.days_late > 0
