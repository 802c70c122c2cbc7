"""The console's words for the record's codes (statuses, categories, levels, priorities ...) in one place.

The database and the API keep codes (`waiting_customer`, `staff_conduct`, `P1`); an agent reads words in
their language (等待客户回复, 员工服务态度, 紧急). Every table here maps a code to its msgid (`N_`, so the
catalog test finds it and fails until it has Chinese); `label(TABLE, code, language)` says it, and a
template gets the same through `word(kind, code)`. A code the table does not know is shown as stored
rather than hidden, so a new value is visible (and its missing word noticed) instead of blank.

Statuses and states are lowercase words (they read inside a line: "T-… · complaint · resolved");
names of things (categories, levels, kinds) are capitalised.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from backend.i18n import N_, t

# Ticket statuses (backend.domain.TICKET_STATUSES).
TICKET_STATUSES: Mapping[str, str] = {
    "open": N_("open"),
    "escalated": N_("escalated"),
    "assigned": N_("assigned"),
    "waiting_customer": N_("waiting for the customer"),
    "resolved": N_("resolved"),
    "closed": N_("closed"),
}
# Complaint categories (backend.domain.CATEGORIES).
CATEGORIES: Mapping[str, str] = {
    "delay": N_("Late delivery"),
    "missed_pickup": N_("Missed pickup"),
    "damage": N_("Damaged goods"),
    "loss": N_("Lost or missing goods"),
    "wrong_delivery": N_("Wrong delivery"),
    "billing": N_("Billing"),
    "staff_conduct": N_("Staff conduct"),
    "other": N_("Other matter"),
}
# Complaint levels (backend.domain.LEVELS).
LEVELS: Mapping[str, str] = {
    "general": N_("General complaint"),
    "serious": N_("Serious complaint"),
    "expectation": N_("Expectation gap"),
}
# Priorities: the code stays on the badge (P1), the word says what it means.
PRIORITIES: Mapping[str, str] = {
    "P1": N_("urgent"),
    "P2": N_("high"),
    "P3": N_("normal"),
    "P4": N_("low"),
}
# Ticket kinds (backend.domain.TICKET_KINDS).
TICKET_KINDS: Mapping[str, str] = {
    "complaint": N_("Complaint"),
    "handoff": N_("Handover to an agent"),
    "service_request": N_("Service request"),
}
# Who is responsible (backend.domain.RESPONSIBILITIES).
RESPONSIBILITIES: Mapping[str, str] = {
    "carrier": N_("Our responsibility"),
    "customer": N_("The customer's responsibility"),
    "third_party": N_("A third party's responsibility"),
    "force_majeure": N_("Force majeure"),
    "undetermined": N_("Not yet determined"),
}
# Customer classes (backend.domain.CUSTOMER_CLASSES).
CUSTOMER_CLASSES: Mapping[str, str] = {
    "A": N_("Class A customer"),
    "B": N_("Class B customer"),
    "C": N_("Class C customer"),
}
# Who speaks in a conversation (backend.domain.CONVERSATION_STATES); "agent" is said with the owner's
# name where there is one ("with {agent}", see CONVERSATION_WITH_AGENT).
CONVERSATION_STATES: Mapping[str, str] = {
    "bot": N_("with the bot"),
    "queued": N_("waiting for an agent"),
    "agent": N_("with an agent"),
}
CONVERSATION_WITH_AGENT = N_("with {agent}")
# Compensation requests (backend.models.COMPENSATION_REQUEST_STATUSES).
APPROVAL_STATUSES: Mapping[str, str] = {
    "pending": N_("waiting for approval"),
    "approved": N_("approved"),
    "rejected": N_("rejected"),
    "withdrawn": N_("withdrawn"),
}
# Service-level standing of an open ticket (backend.services.console.sla_state).
SLA_STATES: Mapping[str, str] = {
    "breached": N_("SLA breached"),
    "near": N_("SLA due soon"),
    "ok": N_("within SLA"),
}
# Shipment statuses (backend.domain.SHIPMENT_STATUSES).
SHIPMENT_STATUSES: Mapping[str, str] = {
    "pickup_booked": N_("pickup booked"),
    "pickup_missed": N_("pickup missed"),
    "in_transit": N_("in transit"),
    "held": N_("held"),
    "out_for_delivery": N_("out for delivery"),
    "delivered": N_("delivered"),
    "customs_hold": N_("held at customs"),
    "returned": N_("returned to sender"),
    "missing": N_("missing"),
}
# The complaint script's stages (backend.models.COMPLAINT_STAGES).
COMPLAINT_STAGES: Mapping[str, str] = {
    "calm": N_("Reassure"),
    "confirm": N_("Confirm the facts"),
    "analyse": N_("Analyse"),
    "negotiate": N_("Agree a remedy"),
}
# The complaint's photo (backend.models.PHOTO_STATUSES).
PHOTO_STATUSES: Mapping[str, str] = {
    "received": N_("photo received"),
    "later": N_("photo to follow"),
    "not_needed": N_("no photo needed"),
}
# Who wrote a message (backend.models.MESSAGE_SENDERS).
SENDERS: Mapping[str, str] = {
    "shipper": N_("Customer"),
    "bot": N_("Bot"),
    "agent": N_("Agent"),
    "system": N_("System"),
}
# Console roles (backend.models.AGENT_ROLES).
ROLES: Mapping[str, str] = {
    "agent": N_("agent"),
    "supervisor": N_("supervisor"),
}
# A conversation's language, as a badge in the reader's language (the switch in the header names each
# language in itself instead: 中文 / English).
LANGUAGES: Mapping[str, str] = {
    "zh": N_("Chinese"),
    "en": N_("English"),
}
# The channel a conversation came in on (backend.channels): channel names are words too (电报, 网页).
CHANNELS: Mapping[str, str] = {
    "telegram": N_("Telegram"),
    "web": N_("Web chat"),
    "cli": N_("Practice chat"),
}
LANGUAGE_OWN_NAMES: Mapping[str, str] = {"zh": "中文", "en": "English"}

# Why a conversation waits for a person. The hub, the bot and the complaint analysis store this as an
# English sentence (conversation.handoff_reason); the console reads the sentences it knows into the
# reader's language, values and all. An unknown one is shown as stored.
HANDOFF_REASONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), msgid)
    for pattern, msgid in (
        (r"(?:the )?customer asked for a person", N_("The customer asked for a person")),
        (r"serious complaint", N_("Serious complaint")),
        (r"serious complaint: .*", N_("Serious complaint")),
        (r"customer refused (?P<count>\d+) offer\(s\)", N_("The customer turned down {count} offer(s)")),
        (
            r"no clear answer to the offer after (?P<count>\d+) tries",
            N_("No clear answer to the offer after {count} tries"),
        ),
        (
            r"no clear answer to the summary after (?P<count>\d+) tries",
            N_("No clear answer to the summary after {count} tries"),
        ),
        (r"staff conduct complaints always go to .*", N_("Staff conduct: always for a supervisor")),
        (r"no standard remedy for this complaint.*", N_("No standard remedy: a person looks into it")),
        (r"shipment record not available.*", N_("No shipment record: a person looks into it")),
        (r"the record has no weights.*", N_("No weights on record to re-check the bill")),
        (r"loss with declared value .*", N_("Loss above the declared-value limit")),
        (r"the amount of the remedy is not known.*", N_("The remedy's amount is unknown: a person sets it")),
        (r".* is above the .* the bot may grant", N_("Compensation above what the bot may grant")),
    )
)


def handoff_reason(reason: str | None, language: str | None) -> str:
    """Why the conversation waits for a person, in the reader's language when the sentence is known."""
    text = " ".join((reason or "").split()).rstrip(".")
    for pattern, msgid in HANDOFF_REASONS:
        found = pattern.fullmatch(text)
        if found:
            return t(language, msgid, **found.groupdict())
    return reason or ""


