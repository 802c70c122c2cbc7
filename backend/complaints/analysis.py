"""Analyse a confirmed complaint against the shipment's own record (DOMAIN.md, "Analyse" and "Negotiate").

Pure functions: a `ShipmentView`, the confirmed `ComplaintFacts`, the text's `TextSignals` and the
clock go in; the level, the responsibility, the priority with its SLA, the remedy ladder and whether to
escalate come out, with human-readable reasons an agent can check against the record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from backend.complaints.remedies import (
    BOT_GRANT_LIMIT,
    LOSS_ESCALATE_ABOVE,
    Remedy,
    build_ladder,
)
from backend.complaints.signals import TextSignals, describe_intensity, read_signals
from backend.complaints.sla import WORKING_WEEK, BusinessCalendar, sla_due
from backend.domain import CATEGORIES, ShipmentView
from backend.formatting import days_text, format_cny, format_kg, record_time_text
from backend.lateness import days_past_promise

SERIOUS_VALUE_ABOVE = Decimal("2000")
# Billed weight may exceed the declared weight by this fraction before the bill is in question (DOMAIN.md
# billing): the analysis and the bot's answers both read it from here.
WEIGHT_TOLERANCE = Decimal("0.10")
PHOTO_STATUSES = ("received", "later")
# Categories where the declared value is what the customer stands to lose ("large loss" in DOMAIN.md).
GOODS_AT_STAKE = ("damage", "loss", "wrong_delivery")

# Causes in the record that lie with the shipper or the recipient, not the carrier.


def priority_of(level: str, *, a_class: bool) -> str:
    """Priority table (DOMAIN.md): serious P1; general P2 for A-class customers, else P3; expectation P4."""
    if level == "serious":
        return "P1"
    if level == "expectation":
        return "P4"
    return "P2" if a_class else "P3"


# A request for a person with no complaint behind it is served like a general complaint of a customer
# who is not A-class: the same business day.
PERSON_REQUEST_PRIORITY = priority_of("general", a_class=False)

_CUSTOMER_CAUSES = tuple(
    re.compile(p, re.I)
    for p in (
        r"\bphone\b.*\b(wrong|incorrect|invalid|missing|unreachable)\b",
        r"\b(wrong|incorrect|invalid|missing)\b.*\bphone\b",
        r"\baddress\b.*\b(incomplete|wrong|incorrect|invalid)\b",
        r"\b(incomplete|wrong|incorrect|invalid)\b.*\baddress\b",
        r"commercial invoice|awaiting (the )?(shipper'?s )?invoice",
        r"missing (the )?invoice|invoice (is )?missing",
        r"(documents?|paperwork) (missing|not provided|from the shipper)",
        r"(refused|rejected) by (the )?(recipient|consignee)|(recipient|consignee) (refused|rejected)",
        r"(customer|shipper|sender|recipient)('s)? request",
    )
)
_THIRD_PARTY_CAUSES = tuple(
    re.compile(p, re.I)
    for p in (
        r"\bcustoms\b",
        r"\bairline\b|flight (cancel|delay)",
        r"\bpartner\b|subcontract|third[- ]party",
        r"port congestion",
        r"\bpolice\b|\bgovernment\b|\bauthorit",
    )
)


@dataclass(frozen=True)
class ComplaintFacts:
    """What the Confirm stage established with the customer."""

    category: str
    text: str
    declared_value: Decimal | None = None
    customer_wants: str | None = None
    photo_status: str | None = None
    previous_complaints_on_waybill: int = 0
    extent: str | None = None


@dataclass(frozen=True)
class Analysis:
    """The outcome of the Analyse stage and the ladder for the Negotiate stage."""

    level: str
    responsibility: str
    priority: str
    sla_due_at: datetime
    remedies: tuple[Remedy, ...]
    escalate_now: bool
    escalate_reason: str | None
    reasons: tuple[str, ...]
    # The category the analysis worked with: the record can show that a "delay" is really a loss.
    category: str | None = None

    @property
    def first_remedy(self) -> Remedy | None:
        """The first step of the ladder."""
        return self.remedies[0] if self.remedies else None


@dataclass(frozen=True)
class _Record:
    """Facts derived once from the shipment, the complaint and the clock."""

    shipment: ShipmentView | None
    facts: ComplaintFacts
    signals: TextSignals
    category: str
    now: datetime
    zone: ZoneInfo
    today: date
    days_late: int | None
    force_majeure: str | None
    declared_value: Decimal | None


def analyse(
    shipment: ShipmentView | None,
    facts: ComplaintFacts,
    *,
    now: datetime,
    signals: TextSignals | None = None,
    calendar: BusinessCalendar = WORKING_WEEK,
) -> Analysis:
    """Classify a confirmed complaint, find its cause in the record and lay out the remedies."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if facts.category not in CATEGORIES:
        raise ValueError(f"unknown category {facts.category!r}")
    if facts.photo_status not in (None, *PHOTO_STATUSES):
        raise ValueError(f"unknown photo status {facts.photo_status!r}")
    sig = signals if signals is not None else read_signals(facts.text)
    zone = calendar.tz
    rec = _record(shipment, facts, sig, now, zone)

    reasons: list[str] = []
    if rec.category != facts.category:
        reasons.append(_reclassified(rec, facts.category))
    reasons.extend(_findings(rec))
    responsibility, cause = _responsibility(rec)
    if cause:
        reasons.append(cause)

    serious = _serious_reasons(rec)
    expectation = [] if serious else _expectation_reasons(rec, responsibility)
    if serious:
        level = "serious"
        reasons.extend(serious)
    elif expectation:
        level = "expectation"
        reasons.extend(expectation)
    else:
        level = "general"

    a_class = shipment is not None and shipment.customer_class == "A"
    priority = priority_of(level, a_class=a_class)
    if a_class:
        reasons.append("A-class customer: handled first, follow-up call required")
    if facts.customer_wants:
        reasons.append(f"Customer wants: {facts.customer_wants.replace('_', ' ')}")
    elif sig.wants:
        reasons.append(f"Customer seems to want: {sig.wants.replace('_', ' ')}")
    if sig.anger and sig.anger < 3:
        reasons.append(f"Tone: {describe_intensity(sig.anger)}")

    remedies = build_ladder(
        category=rec.category,
        shipment=shipment,
        responsibility=responsibility,
        days_late=rec.days_late,
        force_majeure=rec.force_majeure,
        declared_value=rec.declared_value,
        photo_status=facts.photo_status,
        false_signature=_false_signature(rec),
        pickup_pending=_pickup_pending(rec),
        zone=zone,
    )
    escalate_now, escalate_reason = _escalation(rec, level, serious, remedies)
    due = sla_due(now, priority, calendar)
    return Analysis(
        level=level,
        responsibility=responsibility,
        priority=priority,
        sla_due_at=due,
        remedies=remedies,
        escalate_now=escalate_now,
        escalate_reason=escalate_reason,
        reasons=tuple(reasons),
        category=rec.category,
    )


