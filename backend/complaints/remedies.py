"""The remedy ladder of DOMAIN.md: what the bot may offer on its own, step by step, with amounts.

Each remedy's words are a Phrase (a catalog msgid and its values), so the offer is put to the shipper
in their language; the ticket keeps the remedy as its code and facts (`remedy_to_json`) beside the
English description, and every reader reads it in their own language (`remedy_said`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from backend.complaints.findings import from_json, to_json
from backend.domain import ShipmentView
from backend.formatting import clock_text
from backend.i18n import N_, DayAndTime, FullDate, Money, Phrase, Weight, phrase
from backend.record_words import Signer, Stored

# The damage row's limit, applied to every money remedy the bot offers on its own.
BOT_GRANT_LIMIT = Decimal("500")
LOSS_ESCALATE_ABOVE = Decimal("500")
VOUCHER_SHARE = Decimal("0.20")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Remedy:
    """One step of the ladder, as the customer will read it."""

    code: str
    words: Phrase
    amount: Decimal | None = None
    bot_may_grant: bool = True

    @property
    def description(self) -> str:
        """The remedy in English, as the ticket's text column and the API keep it (readers in other
        languages read it from its facts, `remedy_said`)."""
        return self.words.text("en")

    def text(self, language: str | None) -> str:
        """The remedy in the shipper's language."""
        return self.words.text(language)


def remedy_to_json(remedy: Remedy) -> dict[str, Any]:
    """The remedy as its code and facts, JSON-safe (`remedy_from_json` gives the same remedy back)."""
    return {
        "code": remedy.code,
        "words": to_json(remedy.words),
        "amount": None if remedy.amount is None else str(remedy.amount),
        "bot_may_grant": remedy.bot_may_grant,
    }


def remedy_from_json(data: dict[str, Any]) -> Remedy:
    words = from_json(data["words"])
    if not isinstance(words, Phrase):
        raise ValueError("a stored remedy's words must be a phrase")
    amount = data.get("amount")
    return Remedy(
        str(data["code"]),
        words,
        None if amount is None else Decimal(amount),
        bool(data.get("bot_may_grant", True)),
    )


def remedy_said(stored: Any, language: str | None) -> str | None:
    """A stored remedy in the reader's language: its code and facts in words, or a plain string (typed by
    an agent, or stored before remedies were codes) as it is."""
    if stored is None:
        return None
    if isinstance(stored, dict):
        return remedy_from_json(stored).text(language)
    return str(stored)


