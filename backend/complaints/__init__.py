"""Complaint analysis: pure functions over a shipment view, the customer's text and the clock.

No database, no network: `read_signals` reads the text, `analyse` applies DOMAIN.md's level, priority,
responsibility and remedy tables, `sla_due` computes the service-level deadline on a
`BusinessCalendar`, and `wording` holds the customer-facing sentences.
"""

from backend.complaints.analysis import (
    Analysis,
    ComplaintFacts,
    analyse,
    escalate_after_refusals,
    next_remedy,
)
from backend.complaints.remedies import BOT_GRANT_LIMIT, Remedy
from backend.complaints.signals import TextSignals, describe_intensity, read_signals, warm_up
from backend.complaints.sla import BusinessCalendar, is_business_hours, next_opening, sla_due
from backend.complaints.wording import calm_message

__all__ = [
    "BOT_GRANT_LIMIT",
    "Analysis",
    "BusinessCalendar",
    "ComplaintFacts",
    "Remedy",
    "TextSignals",
    "analyse",
    "calm_message",
    "describe_intensity",
    "escalate_after_refusals",
    "is_business_hours",
    "next_opening",
    "next_remedy",
    "read_signals",
    "sla_due",
    "warm_up",
]
