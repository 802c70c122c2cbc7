"""The satisfaction follow-up (回访) once a ticket is resolved: asked once, on the shipper's channel.

The seeds' script: greet and name the service; ask whether the customer is satisfied with how we handled
the matter; satisfied, thank them and ask for suggestions; not satisfied, ask what fell short, apologise
and promise to improve. Keep it short. The state lives in the ticket's audit trail (asked, rated,
finished), so nothing is asked twice and every step is on record.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import Exists, Table, bindparam, exists, select
from sqlalchemy.orm import Session

from backend.hub.records import Button
from backend.i18n import t
from backend.models import Ticket, TicketEvent
from backend.services.tickets import get_ticket, record_ticket_event, update_ticket, waiting_request
from backend.waybill import looks_like_waybill

ASKED, RATED, FINISHED = "follow_up_asked", "follow_up_rated", "follow_up_finished"
RATING_BUTTONS = tuple(Button(title=str(score), payload=str(score)) for score in range(1, 6))
_RATING = re.compile(r"^\s*([1-5])\s*(?:/\s*5|stars?|points?|分|星|颗星)?\s*[.!。！]*\s*$", re.I)
_WORD_RATINGS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
# 一分 … 五分, 五星: a Chinese numeral with or without its measure word.
_CHINESE_RATING = re.compile(r"^\s*([一二两三四五])\s*(?:分|星|颗星)?\s*[.!。！]*\s*$")
_CHINESE_NUMERALS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_NOTHING = re.compile(
    r"^\s*(no|nope|nothing|none|no thanks?|all good|that'?s all|-|没有了?|没了|无|不用了?|没有建议|挺好的?)"
    r"\s*[.!。！]*\s*$",
    re.I,
)


@dataclass(frozen=True)
class Pending:
    """A follow-up waiting for the shipper: the ticket, and whether the rating or the comment is next."""

    number: str
    step: str  # "rating" | "comment"


def question_text(ticket: Ticket, language: str | None = None) -> str:
    """The seeds' opening: greet, name the service and the matter, and ask how satisfied they are."""
    if ticket.waybill:
        return t(
            language,
            "Hello, this is the carrier's customer service following up on your complaint {number} about "
            "{waybill}, which we have now resolved. Are you satisfied with how we handled it? "
            "Please rate it from 1 (not at all) to 5 (very satisfied).",
            number=ticket.number,
            waybill=ticket.waybill,
        )
    return t(
        language,
        "Hello, this is the carrier's customer service following up on your complaint {number}, which we "
        "have now resolved. Are you satisfied with how we handled it? "
        "Please rate it from 1 (not at all) to 5 (very satisfied).",
        number=ticket.number,
    )


def should_ask(session: Session, number: str) -> bool:
    """A resolved ticket with a conversation to ask in, not asked before (A-class customers included).

    Never while a compensation waits for a supervisor: the shipper is not asked to rate an outcome
    nobody has decided yet (the ticket cannot be resolved then either; this holds for any other path).
    """
    ticket = get_ticket(session, number)
    if ticket is None or ticket.status != "resolved" or not ticket.conversation_id:
        return False
    if waiting_request(session, ticket.id) is not None:
        return False
    return not _has_event(session, ticket, ASKED)


def mark_asked(session: Session, number: str) -> None:
    record_ticket_event(session, number=number, actor="bot", action=ASKED)


def _has_event(session: Session, ticket: Ticket, action: str) -> bool:
    return _ticket_has_event(session, ticket.id, action)


_TICKET: Table = Ticket.__table__  # type: ignore[assignment]
_EVENT: Table = TicketEvent.__table__  # type: ignore[assignment]
# A follow-up asked in the conversation: `pending` reads the newest, the hub's one statement
# (backend.hub.owed) whether there is any; one condition, so the two cannot disagree.
_ASKED_IN_CONVERSATION = (
    _TICKET.c.conversation_id == bindparam("cid"),
    _EVENT.c.ticket_id == _TICKET.c.id,
    _EVENT.c.action == ASKED,
)
# Asked on every shipper message, so a Core statement on the connection, built once: the ORM's
# per-query work was a tenth of the hub's turn (tools/hub_cost.py).
_LAST_ASKED = (
    select(_TICKET.c.id, _TICKET.c.number)
    .where(*_ASKED_IN_CONVERSATION)
    .order_by(_EVENT.c.id.desc())
    .limit(1)
)
ASKED_HERE: Exists = exists().where(*_ASKED_IN_CONVERSATION)
_HAS_EVENT = (
    select(_EVENT.c.id)
    .where(_EVENT.c.ticket_id == bindparam("ticket_id"), _EVENT.c.action == bindparam("action"))
    .limit(1)
)


def _ticket_has_event(session: Session, ticket_id: int, action: str) -> bool:
    found = session.connection().execute(_HAS_EVENT, {"ticket_id": ticket_id, "action": action}).first()
    return found is not None


