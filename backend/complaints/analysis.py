"""Analyse a confirmed complaint against the shipment's own record (DOMAIN.md, "Analyse" and "Negotiate").

Pure functions: a `ShipmentView`, the confirmed `ComplaintFacts`, the text's `TextSignals` and the
clock go in; the level, the responsibility, the priority with its SLA, the remedy ladder and whether to
escalate come out, with reasons an agent can check against the record. Each reason is a `Phrase` (a
catalog msgid with typed values), so it is stored as facts (backend.complaints.findings) and read in the
reader's language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from backend.complaints.findings import CATEGORY_WORDS, INTENSITY_WORDS, WANTS_WORDS, Listing, Quoted
from backend.complaints.record import WHOLE_SHIPMENT
from backend.complaints.remedies import (
    BOT_GRANT_LIMIT,
    LOSS_ESCALATE_ABOVE,
    Remedy,
    build_ladder,
)
from backend.complaints.signals import TextSignals, read_signals
from backend.complaints.sla import WORKING_WEEK, BusinessCalendar, sla_due
from backend.domain import CATEGORIES, ShipmentView
from backend.i18n import N_, DayAndTime, Days, FullDate, Money, Phrase, Weight, phrase
from backend.lateness import days_past_promise
from backend.record_words import Place, Scan, Signer, Stored

SERIOUS_VALUE_ABOVE = Decimal("2000")
# Billed weight may exceed the declared weight by this fraction before the bill is in question (DOMAIN.md
# billing): the analysis and the bot's answers both read it from here.
WEIGHT_TOLERANCE = Decimal("0.10")
PHOTO_STATUSES = ("received", "later")
# Categories where the declared value is what the customer stands to lose ("large loss" in DOMAIN.md).
GOODS_AT_STAKE = ("damage", "loss", "wrong_delivery")
_PHOTO_FINDINGS = {"received": N_("Photo of the damage received"), "later": N_("Photo promised later")}
_NO_PHOTO = N_("No photo of the damage yet")

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
    escalate_reason: Phrase | None
    reasons: tuple[Phrase, ...]
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

    reasons: list[Phrase] = []
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
        reasons.append(phrase("A-class customer: handled first, follow-up call required"))
    if facts.customer_wants:
        reasons.append(phrase("Customer wants: {wants}", wants=_wish(facts.customer_wants)))
    elif sig.wants:
        reasons.append(phrase("Customer seems to want: {wants}", wants=_wish(sig.wants)))
    if sig.anger and sig.anger < 3:
        reasons.append(phrase("Tone: {tone}", tone=phrase(INTENSITY_WORDS[min(3, sig.anger)])))

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


def _reclassified(rec: _Record, said: str) -> Phrase:
    """Why the analysis works with another category than the one confirmed."""
    return phrase(
        "Reported as {said}, but the record shows {found}",
        said=_category(said),
        found=_category(rec.category),
    )


def _category(code: str) -> Phrase | str:
    return phrase(CATEGORY_WORDS[code]) if code in CATEGORY_WORDS else code


def _wish(code: str) -> Phrase | Quoted:
    """What the shipper wants, in words; a wish outside the table is kept as they gave it."""
    return phrase(WANTS_WORDS[code]) if code in WANTS_WORDS else Quoted(code.replace("_", " "))


def _findings(rec: _Record) -> list[Phrase]:
    """What the record says about this complaint."""
    s = rec.shipment
    if s is None:
        return [phrase("Shipment record not available")]
    out: list[Phrase] = []
    cat = rec.category
    if cat in ("delay", "loss") and s.promised_date is not None and rec.days_late is not None:
        promised = FullDate(s.promised_date)
        if s.delivered_at is not None:
            when = DayAndTime(s.delivered_at, rec.zone)
            if rec.days_late > 0:
                out.append(
                    phrase(
                        "Promised {promised}; delivered {delivered} ({days} late)",
                        promised=promised,
                        delivered=when,
                        days=Days(rec.days_late),
                    )
                )
            else:
                out.append(
                    phrase(
                        "Promised {promised}; delivered {delivered} (on time)",
                        promised=promised,
                        delivered=when,
                    )
                )
        elif rec.days_late > 0:
            out.append(
                phrase("Promised {promised}; {days} late", promised=promised, days=Days(rec.days_late))
            )
        elif rec.days_late == 0:
            out.append(phrase("Promised {promised}; due today, not late yet", promised=promised))
        else:
            out.append(
                phrase(
                    "Promised {promised}; not due for another {days}",
                    promised=promised,
                    days=Days(-rec.days_late),
                )
            )
    if cat in ("delay", "loss") and s.last_event is not None and s.delivered_at is None:
        last = s.last_event
        idle = (rec.today - last.occurred_at.astimezone(rec.zone).date()).days
        scan = {
            "place": Place(last.location),
            "when": DayAndTime(last.occurred_at, rec.zone),
            "scan": Scan(last),
        }
        if cat == "loss" and idle > 0:
            out.append(
                phrase("Last scan: {place}, {when}: {scan} ({days} without a scan)", days=Days(idle), **scan)
            )
        else:
            out.append(phrase("Last scan: {place}, {when}: {scan}", **scan))
    if rec.force_majeure and cat == "delay":
        out.append(phrase("{cause} (force majeure)", cause=Stored(_sentence(rec.force_majeure))))
    elif cat == "delay" and s.delay_reason:
        out.append(phrase("Cause in the record: {cause}", cause=Stored(s.delay_reason)))
    if cat == "delay" and s.exception_reason and s.exception_reason != s.delay_reason:
        out.append(phrase("Exception in the record: {cause}", cause=Stored(s.exception_reason)))
    if cat == "missed_pickup" and s.pickup_due_at is not None:
        due = DayAndTime(s.pickup_due_at, rec.zone)
        if s.status in ("pickup_missed", "pickup_booked"):
            out.append(phrase("Pickup booked by {due}; not collected", due=due))
        else:
            out.append(phrase("Pickup booked by {due}; collected", due=due))
    if cat in ("wrong_delivery", "loss", "damage") and s.delivered_at is not None:
        out.append(_delivered(s, rec.zone))
    if cat == "wrong_delivery" and s.courier_note:
        out.append(phrase("Courier's note: {note}", note=Stored(s.courier_note)))
    if cat == "billing":
        out.extend(_billing_findings(s))
    if cat in GOODS_AT_STAKE and rec.declared_value is not None:
        value = Money(rec.declared_value)
        if s.goods_description:
            out.append(
                phrase("Declared value {value} ({goods})", value=value, goods=Stored(s.goods_description))
            )
        else:
            out.append(phrase("Declared value {value}", value=value))
        said = rec.facts.declared_value
        if said is not None and said != rec.declared_value:
            # The shipper's own figure is kept beside the record's: the claim rests on the declared
            # value, and the agent sees the disagreement before talking to them.
            out.append(phrase("The customer values the goods at {value}", value=Money(said)))
    if cat == "damage":
        out.append(phrase(_PHOTO_FINDINGS.get(rec.facts.photo_status or "", _NO_PHOTO)))
    if rec.facts.extent:
        extent = rec.facts.extent
        out.append(
            phrase("Extent: {extent}", extent=phrase(extent) if extent == WHOLE_SHIPMENT else Quoted(extent))
        )
    return out


def _delivered(s: ShipmentView, zone: ZoneInfo) -> Phrase:
    """When the record says it was delivered, and who signed."""
    when = DayAndTime(s.delivered_at, zone) if s.delivered_at else None
    if not s.signed_by:
        return phrase("Delivered {when}", when=when)
    signer = Signer(s.signed_by)
    if s.signer_is_recipient is False:
        return phrase('Delivered {when}, signed by "{signer}" (not the recipient)', when=when, signer=signer)
    if s.signer_is_recipient:
        return phrase('Delivered {when}, signed by "{signer}" (the recipient)', when=when, signer=signer)
    return phrase('Delivered {when}, signed by "{signer}"', when=when, signer=signer)


def _sentence(text: str) -> str:
    """Capitalise the first letter of a record phrase."""
    return text[:1].upper() + text[1:]


def _weight_excess(s: ShipmentView) -> Decimal | None:
    """Charged weight over declared weight as a fraction (0.4 = 40% more), when both are known."""
    if s.charged_weight_kg is None or s.declared_weight_kg is None or s.declared_weight_kg <= 0:
        return None
    return (s.charged_weight_kg - s.declared_weight_kg) / s.declared_weight_kg


def _billing_findings(s: ShipmentView) -> list[Phrase]:
    """Charged against declared weight and quoted against charged amount."""
    out: list[Phrase] = []
    excess = _weight_excess(s)
    if excess is not None:
        pct = (excess * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
        sign = "+" if pct >= 0 else ""
        out.append(
            phrase(
                "Charged {charged} against {declared} declared ({percent}%)",
                charged=Weight(s.charged_weight_kg),
                declared=Weight(s.declared_weight_kg),
                percent=f"{sign}{pct}",
            )
        )
    else:
        out.append(phrase("The record has no charged and declared weights to compare"))
    if s.quoted_amount is not None and s.charged_amount is not None:
        out.append(
            phrase(
                "Quoted {quoted}, charged {charged}",
                quoted=Money(s.quoted_amount),
                charged=Money(s.charged_amount),
            )
        )
    return out


# --------------------------------------------------------------------------------------------------
# Responsibility, level, escalation
# --------------------------------------------------------------------------------------------------


def _responsibility(rec: _Record) -> tuple[str, Phrase | None]:
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
            return "customer", phrase(
                "The cause lies with the waybill details or documents, not with the transport"
            )
        if any(p.search(text) for p in _THIRD_PARTY_CAUSES):
            return "third_party", phrase("The hold lies with a third party")
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


def _serious_reasons(rec: _Record) -> list[Phrase]:
    """Every ground for a serious complaint (DOMAIN.md level table)."""
    out: list[Phrase] = []
    sig = rec.signals
    value = rec.declared_value
    if rec.category in GOODS_AT_STAKE and value is not None and value > SERIOUS_VALUE_ABOVE:
        out.append(
            phrase(
                "Large loss: declared value {value} is above {limit}",
                value=Money(value),
                limit=Money(SERIOUS_VALUE_ABOVE),
            )
        )
    if sig.injury:
        out.append(phrase("Injury reported"))
    if sig.safety:
        out.append(phrase("Safety hazard reported"))
    if sig.legal_threat:
        out.append(phrase("Legal action or a report to the authorities mentioned"))
    if _false_signature(rec):
        signed_by = rec.shipment.signed_by if rec.shipment else None
        out.append(
            phrase(
                'Possible false signature: signed by "{signer}", the customer says it never reached them',
                signer=Signer(signed_by) if signed_by else phrase("someone"),
            )
        )
    if rec.facts.previous_complaints_on_waybill >= 1:
        n = rec.facts.previous_complaints_on_waybill + 1
        out.append(phrase("Repeat complaint: complaint no. {n} on this waybill", n=n))
    if sig.anger >= 3:
        out.append(phrase("Strong, repeated anger ({cues})", cues=Listing(tuple(sig.anger_cues[:3]))))
    return out


def _expectation_reasons(rec: _Record, responsibility: str) -> list[Phrase]:
    """Grounds for an expectation complaint: beyond what was promised, or a misunderstanding."""
    s = rec.shipment
    if s is None:
        return []
    if rec.category == "delay":
        if rec.force_majeure:
            return [phrase("Delay caused by force majeure")]
        if responsibility == "customer":
            return [phrase("Delay caused by the waybill details or documents, not by the carrier")]
        if rec.days_late is not None and rec.days_late <= 0:
            if s.delivered_at is not None:
                return [phrase("Delivered by the promised date")]
            return [phrase("Not yet past the promised date")]
    if rec.category == "billing":
        excess = _weight_excess(s)
        if excess is not None and abs(excess) <= WEIGHT_TOLERANCE:
            return [phrase("Charged weight matches the declared weight (within 10%)")]
    if rec.category == "missed_pickup" and _pickup_pending(rec) and s.pickup_due_at is not None:
        return [
            phrase("The pickup window is still open (until {due})", due=DayAndTime(s.pickup_due_at, rec.zone))
        ]
    return []


def _escalation(
    rec: _Record, level: str, serious: list[Phrase], remedies: tuple[Remedy, ...]
) -> tuple[bool, Phrase | None]:
    """Whether a person must take over right after the acknowledgement, and why."""
    cat = rec.category
    if level == "serious":
        return True, phrase("Serious complaint: {reason}", reason=serious[0])
    if cat == "staff_conduct":
        return True, phrase("Staff conduct complaints always go to a supervisor ticket")
    if cat == "other":
        return True, phrase("No standard remedy for this complaint: a person looks into it")
    if rec.shipment is None:
        return True, phrase("Shipment record not available: a person looks into it")
    if cat == "billing" and _weight_excess(rec.shipment) is None:
        return True, phrase("The record has no weights to re-check the bill against: a person re-checks it")
    value = rec.declared_value
    if cat == "loss" and value is not None and value > LOSS_ESCALATE_ABOVE:
        return True, phrase(
            "Loss with declared value {value}, above {limit}",
            value=Money(value),
            limit=Money(LOSS_ESCALATE_ABOVE),
        )
    first = remedies[0] if remedies else None
    if first is not None and not first.bot_may_grant:
        if first.amount is None:
            return True, phrase("The amount of the remedy is not known: a person sets it")
        return True, phrase(
            "{amount} is above the {limit} the bot may grant",
            amount=Money(first.amount),
            limit=Money(BOT_GRANT_LIMIT),
        )
    return False, None