def escalate_after_refusals(analysis: Analysis, refusals: int) -> bool:
    """Whether to hand over after the customer refused this many offers."""
    if analysis.escalate_now:
        return True
    if refusals <= 0:
        return False
    # Refused twice, or once when the ladder has no second step.
    if refusals >= max(1, min(2, len(analysis.remedies))):
        return True
    return not analysis.remedies[refusals].bot_may_grant


def next_remedy(analysis: Analysis, refusals: int) -> Remedy | None:
    """The offer to make after this many refusals, or None when a person must take over."""
    if escalate_after_refusals(analysis, refusals) and refusals > 0:
        return None
    if refusals >= len(analysis.remedies):
        return None
    return analysis.remedies[refusals]


# --------------------------------------------------------------------------------------------------
# The record
# --------------------------------------------------------------------------------------------------


def _record(
    shipment: ShipmentView | None, facts: ComplaintFacts, sig: TextSignals, now: datetime, zone: ZoneInfo
) -> _Record:
    """Derive lateness, force majeure and the declared value once."""
    today = now.astimezone(zone).date()
    days_late: int | None = None
    force_majeure: str | None = None
    declared: Decimal | None = facts.declared_value
    category = facts.category
    if shipment is not None:
        # Computed from the clock we were given so that the analysis agrees with `now`; signed, so that
        # "not due yet" is told apart from "due today". Without a promise, the view's figure is all we have.
        days_late = days_past_promise(
            shipment.status, shipment.promised_date, shipment.delivered_at, today=today, tz=zone
        )
        if days_late is None and shipment.days_late:
            days_late = shipment.days_late
        force_majeure = _force_majeure(shipment)
        # The value declared on the waybill is what the claim rests on; the customer's figure is a fallback.
        if shipment.declared_value is not None:
            declared = shipment.declared_value
        if category == "delay" and shipment.status == "missing":
            category = "loss"
        elif (
            category == "loss"
            and shipment.status == "delivered"
            and shipment.signer_is_recipient is False
            and (sig.not_received or sig.false_signature)
        ):
            category = "wrong_delivery"
    return _Record(shipment, facts, sig, category, now, zone, today, days_late, force_majeure, declared)