# The tables by the name templates use: {{ word("status", t.status) }}.
KINDS: Mapping[str, Mapping[str, str]] = {
    "status": TICKET_STATUSES,
    "category": CATEGORIES,
    "level": LEVELS,
    "priority": PRIORITIES,
    "kind": TICKET_KINDS,
    "responsibility": RESPONSIBILITIES,
    "customer_class": CUSTOMER_CLASSES,
    "conversation_state": CONVERSATION_STATES,
    "approval_status": APPROVAL_STATUSES,
    "sla": SLA_STATES,
    "shipment_status": SHIPMENT_STATUSES,
    "stage": COMPLAINT_STAGES,
    "photo": PHOTO_STATUSES,
    "sender": SENDERS,
    "role": ROLES,
    "language": LANGUAGES,
    "channel": CHANNELS,
}


def label(table: Mapping[str, str], code: str | None, language: str | None) -> str:
    """The code's word in the language; "" for no code, the code itself when the table lacks it."""
    if not code:
        return ""
    msgid = table.get(code)
    return t(language, msgid) if msgid else code


def labeller(language: str) -> Any:
    """`word(kind, code)` for templates: a code of one of KINDS in the reader's language."""

    def word(kind: str, code: str | None) -> str:
        return label(KINDS[kind], code, language)

    return word


def choices(table: Mapping[str, str], language: str | None) -> list[tuple[str, str]]:
    """(code, word) pairs in the table's order, for a <select> or a filter's options."""
    return [(code, t(language, msgid)) for code, msgid in table.items()]
