"""Plain-words answers about one shipment, built from its record (pure: no I/O, no Rasa)."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from backend.complaints.analysis import WEIGHT_TOLERANCE
from backend.domain import ShipmentView
from backend.i18n import N_, Day, Days, Moment, Money, Weight, sentences, t
from backend.record_words import Place, Scan, Signer, Stored
from backend.waybill import WaybillCheck

# Shipments in these states are where a customer is likely to want to complain: the bot offers.
PROBLEM_STATUSES = frozenset({"held", "missing", "returned", "pickup_missed", "customs_hold"})


def has_problem(view: ShipmentView) -> bool:
    """Late, lost, returned, held, signed by someone else, or billed above the declared weight."""
    return (
        view.is_late
        or view.status in PROBLEM_STATUSES
        or view.signer_is_recipient is False
        or overbilled(view)
    )


def overbilled(view: ShipmentView) -> bool:
    declared, charged = view.declared_weight_kg, view.charged_weight_kg
    return bool(declared and charged and charged > declared * (1 + WEIGHT_TOLERANCE))


def billing_text(view: ShipmentView, language: str = "en") -> str:
    """The billed weight against the declared one, when they differ noticeably."""
    if not overbilled(view):
        return ""
    charged, declared = Weight(view.charged_weight_kg), Weight(view.declared_weight_kg)
    if view.charged_amount is None:
        return t(
            language,
            "It was billed for {charged} against {declared} declared.",
            charged=charged,
            declared=declared,
        )
    if view.quoted_amount is None:
        return t(
            language,
            "It was billed for {charged} against {declared} declared: {amount}.",
            charged=charged,
            declared=declared,
            amount=Money(view.charged_amount),
        )
    return t(
        language,
        "It was billed for {charged} against {declared} declared: {amount} (quoted {quoted}).",
        charged=charged,
        declared=declared,
        amount=Money(view.charged_amount),
        quoted=Money(view.quoted_amount),
    )


def _head(view: ShipmentView, language: str) -> str:
    if view.status in {"pickup_booked", "pickup_missed"}:
        return t(language, "{waybill} (pickup at {origin}):", waybill=view.waybill, origin=Place(view.origin))
    return t(
        language,
        "{waybill} ({origin} → {destination}):",
        waybill=view.waybill,
        origin=Place(view.origin),
        destination=Place(view.destination),
    )


def promise_text(view: ShipmentView, today: date, language: str = "en") -> str:
    """The promised date and whether the shipment keeps it."""
    if view.promised_date is None:
        return ""
    promised, late = Day(view.promised_date, today), Days(view.days_late)
    if view.status == "delivered":
        if view.is_late:
            return t(
                language,
                "It was promised for {promised} and arrived {late} late.",
                promised=promised,
                late=late,
            )
        return t(language, "It was promised for {promised} and arrived on time.", promised=promised)
    if view.is_late:
        return t(
            language, "It was promised for {promised}, so it is {late} late.", promised=promised, late=late
        )
    if view.promised_date == today:
        return t(language, "It is due today and on schedule.")
    return t(language, "It is promised for {promised} and is on schedule.", promised=promised)


def status_text(view: ShipmentView, tz: ZoneInfo, today: date, language: str = "en") -> str:
    """Where the shipment is and what state it is in, in one or two sentences."""
    last = view.last_event
    where = (
        t(
            language,
            "{description} ({location}, {when})",
            description=Scan(last),
            location=Place(last.location),
            when=Moment(last.occurred_at, tz, today),
        )
        if last
        else ""
    )
    status = view.status
    if status == "delivered" and view.delivered_at:
        signed = signed_text(view, tz, today, with_time=False, language=language)
        delivered = Moment(view.delivered_at, tz, today)
        return t(language, "It was delivered {delivered}. {signed}", delivered=delivered, signed=signed)
    if status == "out_for_delivery":
        return t(
            language,
            "It is out for delivery in {destination} today. Last scan: {where}.",
            destination=Place(view.destination),
            where=where,
        )
    if status == "in_transit":
        return t(
            language,
            "It is on its way to {destination}. Last scan: {where}.",
            destination=Place(view.destination),
            where=where,
        )
    if status == "held":
        return t(language, "It is held. Last scan: {where}.", where=where)
    if status == "missing":
        since = where or t(language, "it left {origin}", origin=Place(view.origin))
        return t(
            language,
            "I'm sorry: we have had no scan of it since {since}. "
            "It is missing in our network and a trace has been started.",
            since=since,
        )
    if status == "customs_hold":
        reason = Stored(view.exception_reason) if view.exception_reason else t(language, "customs clearance")
        return t(language, "It is held by customs: {reason}. Last scan: {where}.", reason=reason, where=where)
    if status == "returned":
        reason = (
            Stored(view.exception_reason)
            if view.exception_reason
            else t(language, "it could not be delivered")
        )
        return t(
            language,
            "It is being returned to the sender: {reason}. Last scan: {where}.",
            reason=reason,
            where=where,
        )
    if status == "pickup_missed":
        if view.pickup_due_at:
            return t(
                language,
                "I'm sorry: the pickup booked for {due} was missed, and nobody has collected it yet.",
                due=Moment(view.pickup_due_at, tz, today),
            )
        return t(language, "I'm sorry: the pickup booked was missed, and nobody has collected it yet.")
    if status == "pickup_booked":
        if view.pickup_due_at:
            return t(
                language,
                "A pickup is booked for {due}; the courier has not collected it yet.",
                due=Moment(view.pickup_due_at, tz, today),
            )
        return t(language, "A pickup is booked; the courier has not collected it yet.")
    return t(
        language,
        "Its status is {status}. Last scan: {where}.",
        status=t(language, STATUS_NAMES.get(status, status.replace("_", " "))),
        where=where,
    )


# Status names for the catch-all sentence ("Its status is in transit").
STATUS_NAMES = {
    "booked": N_("booked"),
    "picked_up": N_("picked up"),
    "in_transit": N_("in transit"),
    "delivered": N_("delivered"),
}


def signed_text(
    view: ShipmentView, tz: ZoneInfo, today: date, *, with_time: bool = True, language: str = "en"
) -> str:
    """Who signed for a delivered shipment, and a word of caution if it was not the recipient."""
    if view.status != "delivered":
        return t(language, "It has not been delivered yet, so nobody has signed for it.")
    timed = bool(view.delivered_at and with_time)
    when = Moment(view.delivered_at, tz, today) if view.delivered_at else ""
    if not view.signed_by:
        if timed:
            return t(language, "It was delivered {when}, but no signature is on record.", when=when)
        return t(language, "It was delivered, but no signature is on record.")
    if view.signer_is_recipient is False:
        if timed:
            return t(
                language,
                'It was signed for by "{signer}" {when}, not by the recipient in person. '
                "If the recipient has not received it, please tell me and I'll look into it.",
                signer=Signer(view.signed_by),
                when=when,
            )
        return t(
            language,
            'It was signed for by "{signer}", not by the recipient in person. '
            "If the recipient has not received it, please tell me and I'll look into it.",
            signer=Signer(view.signed_by),
        )
    if timed:
        return t(
            language,
            'It was signed for by "{signer}" (the recipient) {when}.',
            signer=Signer(view.signed_by),
            when=when,
        )
    return t(language, 'It was signed for by "{signer}" (the recipient).', signer=Signer(view.signed_by))


# What happens next, by status, so the customer is never left guessing.
NEXT_STEPS = {
    "out_for_delivery": N_("The courier should bring it today."),
    "held": N_("We'll move it on the first available departure and keep you updated."),
    "in_transit": N_("We'll keep it moving; you can ask me again at any time."),
    "missing": N_("Our trace takes up to 48 hours; if we can't find it, you are compensated per our policy."),
    "customs_hold": N_(
        "Once the missing document reaches customs, clearance usually takes 1-2 working days."
    ),
    "returned": N_("The sender can give us a corrected phone number and we'll arrange a new delivery."),
    "pickup_missed": N_("I can arrange a priority pickup at a time that suits you."),
}


def next_step_text(view: ShipmentView, today: date, language: str = "en") -> str:
    """What happens next, so the customer is never left guessing."""
    if view.status == "delivered":
        if view.courier_note:
            return t(language, "Courier's note: {note}.", note=Stored(view.courier_note))
        return ""
    step = NEXT_STEPS.get(view.status)
    return t(language, step) if step else ""


def shipment_answer(
    view: ShipmentView, aspect: str, *, tz: ZoneInfo, today: date, language: str = "en"
) -> str:
    """The whole reply for one question ('status', 'signed_by', 'eta', 'delay_reason')."""
    lang = language
    head = _head(view, lang)
    if aspect == "signed_by":
        body = [signed_text(view, tz, today, language=lang)]
        if view.status != "delivered":
            body.append(status_text(view, tz, today, lang))
    elif aspect == "eta":
        body = (
            [status_text(view, tz, today, lang)]
            if view.status == "delivered"
            else [
                promise_text(view, today, lang) or status_text(view, tz, today, lang),
                _delay_reason_text(view, lang),
                next_step_text(view, today, lang),
            ]
        )
    elif aspect == "delay_reason":
        body = [
            _delay_reason_text(view, lang) or _not_late_text(view, tz, today, lang),
            promise_text(view, today, lang),
        ]
        body.append(next_step_text(view, today, lang))
    else:
        body = [
            status_text(view, tz, today, lang),
            promise_text(view, today, lang),
            _delay_reason_text(view, lang) if view.delay_reason and not _scan_names_cause(view) else "",
            billing_text(view, lang),
            next_step_text(view, today, lang),
        ]
    return sentences(lang, [head, *body])


def _delay_reason_text(view: ShipmentView, language: str = "en") -> str:
    if view.status in {"returned", "customs_hold"} and view.exception_reason:
        return t(language, "The reason: {reason}.", reason=Stored(view.exception_reason))
    if not (view.is_late or view.status in {"held", "missing"}):
        return ""
    if view.delay_reason:
        if view.force_majeure:
            return t(
                language, "This is weather beyond our control: {reason}.", reason=Stored(view.delay_reason)
            )
        return t(language, "The reason: {reason}.", reason=Stored(view.delay_reason))
    if view.status == "missing":
        return t(language, "It has stopped showing scans, so we are tracing it.")
    return t(language, "It missed its planned connection; I'm sorry for the delay.")


def _scan_names_cause(view: ShipmentView) -> bool:
    """Whether the last scan already says why it is late ("held at Wuhan hub: capacity shortage ...")."""
    last = view.last_event
    if last is None or not view.delay_reason:
        return False
    cause = view.delay_reason.rsplit(":", 1)[-1].lower().split()[:3]
    return bool(cause) and " ".join(cause) in last.description.lower()


def _not_late_text(view: ShipmentView, tz: ZoneInfo, today: date, language: str = "en") -> str:
    if view.status == "delivered":
        return status_text(view, tz, today, language)
    return t(language, "It isn't late.")


OFFER_TEXT = N_("I'm sorry about this. Would you like me to register a complaint so we can put it right?")


def mistyped_text(number: str, lang: str = "en") -> str:
    return t(
        lang,
        "Hmm, {number} looks mistyped: its check digit doesn't match. "
        "Could you check the number on your receipt and send it again?",
        number=number,
    )


def malformed_text(number: str, lang: str = "en") -> str:
    return t(
        lang,
        "{number} doesn't look like a complete waybill number. Ours have 2 letters, 9 digits and "
        "2 letters, like EA123456785CN. Could you send it again?",
        number=number,
    )


def waybill_problem_text(found: WaybillCheck, lang: str = "en") -> str:
    """What to say about a number that is not a valid waybill: mistyped or incomplete."""
    if found.status == "mistyped":
        return mistyped_text(found.value, lang)
    return malformed_text(found.value, lang)


def not_found_text(number: str, lang: str = "en") -> str:
    return t(
        lang,
        "I couldn't find a shipment with the number {number}. It may not be in our system yet if it was "
        "booked in the last few hours. Please check the number, or I can look up your shipments by the "
        'phone number on your account. You can also say "agent" to reach a person.',
        number=number,
    )