def _force_majeure(shipment: ShipmentView) -> str | None:
    """The force-majeure cause in the record, if any, in the record's own words."""
    for event in reversed(shipment.events):
        if event.force_majeure:
            return event.description
    if shipment.force_majeure:
        return shipment.delay_reason or shipment.exception_reason or "force majeure"
    return None


def _record_text(shipment: ShipmentView) -> str:
    """The free-text causes the record holds, newest event last."""
    parts = [shipment.delay_reason, shipment.exception_reason, *(e.description for e in shipment.events)]
    return " | ".join(p for p in parts if p)


def _reclassified(rec: _Record, said: str) -> str:
    """Why the analysis works with another category than the one confirmed."""
    return f"Reported as {said.replace('_', ' ')}, but the record shows {rec.category.replace('_', ' ')}"


def _findings(rec: _Record) -> list[str]:
    """What the record says about this complaint."""
    s = rec.shipment
    if s is None:
        return ["Shipment record not available"]
    out: list[str] = []
    cat = rec.category
    if cat in ("delay", "loss") and s.promised_date is not None and rec.days_late is not None:
        promised = s.promised_date.isoformat()
        if s.delivered_at is not None:
            when = record_time_text(s.delivered_at, rec.zone)
            late = f"{days_text(rec.days_late)} late" if rec.days_late > 0 else "on time"
            out.append(f"Promised {promised}; delivered {when} ({late})")
        elif rec.days_late > 0:
            out.append(f"Promised {promised}; {days_text(rec.days_late)} late")
        elif rec.days_late == 0:
            out.append(f"Promised {promised}; due today, not late yet")
        else:
            out.append(f"Promised {promised}; not due for another {days_text(-rec.days_late)}")
    if cat in ("delay", "loss") and s.last_event is not None and s.delivered_at is None:
        last = s.last_event
        idle = (rec.today - last.occurred_at.astimezone(rec.zone).date()).days
        since = f" ({days_text(idle)} without a scan)" if cat == "loss" and idle > 0 else ""
        scanned = record_time_text(last.occurred_at, rec.zone)
        out.append(f"Last scan: {last.location}, {scanned}: {last.description}{since}")
    if rec.force_majeure and cat == "delay":
        out.append(f"{_sentence(rec.force_majeure)} (force majeure)")
    elif cat == "delay" and s.delay_reason:
        out.append(f"Cause in the record: {s.delay_reason}")
    if cat == "delay" and s.exception_reason and s.exception_reason != s.delay_reason:
        out.append(f"Exception in the record: {s.exception_reason}")
    if cat == "missed_pickup" and s.pickup_due_at is not None:
        state = (
            "not collected" if s.status in ("pickup_missed", "pickup_booked") else s.status.replace("_", " ")
        )
        out.append(f"Pickup booked by {record_time_text(s.pickup_due_at, rec.zone)}; {state}")
    if cat in ("wrong_delivery", "loss", "damage") and s.delivered_at is not None:
        who = f', signed by "{s.signed_by}"' if s.signed_by else ""
        recipient = ""
        if s.signer_is_recipient is False:
            recipient = " (not the recipient)"
        elif s.signer_is_recipient:
            recipient = " (the recipient)"
        out.append(f"Delivered {record_time_text(s.delivered_at, rec.zone)}{who}{recipient}")
    if cat == "wrong_delivery" and s.courier_note:
        out.append(f"Courier's note: {s.courier_note}")
    if cat == "billing":
        out.extend(_billing_findings(s))
    if cat in GOODS_AT_STAKE and rec.declared_value is not None:
        goods = f" ({s.goods_description})" if s.goods_description else ""
        out.append(f"Declared value {format_cny(rec.declared_value)}{goods}")
    if cat == "damage":
        photo = {"received": "Photo of the damage received", "later": "Photo promised later"}
        out.append(photo.get(rec.facts.photo_status or "", "No photo of the damage yet"))
    if rec.facts.extent:
        out.append(f"Extent: {rec.facts.extent}")
    return out


