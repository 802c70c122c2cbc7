"""Shared pieces of a handover to a person: the business calendar, who answers and by when."""

from __future__ import annotations

from datetime import datetime

from backend import i18n
from backend.complaints import wording
from backend.complaints.sla import BusinessCalendar
from backend.config import carrier_tz, get_settings
from backend.i18n import LocalTime, t


def business_calendar() -> BusinessCalendar:
    """The carrier's business calendar: hours, time zone, public holidays and make-up working days."""
    return BusinessCalendar.from_settings(get_settings())


def local_time_text(moment: datetime, lang: str = "en") -> str:
    return i18n.local_time_text(moment, carrier_tz().key, lang)


def who_answers_text(priority: str, now: datetime, *, due: datetime | None = None, lang: str = "en") -> str:
    """Who will answer and by when (the ticket's own deadline if it has one), honest about closed days."""
    calendar = business_calendar()
    due = due or calendar.sla_due(priority, now)
    assert due is not None
    by = LocalTime(due, carrier_tz().key)
    if priority == "P1":
        text = t(lang, "A senior colleague will reply here by {due} (China time) at the latest.", due=by)
    else:
        text = t(
            lang,
            "One of our customer-service colleagues will reply here by {due} (China time) at the latest.",
            due=by,
        )
    hours = wording.after_hours_text(calendar, now, lang)
    if hours is not None:
        text = i18n.sentences(lang, [text, hours])
    return text