def _money(value: Decimal) -> Decimal:
    """Round to the fen."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _refund(code: str, words: Phrase, amount: Decimal | None) -> Remedy:
    """A refund or voucher: bounded by what the customer paid, so an unknown amount is still grantable."""
    return Remedy(code, words, amount, amount is None or amount <= BOT_GRANT_LIMIT)


def _claim(code: str, words: Phrase, amount: Decimal | None) -> Remedy:
    """A claim on the goods: the bot grants it only when the value is known and within its limit."""
    return Remedy(code, words, amount, amount is not None and amount <= BOT_GRANT_LIMIT)


def voucher_amount(shipment: ShipmentView | None) -> Decimal | None:
    """20% of the freight, when the freight is known."""
    if shipment is None or shipment.freight_amount is None:
        return None
    return _money(shipment.freight_amount * VOUCHER_SHARE)


def weight_refund_amount(shipment: ShipmentView) -> Decimal | None:
    """What was charged for weight above the declared weight."""
    cw, dw = shipment.charged_weight_kg, shipment.declared_weight_kg
    if shipment.charged_amount is not None and shipment.quoted_amount is not None:
        difference = shipment.charged_amount - shipment.quoted_amount
        return _money(difference) if difference > 0 else None
    if shipment.charged_amount is not None and cw and dw is not None and cw > dw:
        # No quote on record: refund the share of the charge that the excess weight accounts for.
        return _money(shipment.charged_amount * (cw - dw) / cw)
    return None


def _cny(amount: Decimal | None, unknown: str) -> Money | Phrase:
    """An amount for a sentence, or words for an amount not yet known."""
    return Money(amount) if amount is not None else phrase(unknown)


def build_ladder(
    *,
    category: str,
    shipment: ShipmentView | None,
    responsibility: str,
    days_late: int | None,
    force_majeure: str | None,
    declared_value: Decimal | None,
    photo_status: str | None,
    false_signature: bool,
    pickup_pending: bool,
    zone: ZoneInfo,
) -> tuple[Remedy, ...]:
    """The offers for this complaint in the order the bot makes them."""
    if category == "staff_conduct":
        return (
            Remedy(
                "supervisor_follow_up",
                phrase(
                    "I'm sorry for how you were treated. The station supervisor will follow up with the "
                    "staff member and get back to you personally."
                ),
            ),
        )
    if category == "other" or shipment is None:
        return (
            Remedy(
                "person_follow_up",
                phrase(
                    "I'm sorry for the trouble this has caused. A colleague will look into it personally "
                    "and get back to you."
                ),
            ),
        )
    if category == "delay":
        return _delay(shipment, responsibility, days_late, force_majeure, zone)
    if category == "missed_pickup":
        return _missed_pickup(shipment, pickup_pending, zone)
    if category == "damage":
        return (_damage(declared_value, photo_status),)
    if category == "loss":
        trace = (
            phrase(
                "We'll trace your shipment through our whole network within 48 hours. If it can't be found, "
                "we'll compensate you up to {value} (the declared value).",
                value=Money(declared_value),
            )
            if declared_value is not None
            else phrase(
                "We'll trace your shipment through our whole network within 48 hours. If it can't be found, "
                "we'll compensate you up to the declared value."
            )
        )
        return (
            _claim(
                "trace_then_compensation",
                trace,
                _money(declared_value) if declared_value is not None else None,
            ),
        )
    if category == "wrong_delivery":
        freight = shipment.freight_amount
        first = (
            Remedy(
                "retrieval_24h",
                phrase(
                    "We'll find out who signed for your parcel and retrieve it within 24 hours, then bring "
                    "it to you."
                ),
            )
            if false_signature
            else Remedy(
                "retrieval_24h",
                phrase(
                    "We'll retrieve your parcel from where it was left within 24 hours and bring it to you."
                ),
            )
        )
        second = _refund(
            "redelivery_freight_refund",
            phrase(
                "We'll deliver it to you again and refund the freight of {freight}.", freight=Money(freight)
            )
            if freight is not None
            else phrase("We'll deliver it to you again and refund the freight."),
            _money(freight) if freight is not None else None,
        )
        return (first, second)
    if category == "billing":
        return (_billing(shipment, responsibility),)
    return ()


def _delay(
    shipment: ShipmentView,
    responsibility: str,
    days_late: int | None,
    force_majeure: str | None,
    zone: ZoneInfo,
) -> tuple[Remedy, ...]:
    """Delay: apology and care, a voucher when more than a day late, then the freight back."""
    cause = (shipment.exception_reason or shipment.delay_reason or "").rstrip(".")
    if responsibility == "force_majeure":
        what = force_majeure.rstrip(".") if force_majeure else ""
        return (
            Remedy(
                "explanation_updates",
                phrase(
                    "Our record shows: {what}. That is outside anyone's control, so your shipment moves on "
                    "as soon as it is safe, and I'll keep you updated at every step.",
                    what=Stored(what, lower_first=True) if what else phrase("force majeure"),
                ),
            ),
        )
    if responsibility == "customer":
        return (
            Remedy(
                "explanation_next_steps",
                phrase(
                    "Our record shows your shipment is held because of this: {cause}. If you can help us "
                    "with the correct details, we'll send it on straight away, and I'll keep you updated at "
                    "every step.",
                    cause=Stored(cause, lower_first=True),
                )
                if cause
                else phrase(
                    "If you can help us with the correct details, we'll send it on straight away, and I'll "
                    "keep you updated at every step."
                ),
            ),
        )
    if responsibility == "third_party":
        return (
            Remedy(
                "explanation_chase_third_party",
                phrase(
                    "Your shipment is waiting on a third party ({cause}). We're chasing it and I'll keep "
                    "you updated at every step.",
                    cause=Stored(cause, lower_first=True),
                )
                if cause
                else phrase(
                    "Your shipment is waiting on a third party. We're chasing it and I'll keep you updated "
                    "at every step."
                ),
            ),
        )
    if responsibility != "carrier":
        if days_late is not None and days_late <= 0 and shipment.delivered_at is not None:
            delivered = DayAndTime(shipment.delivered_at, zone)
            return (
                Remedy(
                    "explanation_delivered_on_time",
                    phrase(
                        "Our record shows your shipment was delivered on {delivered}, signed by {signer}, "
                        "within the promised date. If it hasn't reached you, tell me and we'll look into it "
                        "straight away.",
                        delivered=delivered,
                        signer=Signer(shipment.signed_by),
                    )
                    if shipment.signed_by
                    else phrase(
                        "Our record shows your shipment was delivered on {delivered}, within the promised "
                        "date. If it hasn't reached you, tell me and we'll look into it straight away.",
                        delivered=delivered,
                    ),
                ),
            )
        if days_late is not None and days_late <= 0 and shipment.promised_date is not None:
            return (
                Remedy(
                    "explanation_on_schedule",
                    phrase(
                        "Your shipment is on its way and due on {due}. I'll keep you updated, and if "
                        "anything changes you'll hear from us first.",
                        due=FullDate(shipment.promised_date),
                    ),
                ),
            )
        return (
            Remedy(
                "apology_priority_updates",
                phrase(
                    "I'm sorry for the wait. We'll give your shipment priority handling and keep you "
                    "updated at every step."
                ),
            ),
        )
    first: Remedy
    if days_late is not None and days_late > 1:
        voucher = voucher_amount(shipment)
        first = _refund(
            "apology_priority_updates_voucher",
            phrase(
                "I'm sorry your shipment is late. We'll give it priority handling and keep you updated at "
                "every step, and as an apology you'll receive a voucher of {voucher} for your next shipment.",
                voucher=_cny(voucher, N_("20% of the freight")),
            ),
            voucher,
        )
    else:
        first = Remedy(
            "apology_priority_updates",
            phrase(
                "I'm sorry your shipment is late. We'll give it priority handling and keep you updated at "
                "every step."
            ),
        )
    freight = shipment.freight_amount
    second = _refund(
        "freight_refund",
        phrase("We'll refund the full freight of {freight}.", freight=Money(freight))
        if freight is not None
        else phrase("We'll refund the full freight."),
        _money(freight) if freight is not None else None,
    )
    return (first, second)


def _missed_pickup(shipment: ShipmentView, pickup_pending: bool, zone: ZoneInfo) -> tuple[Remedy, ...]:
    """Missed pickup: a priority re-pickup with the fee waived, then a voucher."""
    if pickup_pending and shipment.pickup_due_at is not None:
        return (
            Remedy(
                "explanation_pickup_window",
                phrase(
                    "The courier is booked to collect by {clock}. I'll make sure they're on their way and "
                    "keep you posted.",
                    clock=clock_text(shipment.pickup_due_at, zone),
                ),
            ),
        )
    voucher = voucher_amount(shipment)
    return (
        Remedy(
            "repickup_fee_waived",
            phrase(
                "I'm sorry nobody came. We'll send a courier as a priority at a time that suits you, and "
                "the pickup fee is waived."
            ),
        ),
        _refund(
            "voucher",
            phrase(
                "We'll add a voucher of {voucher} for this shipment.",
                voucher=_cny(voucher, N_("20% of the freight")),
            ),
            voucher,
        ),
    )


def _damage(declared_value: Decimal | None, photo_status: str | None) -> Remedy:
    """Damage: a claim up to the declared value once a photo is in."""
    amount = _money(declared_value) if declared_value is not None else None
    if photo_status == "received":
        if declared_value is None:
            words = phrase(
                "Thank you for the photo. We'll settle your claim for the damage, up to the declared value."
            )
        else:
            words = phrase(
                "Thank you for the photo. We'll settle your claim for the damage, up to {cap} (the declared "
                "value).",
                cap=Money(declared_value),
            )
    elif declared_value is None:
        words = phrase(
            "As soon as you send a photo of the damage, we'll settle your claim, up to the declared value."
        )
    else:
        words = phrase(
            "As soon as you send a photo of the damage, we'll settle your claim, up to {cap} (the declared "
            "value).",
            cap=Money(declared_value),
        )
    return _claim("damage_claim", words, amount)


def _billing(shipment: ShipmentView, responsibility: str) -> Remedy:
    """Billing: refund the excess weight, or explain the record."""
    cw, dw = shipment.charged_weight_kg, shipment.declared_weight_kg
    if cw is None or dw is None:
        return Remedy(
            "billing_recheck",
            phrase(
                "A colleague from billing will re-check your charge against the record and get back to you."
            ),
        )
    if responsibility == "carrier":
        amount = weight_refund_amount(shipment)
        return _refund(
            "weight_refund",
            phrase(
                "We re-checked: you were charged for {charged} against {declared} declared, so we'll refund "
                "the difference of {amount}.",
                charged=Weight(cw),
                declared=Weight(dw),
                amount=_cny(amount, N_("the overcharge")),
            ),
            amount,
        )
    return Remedy(
        "billing_explanation",
        phrase(
            "We re-checked your bill against the record: the charged weight of {charged} matches the "
            "{declared} declared, so the charge is correct. I'm happy to have a colleague go through it "
            "with you.",
            charged=Weight(cw),
            declared=Weight(dw),
        ),
    )
