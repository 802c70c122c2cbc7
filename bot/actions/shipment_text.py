"""Plain-words answers about one shipment, built from its record (pure: no I/O, no Rasa)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from backend.domain import ShipmentView
from backend.formatting import day_text, days_text, format_cny, format_kg, moment_text

# Shipments in these states are where a customer is likely to want to complain: the bot offers.
PROBLEM_STATUSES = frozenset({"held", "missing", "returned", "pickup_missed", "customs_hold"})


# Billed weight above the declared weight by more than this is worth pointing out (DOMAIN.md billing).
WEIGHT_TOLERANCE = Decimal("1.10")


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
    return bool(declared and charged and charged > declared * WEIGHT_TOLERANCE)


def billing_text(view: ShipmentView) -> str:
    """The billed weight against the declared one, when they differ noticeably."""
    if not overbilled(view):
        return ""
    charged, declared = format_kg(view.charged_weight_kg), format_kg(view.declared_weight_kg)
    text = f"It was billed for {charged} against {declared} declared"
    if view.charged_amount is not None:
        text += f": {format_cny(view.charged_amount)}"
        if view.quoted_amount is not None:
            text += f" (quoted {format_cny(view.quoted_amount)})"
    return text + "."


def _route(view: ShipmentView) -> str:
    if view.status in {"pickup_booked", "pickup_missed"}:
        return f"pickup at {view.origin}"
    return f"{view.origin} → {view.destination}"


def promise_text(view: ShipmentView, today: date) -> str:
    """The promised date and whether the shipment keeps it."""
    if view.promised_date is None:
        return ""
    promised = day_text(view.promised_date, today)
    if view.status == "delivered":
        if view.is_late:
            return f"It was promised for {promised} and arrived {days_text(view.days_late)} late."
        return f"It was promised for {promised} and arrived on time."
    if view.is_late:
        return f"It was promised for {promised}, so it is {days_text(view.days_late)} late."
    if view.promised_date == today:
        return "It is due today and on schedule."
    return f"It is promised for {promised} and is on schedule."


def status_text(view: ShipmentView, tz: ZoneInfo, today: date) -> str:
    """Where the shipment is and what state it is in, in one or two sentences."""
    last = view.last_event
    where = (
        f"{last.description} ({last.location}, {moment_text(last.occurred_at, tz, today)})" if last else ""
    )
    status = view.status
    if status == "delivered" and view.delivered_at:
        delivered = moment_text(view.delivered_at, tz, today)
        return f"It was delivered {delivered}. {signed_text(view, tz, today, with_time=False)}"
    if status == "out_for_delivery":
        return f"It is out for delivery in {view.destination} today. Last scan: {where}."
    if status == "in_transit":
        return f"It is on its way to {view.destination}. Last scan: {where}."
    if status == "held":
        return f"It is held. Last scan: {where}."
    if status == "missing":
        return (
            f"I'm sorry: we have had no scan of it since {where or 'it left ' + view.origin}. "
            "It is missing in our network and a trace has been started."
        )
    if status == "customs_hold":
        reason = view.exception_reason or "customs clearance"
        return f"It is held by customs: {reason}. Last scan: {where}."
    if status == "returned":
        reason = view.exception_reason or "it could not be delivered"
        return f"It is being returned to the sender: {reason}. Last scan: {where}."
    if status == "pickup_missed":
        due = f" for {moment_text(view.pickup_due_at, tz, today)}" if view.pickup_due_at else ""
        return f"I'm sorry: the pickup booked{due} was missed, and nobody has collected it yet."
    if status == "pickup_booked":
        due = f" for {moment_text(view.pickup_due_at, tz, today)}" if view.pickup_due_at else ""
        return f"A pickup is booked{due}; the courier has not collected it yet."
    return f"Its status is {status.replace('_', ' ')}. Last scan: {where}."


def signed_text(view: ShipmentView, tz: ZoneInfo, today: date, *, with_time: bool = True) -> str:
    """Who signed for a delivered shipment, and a word of caution if it was not the recipient."""
    if view.status != "delivered":
        return "It has not been delivered yet, so nobody has signed for it."
    when = f" {moment_text(view.delivered_at, tz, today)}" if view.delivered_at and with_time else ""
    if not view.signed_by:
        return f"It was delivered{when}, but no signature is on record."
    if view.signer_is_recipient is False:
        return (
            f'It was signed for by "{view.signed_by}"{when}, not by the recipient in person. '
            "If the recipient has not received it, please tell me and I'll look into it."
        )
    return f'It was signed for by "{view.signed_by}" (the recipient){when}.'


def next_step_text(view: ShipmentView, today: date) -> str:
    """What happens next, so the customer is never left guessing."""
    status = view.status
    if status == "delivered":
        if view.courier_note:
            return f"Courier's note: {view.courier_note}."
        return ""
    if status == "out_for_delivery":
        return "The courier should bring it today."
    if status == "held":
        return "We'll move it on the first available departure and keep you updated."
    if status == "in_transit":
        return "We'll keep it moving; you can ask me again at any time."
    if status == "missing":
        return "Our trace takes up to 48 hours; if we can't find it, you are compensated per our policy."
    if status == "customs_hold":
        return "Once the missing document reaches customs, clearance usually takes 1-2 working days."
    if status == "returned":
        return "The sender can give us a corrected phone number and we'll arrange a new delivery."
    if status == "pickup_missed":
        return "I can arrange a priority pickup at a time that suits you."
    return ""


def shipment_answer(view: ShipmentView, aspect: str, *, tz: ZoneInfo, today: date) -> str:
    """The whole reply for one question ('status', 'signed_by', 'eta', 'delay_reason')."""
    head = f"{view.waybill} ({_route(view)}):"
    if aspect == "signed_by":
        body = [signed_text(view, tz, today)]
        if view.status != "delivered":
            body.append(status_text(view, tz, today))
    elif aspect == "eta":
        body = (
            [status_text(view, tz, today)]
            if view.status == "delivered"
            else [
                promise_text(view, today) or status_text(view, tz, today),
                _delay_reason_text(view),
                next_step_text(view, today),
            ]
        )
    elif aspect == "delay_reason":
        body = [_delay_reason_text(view) or _not_late_text(view, tz, today), promise_text(view, today)]
        body.append(next_step_text(view, today))
    else:
        body = [
            status_text(view, tz, today),
            promise_text(view, today),
            _delay_reason_text(view) if view.delay_reason and not _scan_names_cause(view) else "",
            billing_text(view),
            next_step_text(view, today),
        ]
    return " ".join([head, *[part for part in body if part]])


def _delay_reason_text(view: ShipmentView) -> str:
    if view.status in {"returned", "customs_hold"} and view.exception_reason:
        return f"The reason: {view.exception_reason}."
    if not (view.is_late or view.status in {"held", "missing"}):
        return ""
    if view.delay_reason:
        prefix = "This is weather beyond our control: " if view.force_majeure else "The reason: "
        return f"{prefix}{view.delay_reason}."
    if view.status == "missing":
        return "It has stopped showing scans, so we are tracing it."
    return "It missed its planned connection; I'm sorry for the delay."


def _scan_names_cause(view: ShipmentView) -> bool:
    """Whether the last scan already says why it is late ("held at Wuhan hub: capacity shortage ...")."""
    last = view.last_event
    if last is None or not view.delay_reason:
        return False
    cause = view.delay_reason.rsplit(":", 1)[-1].lower().split()[:3]
    return bool(cause) and " ".join(cause) in last.description.lower()


def _not_late_text(view: ShipmentView, tz: ZoneInfo, today: date) -> str:
    if view.status == "delivered":
        return status_text(view, tz, today)
    return "It isn't late."


OFFER_TEXT = "I'm sorry about this. Would you like me to register a complaint so we can put it right?"
