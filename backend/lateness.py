"""How late a shipment is: the one rule the service, the bot's answers and the complaint analysis share.

A delivered shipment is judged by the local date of its delivery against the promised date; every other
status (in transit, held, customs_hold, missing, returned, a pickup still to happen) by today's local date,
because the shipment has not reached the recipient and the promise still stands.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo


def days_past_promise(
    status: str, promised: date | None, delivered_at: datetime | None, *, today: date, tz: ZoneInfo
) -> int | None:
    """Days after the promised date (negative: days before it, 0: due today), or None when unknown.

    Unknown means no promised date, or a delivered shipment without a delivery time on record.
    `today` is the carrier's local date; `delivered_at` is a UTC moment (naive values are read as UTC).
    Takes the fields rather than a record so that a Shipment row and a ShipmentView are judged alike.
    """
    if promised is None:
        return None
    if status == "delivered":
        delivered = delivered_at
        if delivered is None:
            return None
        if delivered.tzinfo is None:
            delivered = delivered.replace(tzinfo=timezone.utc)
        return (delivered.astimezone(tz).date() - promised).days
    return (today - promised).days


def days_late(
    status: str, promised: date | None, delivered_at: datetime | None, *, today: date, tz: ZoneInfo
) -> int:
    """Days past the promised date, never negative: 0 when on time, not yet due, or unknown."""
    past = days_past_promise(status, promised, delivered_at, today=today, tz=tz)
    return max(0, past or 0)
