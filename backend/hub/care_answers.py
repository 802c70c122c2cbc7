"""The care campaign's follow-up script by message (seed 001, 2.3–2.4) and the shipper's answers to it.

The hub says the opening when a message campaign's target is due (Hub.ask_care) and reads every shipper
message here before Rasa while the questions are open, like the complaint follow-up (backend.hub.follow_up).
The script: greet and name the service, "are you satisfied with our service? 1 to 5"; with an open volume
flag, why the shipments dropped and what the customer plans next; satisfied, any suggestions; not, what fell
short, with an apology; then thanks and good wishes. A message that is not an answer (a waybill, a question
about a parcel, a request for a person) ends the questions politely and goes to the bot as usual.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from backend.hub import follow_up
from backend.i18n import N_, sentences, t
from backend.models import Conversation, utcnow
from backend.services import care_messages as care
from backend.services import conversations as conv
from backend.waybill import looks_like_waybill

OPENING_TEXT = N_(
    "Hello {name}, this is the carrier's customer service, sorry to disturb you. Thank you for shipping "
    "with us. Are you satisfied with our service? Please rate it from 1 (not at all) to 5 (very satisfied)."
)
GLAD_TEXT = N_("Thank you, we're glad you are satisfied.")
SORRY_TEXT = N_("Thank you for your rating, and we're sorry we fell short.")
VOLUME_TEXT = N_(
    "We noticed you have sent fewer shipments with us recently. May we ask why, and what you plan "
    'next? (Say "no" to skip.)'
)
TOLD_TEXT = N_("Thank you for telling us.")
SUGGESTIONS_TEXT = N_(
    "Do you have any suggestions for our service, such as city or line-haul transport, delivery or "
    'receiving? (Say "no" to skip.)'
)
SHORTFALL_TEXT = N_(
    'Could you tell us which part of our service did not satisfy you, so that we can improve it? (Say "no" '
    "to skip.)"
)
CLOSE_SATISFIED_TEXT = N_(
    "Thank you for your answers. If you need anything, write to us here any time. We wish you all the "
    "best, goodbye!"
)
CLOSE_UNSATISFIED_TEXT = N_(
    "Thank you very much for telling us. We really did fall short there, and we will improve it soon; "
    "please keep holding us to it. We wish you all the best, goodbye!"
)
ENDED_TEXT = N_("Let's leave the follow-up questions there. Thank you for your time.")

# A new matter rather than an answer: a question about a parcel, or a request for a person. (A waybill
# is recognised by backend.waybill.) Narrow on purpose: a suggestion mentioning delivery is still one.
_NEW_MATTER = re.compile(
    r"\b(where\s+is|where's|track(ing)?|status\s+of|my\s+(parcel|package|shipment|order)s?|"
    r"(talk|speak)\s+to\s+(a|an|someone|somebody|your)\b|real\s+person|human|agent)\b"
    r"|人工|真人|客服人员|到哪|在哪|查(一下|询)?(我的)?(快递|包裹|运单|货)|我的(快递|包裹|货)",
    re.I,
)


@dataclass(frozen=True)
class Reply:
    """What the hub says to an answer; `to_bot`: the message was not an answer and the bot answers it too
    (after `text`, unless it is empty)."""

    text: str
    to_bot: bool = False


def opening(session: Session, *, target_id: int, conversation_id: str) -> str | None:
    """Claim the target for this chat and return the script's opening in the chat's language; None when it
    must not go now: a person holds the chat, it owes an answer to another follow-up (a complaint's, or
    other care questions), or the target is no longer due. Call it inside the conversation's lock."""
    state, language = conv.conversation_row(session, conversation_id)
    if state != "bot":
        return None
    if follow_up.pending(session, conversation_id) is not None or care.open_step(session, conversation_id):
        return None
    if not care.claim(session, target_id=target_id, conversation_id=conversation_id):
        return None
    return t(language, OPENING_TEXT, name=care.customer_name(session, target_id))


def pending(session: Session, conversation_id: str) -> care.Step | None:
    """The care question this conversation owes an answer to, if any."""
    return care.open_step(session, conversation_id)


def is_new_matter(text: str) -> bool:
    """A waybill, a question about a parcel or a request for a person: not an answer to a care question."""
    return looks_like_waybill(text) or _NEW_MATTER.search(text) is not None


def answer(
    session: Session, step: care.Step, text: str, *, conversation_id: str, language: str | None
) -> Reply:
    """Take the shipper's answer to `step`, write it on the target's record and return the bot's reply."""
    if step.step == care.RATING:
        score = follow_up.parse_rating(text)
        if score is None:
            return _end(session, step, conversation_id, language)
        conversation = session.get(Conversation, conversation_id)
        care.take_rating(
            session,
            target_id=step.target_id,
            score=score,
            channel=conversation.channel if conversation is not None else "web",
            language=language,
        )
        rated = t(language, GLAD_TEXT if score >= 4 else SORRY_TEXT)
        if care.volume_dropped(session, step.target_id):
            care.ask(session, conversation_id=conversation_id, target_id=step.target_id, step=care.VOLUME)
            return Reply(sentences(language, [rated, t(language, VOLUME_TEXT)]))
        care.ask(session, conversation_id=conversation_id, target_id=step.target_id, step=care.REMARK)
        return Reply(sentences(language, [rated, t(language, _remark_question(score))]))
    if is_new_matter(text):
        return _end(session, step, conversation_id, language)
    record = care.record_for(session, step.target_id)
    score = record.satisfaction if record is not None and record.satisfaction is not None else 3
    if not follow_up.says_nothing(text):
        care.take_text(session, target_id=step.target_id, step=step.step, text=text)
    if step.step == care.VOLUME:
        care.ask(session, conversation_id=conversation_id, target_id=step.target_id, step=care.REMARK)
        return Reply(sentences(language, [t(language, TOLD_TEXT), t(language, _remark_question(score))]))
    care.finish(session, conversation_id=conversation_id, target_id=step.target_id)
    return Reply(t(language, CLOSE_SATISFIED_TEXT if score >= 4 else CLOSE_UNSATISFIED_TEXT))


def _remark_question(score: int) -> str:
    return SUGGESTIONS_TEXT if score >= 4 else SHORTFALL_TEXT


def _end(session: Session, step: care.Step, conversation_id: str, language: str | None) -> Reply:
    """Not an answer: the questions end politely here, and the message goes to the bot; nothing is lost.
    A question asked long ago is dropped without a word: the shipper has moved on and would not follow."""
    care.finish(session, conversation_id=conversation_id, target_id=step.target_id)
    if step.asked_at < utcnow() - care.QUESTION_WINDOW:
        return Reply("", to_bot=True)
    return Reply(t(language, ENDED_TEXT), to_bot=True)