def _sentence(text: str) -> str:
    """Capitalise the first letter of a record phrase."""
    return text[:1].upper() + text[1:]


def _weight_excess(s: ShipmentView) -> Decimal | None:
    """Charged weight over declared weight as a fraction (0.4 = 40% more), when both are known."""
    if s.charged_weight_kg is None or s.declared_weight_kg is None or s.declared_weight_kg <= 0:
        return None
    return (s.charged_weight_kg - s.declared_weight_kg) / s.declared_weight_kg


def _billing_findings(s: ShipmentView) -> list[str]:
    """Charged against declared weight and quoted against charged amount."""
    out: list[str] = []
    excess = _weight_excess(s)
    if excess is not None:
        pct = (excess * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
        sign = "+" if pct >= 0 else ""
        charged, declared = format_kg(s.charged_weight_kg), format_kg(s.declared_weight_kg)
        out.append(f"Charged {charged} against {declared} declared ({sign}{pct}%)")
    else:
        out.append("The record has no charged and declared weights to compare")
    if s.quoted_amount is not None and s.charged_amount is not None:
        out.append(f"Quoted {format_cny(s.quoted_amount)}, charged {format_cny(s.charged_amount)}")
    return out


# --------------------------------------------------------------------------------------------------
# Responsibility, level, escalation
# --------------------------------------------------------------------------------------------------


def _responsibility(rec: _Record) -> tuple[str, str | None]:
    """Who is responsible and, when the record says so, why."""
    s = rec.shipment
    cat = rec.category
    if cat == "staff_conduct":
        return "carrier", None
    if s is None or cat == "other":
        return "undetermined", None
    if cat == "delay":
        if rec.force_majeure:
            return "force_majeure", None
        text = _record_text(s)
        if any(p.search(text) for p in _CUSTOMER_CAUSES):
            return "customer", "The cause lies with the waybill details or documents, not with the transport"
        if any(p.search(text) for p in _THIRD_PARTY_CAUSES):
            return "third_party", "The hold lies with a third party"
        if rec.days_late is not None and rec.days_late > 0:
            return "carrier", None
        if s.status in ("held", "missing"):
            return "carrier", None
        return "undetermined", None
    if cat == "missed_pickup":
        return ("undetermined", None) if _pickup_pending(rec) else ("carrier", None)
    if cat in ("damage", "wrong_delivery"):
        return "carrier", None
    if cat == "loss":
        if s.status == "delivered" and s.signer_is_recipient:
            # Items short in a parcel the recipient signed for: the contents must be checked first.
            return "undetermined", None
        return "carrier", None
    if cat == "billing":
        excess = _weight_excess(s)
        if excess is not None and excess > WEIGHT_TOLERANCE:
            return "carrier", None
        return "undetermined", None
    return "undetermined", None


def _false_signature(rec: _Record) -> bool:
    """Signed by someone other than the recipient, and the customer says it never reached them."""
    s = rec.shipment
    if s is None or rec.category != "wrong_delivery" or (s.delivered_at is None and s.status != "delivered"):
        return False
    says_not_received = rec.signals.not_received or rec.signals.false_signature
    if s.signer_is_recipient is False and says_not_received:
        return True
    # An explicit allegation ("forged", "someone signed in my name") against a signed delivery.
    return rec.signals.false_signature and s.signed_by is not None


def _pickup_pending(rec: _Record) -> bool:
    """Whether the booked pickup window is still open."""
    s = rec.shipment
    return (
        s is not None
        and s.status == "pickup_booked"
        and s.pickup_due_at is not None
        and s.pickup_due_at > rec.now
    )


def _serious_reasons(rec: _Record) -> list[str]:
    """Every ground for a serious complaint (DOMAIN.md level table)."""
    out: list[str] = []
    sig = rec.signals
    value = rec.declared_value
    if rec.category in GOODS_AT_STAKE and value is not None and value > SERIOUS_VALUE_ABOVE:
        out.append(
            f"Large loss: declared value {format_cny(value)} is above {format_cny(SERIOUS_VALUE_ABOVE)}"
        )
    if sig.injury:
        out.append("Injury reported")
    if sig.safety:
        out.append("Safety hazard reported")
    if sig.legal_threat:
        out.append("Legal action or a report to the authorities mentioned")
    if _false_signature(rec):
        signer = rec.shipment.signed_by if rec.shipment and rec.shipment.signed_by else "someone"
        out.append(f'Possible false signature: signed by "{signer}", the customer says it never reached them')
    if rec.facts.previous_complaints_on_waybill >= 1:
        n = rec.facts.previous_complaints_on_waybill + 1
        out.append(f"Repeat complaint: complaint no. {n} on this waybill")
    if sig.anger >= 3:
        out.append("Strong, repeated anger (" + "; ".join(sig.anger_cues[:3]) + ")")
    return out


def _expectation_reasons(rec: _Record, responsibility: str) -> list[str]:
    """Grounds for an expectation complaint: beyond what was promised, or a misunderstanding."""
    s = rec.shipment
    if s is None:
        return []
    if rec.category == "delay":
        if rec.force_majeure:
            return ["Delay caused by force majeure"]
        if responsibility == "customer":
            return ["Delay caused by the waybill details or documents, not by the carrier"]
        if rec.days_late is not None and rec.days_late <= 0:
            if s.delivered_at is not None:
                return ["Delivered by the promised date"]
            return ["Not yet past the promised date"]
    if rec.category == "billing":
        excess = _weight_excess(s)
        if excess is not None and abs(excess) <= WEIGHT_TOLERANCE:
            return ["Charged weight matches the declared weight (within 10%)"]
    if rec.category == "missed_pickup" and _pickup_pending(rec) and s.pickup_due_at is not None:
        return [f"The pickup window is still open (until {record_time_text(s.pickup_due_at, rec.zone)})"]
    return []


def _escalation(
    rec: _Record, level: str, serious: list[str], remedies: tuple[Remedy, ...]
) -> tuple[bool, str | None]:
    """Whether a person must take over right after the acknowledgement, and why."""
    cat = rec.category
    if level == "serious":
        return True, f"Serious complaint: {serious[0]}"
    if cat == "staff_conduct":
        return True, "Staff conduct complaints always go to a supervisor ticket"
    if cat == "other":
        return True, "No standard remedy for this complaint: a person looks into it"
    if rec.shipment is None:
        return True, "Shipment record not available: a person looks into it"
    if cat == "billing" and _weight_excess(rec.shipment) is None:
        return True, "The record has no weights to re-check the bill against: a person re-checks it"
    value = rec.declared_value
    if cat == "loss" and value is not None and value > LOSS_ESCALATE_ABOVE:
        return True, f"Loss with declared value {format_cny(value)}, above {format_cny(LOSS_ESCALATE_ABOVE)}"
    first = remedies[0] if remedies else None
    if first is not None and not first.bot_may_grant:
        if first.amount is None:
            return True, "The amount of the remedy is not known: a person sets it"
        return (
            True,
            f"{format_cny(first.amount)} is above the {format_cny(BOT_GRANT_LIMIT)} the bot may grant",
        )
    return False, None