def pending(session: Session, conversation_id: str) -> Pending | None:
    """The follow-up this conversation owes an answer to, if any (the newest one asked)."""
    asked = session.connection().execute(_LAST_ASKED, {"cid": conversation_id}).first()
    if asked is None or _ticket_has_event(session, asked.id, FINISHED):
        return None
    return Pending(asked.number, "comment" if _ticket_has_event(session, asked.id, RATED) else "rating")


def parse_rating(text: str) -> int | None:
    """1 to 5 from "4", "4/5", "5 stars", "five", or a short verdict in words ("满意", "一般", "not
    happy"); None for anything else."""
    match = _RATING.match(text)
    if match:
        return int(match.group(1))
    chinese = _CHINESE_RATING.match(text)
    if chinese:
        return _CHINESE_NUMERALS[chinese.group(1)]
    return _WORD_RATINGS.get(text.strip().strip(".!").lower()) or verdict_rating(text)


# Asked "are you satisfied?", people answer in words as often as with a number. A verdict is the whole
# message (a few words at most), so "the delivery was not good, and ..." is a comment, never a rating.
# Checked from 1 up: "非常不满意" and "not satisfied" hold the words of milder verdicts.
_VERDICTS: tuple[tuple[int, re.Pattern[str]], ...] = tuple(
    (score, re.compile(rf"^\s*(?:{words})\s*[.!。！~～]*\s*$", re.I))
    for score, words in (
        (
            1,
            r"(?:非常|很|特别|十分|极其|太)不满意?|(?:太|很|非常|特别)差(?:了|劲)?|差劲|糟糕|糟透了|垃圾|"
            r"very (?:unhappy|dissatisfied|unsatisfied|bad|poor)|not (?:at all )?satisfied at all|"
            r"terrible|awful|horrible|the worst",
        ),
        (
            2,
            r"不(?:太|是很|怎么|大)?满意|不(?:太|怎么)?好|不怎么样|差|有点差|"
            r"not (?:very |really |so |too )?(?:satisfied|happy|good)|dissatisfied|unsatisfied|unhappy|"
            r"bad|poor|disappointed|not great",
        ),
        (
            3,
            r"一般(?:般)?|还行(?:吧)?|还可以(?:吧)?|还好(?:吧)?|凑合|马马虎虎|普通|过得去|"
            r"ok(?:ay)?|so[- ]so|average|fine|alright|all right|not bad|it'?s ok(?:ay)?|mediocre|meh",
        ),
        (
            4,
            r"(?:挺|比较|还算|蛮)?满意(?:的)?|(?:挺|很|蛮)?好(?:的)?|(?:挺|很|蛮)?不错(?:的)?|"
            r"(?:quite |pretty )?(?:satisfied|happy|good)|very good|good service",
        ),
        (
            5,
            r"(?:非常|很|特别|十分|超级?|相当)满意(?:的)?|(?:非常|特别)好|完美|太好了|棒|很棒|"
            r"very (?:satisfied|happy)|extremely (?:satisfied|happy)|excellent|perfect|great|"
            r"(?:absolutely |really )?(?:love|loved) it|fantastic|amazing",
        ),
    )
)


def verdict_rating(text: str) -> int | None:
    """The score of a short answer in words to "are you satisfied?", or None when it is not one."""
    folded = unicodedata.normalize("NFKC", text)
    for score, pattern in _VERDICTS:
        if pattern.match(folded):
            return score
    return None


def says_nothing(text: str) -> bool:
    """ "no", "nothing", "没有": the shipper skips a question that asks for a comment."""
    return _NOTHING.match(text) is not None


def answer(session: Session, follow_up: Pending, text: str, *, language: str | None = None) -> str | None:
    """Take the shipper's answer and return the bot's reply; None when the text is not an answer."""
    if follow_up.step == "rating":
        score = parse_rating(text)
        if score is None:
            return None
        update_ticket(
            session,
            number=follow_up.number,
            expected_version=None,
            actor="shipper",
            action=RATED,
            satisfaction=score,
        )
        if score >= 4:
            return t(
                language,
                "Thank you, we're glad it was put right. Is there anything we could do better? "
                '(Say "no" to skip.)',
            )
        return t(
            language,
            "I'm sorry we fell short. What should we have done better? Your answer goes straight to the "
            "customer-service team, and we will use it to improve.",
        )
    if looks_like_waybill(text):
        # A new question rather than a comment: close the follow-up and let the bot answer it.
        record_ticket_event(session, number=follow_up.number, actor="bot", action=FINISHED)
        return None
    comment = None if says_nothing(text) else text.strip()[:2000]
    if comment:
        update_ticket(
            session,
            number=follow_up.number,
            expected_version=None,
            actor="shipper",
            action="follow_up_commented",
            satisfaction_comment=comment,
        )
    record_ticket_event(session, number=follow_up.number, actor="bot", action=FINISHED)
    return t(language, "Thank you for your feedback. Is there anything else I can help you with?")
