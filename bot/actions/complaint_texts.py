"""What the complaint script says: its fixed texts and the sentences built from an outcome or a record."""

from __future__ import annotations

from typing import Any

from backend.clock import utcnow
from backend.complaints.record import STATUS_CATEGORIES, WHOLE_SHIPMENT
from backend.config import carrier_today, carrier_tz
from backend.domain import ShipmentView
from backend.i18n import N_, sentences, t
from backend.record_words import Stored
from backend.services.complaints import Outcome
from backend.services.tickets import StaleTicket

from .base import BACKEND_DOWN_TEXT
from .buttons import yes_no
from .escalation import who_answers_text
from .shipment_text import billing_text, promise_text, status_text

# Values the bot itself puts in the form's slots; shown in the shipper's language in the summary.
NOT_KNOWN = N_("not known")

NO_PHOTO_YET_TEXT = N_(
    "I can't see a photo in this chat yet. Please attach it here (the paperclip or photo button), "
    'or say "later" if you will send it afterwards.'
)
PHOTO_LATER_TEXT = N_("No problem: send the photo here whenever you can, and your claim will wait for it.")
NO_WAYBILL_OK_TEXT = N_("That's fine, a colleague can find the shipment with you later.")
NO_VALUE_OK_TEXT = N_("That's all right, we'll go on without the value; a colleague can add it later.")
CORRECTION_KEPT_TEXT = N_(
    "I'll keep it as it is for now, and what you wrote stays in this chat for my colleague. "
    'If something is still wrong, say "agent" and a person will put it right.'
)
# A ticket's status in words, for "your complaint is already resolved".
TICKET_STATE_WORDS = {
    "open": N_("open"),
    "escalated": N_("escalated"),
    "assigned": N_("assigned"),
    "waiting_customer": N_("waiting customer"),
    "resolved": N_("resolved"),
    "closed": N_("closed"),
}
# The summary or an offer answered with neither a yes nor a no: said once, with the question again.
NOT_YES_NO_TEXT = N_("Sorry, I couldn't tell whether that was a yes or a no.")
SUMMARY_AGAIN_TEXT = N_(
    "Is the summary above right? Please answer yes or no; if something in it is wrong, tell me what to "
    "change. Nothing you've told me is lost."
)
OFFER_AGAIN_TEXT = N_(
    "Your complaint {number} is kept with everything you've told me. Would the offer above be "
    "acceptable? Please answer yes or no; if you'd prefer something else, tell me what."
)
HAND_OVER_UNCLEAR_TEXT = N_(
    "I'm still not sure what you'd like, so I'll pass your complaint to a colleague with everything "
    "you've told me."
)
PHOTO_RECEIVED_TEXT = N_("Thank you, I've got your photo and added it to your complaint.")
STALE_TEXT = N_("Sorry, your complaint was just updated on our side. Could you say that once more?")


def failure_text(failure: Exception, lang: str = "en") -> str:
    """What the customer hears when a use case could not finish: never a traceback."""
    return t(lang, STALE_TEXT if isinstance(failure, StaleTicket) else BACKEND_DOWN_TEXT)


def shown(value: str, lang: str) -> str:
    """A slot's value for the summary: the bot's own words in the shipper's language, theirs as is."""
    return t(lang, value) if value in (NOT_KNOWN, WHOLE_SHIPMENT) else value


def escalation_text(outcome: Outcome, lang: str = "en") -> str:
    return t(
        lang,
        "I've registered your complaint as {number} and passed it to a colleague who can decide on it. "
        "{who_answers} They will see everything you've told me, so you won't need to repeat it.",
        number=outcome.ticket_number,
        who_answers=who_answers_text(
            outcome.priority or outcome.analysis.priority, utcnow(), due=outcome.due, lang=lang
        ),
    )


def record_facts_text(view: ShipmentView, lang: str = "en") -> str:
    """What the shipment record says, for the summary: where it is, how late, why."""
    tz, today = carrier_tz(), carrier_today()
    parts = [status_text(view, tz, today, lang), promise_text(view, today, lang)]
    if view.delay_reason and (view.is_late or view.status in STATUS_CATEGORIES):
        parts.append(t(lang, "Cause on record: {reason}.", reason=Stored(view.delay_reason)))
    parts.append(billing_text(view, lang))
    return sentences(lang, parts)


def offer_text(outcome: Outcome, *, again: bool, lang: str = "en") -> str:
    assert outcome.offer is not None
    offer = outcome.offer.text(lang)
    if again:
        return t(
            lang,
            "I understand. Then let me offer this instead: {offer} Would that work for you?",
            offer=offer,
        )
    return t(lang, "Here is what I can offer: {offer} Would that be acceptable?", offer=offer)


def remedy_buttons(lang: str) -> list[dict[str, Any]]:
    return yes_no(t(lang, "Yes, I accept"), t(lang, "No"))


def summary_buttons(lang: str) -> list[dict[str, Any]]:
    return yes_no(t(lang, "Yes, that's right"), t(lang, "No, change something"))
