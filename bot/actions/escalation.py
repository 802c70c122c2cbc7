"""Shared pieces of a handover to a person: who answers, by when, and the database mark."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from backend.complaints.sla import is_business_hours, next_opening, sla_due
from backend.config import carrier_tz, get_settings
from backend.services.conversations import mark_for_agent
from backend.services.tickets import BusinessCalendar


def business_hours_kwargs() -> dict[str, Any]:
    """The carrier's business hours, as backend.complaints.sla takes them."""
    return BusinessCalendar.from_settings(get_settings()).as_kwargs()


def local_time_text(moment: datetime) -> str:
    local = moment.astimezone(carrier_tz())
    return f"{local:%a} {local.day} {local:%b} at {local:%H:%M}"


def who_answers_text(priority: str, now: datetime, *, due: datetime | None = None) -> str:
    """Who will answer and by when (the ticket's own deadline when it has one), honest about evenings."""
    hours = business_hours_kwargs()
    due = due or sla_due(now, priority, **hours)
    team = "A senior colleague" if priority == "P1" else "One of our customer-service colleagues"
    text = f"{team} will reply here by {local_time_text(due)} (China time) at the latest."
    if not is_business_hours(now, **hours):
        opening = next_opening(now, **hours)
        text += (
            f" Our team works {hours['start_hour']}:00-{hours['end_hour']}:00 on working days, "
            f"so they will pick this up from {local_time_text(opening)}."
        )
    return text


def hand_over(session: Session, *, conversation_id: str, reason: str) -> None:
    """Marks the conversation for an agent: from now on the hub routes it to the console."""
    mark_for_agent(session, conversation_id=conversation_id, reason=reason)
