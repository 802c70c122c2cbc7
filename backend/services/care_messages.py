"""Follow-up by message (seed 001, 2.1–2.4): which care targets get the script now, claimed once, and the
follow-up record the answers land on.

A message campaign's target is sent the script on the customer's own chat (backend.hub.care_answers says
it and reads the answers). The claim is a conditional UPDATE 'due'→'sent', so of two backend processes only
one ever sends it; a target whose period ends unanswered becomes 'unreachable'. Where the questions stand
(asked the rating, the volume question, the remark; finished) is the conversation's audit trail, the way a
ticket's follow-up keeps its steps in the ticket's events: every step is on record and nothing is asked twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import Exists, Table, bindparam, exists, or_, select, update
from sqlalchemy.orm import Session

from backend.i18n import N_
from backend.models import (
    AuditEvent,
    CareCampaign,
    CareTarget,
    Conversation,
    Customer,
    FollowUpRecord,
    VolumeFlag,
    utcnow,
)
from backend.services.audit import record_audit_event
from backend.services.notices import Policy

# Who asks and who writes the record: the bot (FollowUpRecord.made_by, the audit's actor).
BOT = "bot"
# The conversation's audit actions: a question asked (data: target id and step), the questions over.
ASKED, FINISHED = "care_asked", "care_finished"
RATING, VOLUME, REMARK = "rating", "volume", "remark"
# The channels a script can go to (a conversation on Rasa's REST channel is nobody's chat).
CHAT_CHANNELS = ("telegram", "web")
# Targets looked at per run: a campaign of thousands goes out over a few runs, never in one burst.
BATCH = 50
# Once rated, the further questions wait this long for their answer; later text is a new conversation.
QUESTION_WINDOW = timedelta(days=1)
# Notes and next steps are stored as their English msgid: the console says them in the reader's language.
NO_CHANNEL_NOTE = N_("no chat channel — call instead")
NO_ANSWER_NOTE = N_("no answer to the follow-up message by the end of the period")
OWNER_CALL_STEP = N_("An owner call is needed: the customer is not satisfied with the service.")
# The ratings that make a person follow up (1–2 of 5: an unhappy key customer gets a call).
UNHAPPY_AT_MOST = 2


@dataclass(frozen=True)
class Due:
    """A target to send now, and the chat it goes to."""

    target_id: int
    conversation_id: str


@dataclass(frozen=True)
class Step:
    """The care question a conversation owes an answer to."""

    target_id: int
    step: str  # RATING | VOLUME | REMARK
    asked_at: datetime


# -- periods ------------------------------------------------------------------------------------------

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def _first_after(period: str) -> date:
    week, quarter, month = _WEEK.match(period), _QUARTER.match(period), _MONTH.match(period)
    if week:
        return date.fromisocalendar(int(week.group(1)), int(week.group(2)), 1) + timedelta(days=7)
    if quarter:
        year, q = int(quarter.group(1)), int(quarter.group(2))
        return date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)
    if month:
        year, m = int(month.group(1)), int(month.group(2))
        return date(year + 1, 1, 1) if m == 12 else date(year, m + 1, 1)
    raise ValueError(f"not a care period: {period!r} (2026-12, 2026-W49 or 2026-Q4)")


def period_end(period: str, tz: ZoneInfo) -> datetime:
    """The first moment (UTC) after `period`, on the carrier's clock."""
    return datetime.combine(_first_after(period), time(), tzinfo=tz).astimezone(timezone.utc)


# -- where to send --------------------------------------------------------------------------------------


def chat_for(session: Session, customer_id: str) -> Conversation | None:
    """The customer's own chat: their verified Telegram contact if they have one (as notices reach an owner),
    else the newest Telegram or widget conversation linked to them; None when they never chatted."""
    newest = (Conversation.updated_at.desc(), Conversation.id)
    verified = session.scalars(
        select(Conversation)
        .where(Conversation.channel == "telegram", Conversation.verified_customer_id == customer_id)
        .order_by(*newest)
        .limit(1)
    ).first()
    if verified is not None:
        return verified
    return session.scalars(
        select(Conversation)
        .where(
            Conversation.channel.in_(CHAT_CHANNELS),
            or_(Conversation.customer_id == customer_id, Conversation.verified_customer_id == customer_id),
        )
        .order_by(*newest)
        .limit(1)
    ).first()


def current_periods(day: date) -> tuple[str, str, str]:
    """The keys of the week, month and quarter `day` falls in ("2026-W49", "2026-12", "2026-Q4")."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}", f"{day.year}-{day.month:02d}", f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def due_now(
    session: Session, *, policy: Policy, now: datetime | None = None, limit: int = BATCH
) -> list[Due]:
    """The message targets of the running periods to send now, each with its chat; empty during quiet hours
    (they go out in the morning's first run). A customer without a chat keeps 'due' with a note for the
    phone; one whose chat a person holds is left for a later run. The caller sends each through the hub,
    which claims it."""
    now = now or utcnow()
    if policy.quiet is not None and policy.quiet.until(now, policy.tz) is not None:
        return []
    today = now.astimezone(policy.tz).date()
    # Every due target of the running periods is looked at (not a first batch): the ones that cannot go
    # now (no chat, a person on it) must never keep the others waiting.
    targets = session.scalars(
        select(CareTarget)
        .join(CareCampaign, CareCampaign.id == CareTarget.campaign_id)
        .where(
            CareTarget.status == "due",
            CareTarget.period.in_(current_periods(today)),
            CareCampaign.channel == "message",
            CareCampaign.status == "active",
            CareCampaign.starts_on <= today,
            or_(CareCampaign.ends_on.is_(None), CareCampaign.ends_on >= today),
        )
        .order_by(CareTarget.id)
    )
    due: list[Due] = []
    chats: set[str] = set()
    for target in targets:
        chat = chat_for(session, target.customer_id)
        if chat is None:
            if target.note != NO_CHANNEL_NOTE:
                target.note, target.updated_at = NO_CHANNEL_NOTE, now
            continue
        if target.note == NO_CHANNEL_NOTE:
            target.note, target.updated_at = None, now  # they have chatted since
        # One script per chat at a time; a person holding the chat is never talked over.
        if chat.state != "bot" or chat.id in chats or len(due) >= limit:
            continue
        chats.add(chat.id)
        due.append(Due(target.id, chat.id))
    session.flush()
    return due


def claim(session: Session, *, target_id: int, conversation_id: str, now: datetime | None = None) -> bool:
    """Mark the target sent to this chat; False when it is no longer due (another process sent it, or an
    agent skipped it). A conditional UPDATE: two processes never both win it."""
    now = now or utcnow()
    result = session.execute(
        update(CareTarget)
        .where(CareTarget.id == target_id, CareTarget.status == "due")
        .values(status="sent", conversation_id=conversation_id, sent_at=now, updated_at=now, note=None)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        return False
    ask(session, conversation_id=conversation_id, target_id=target_id, step=RATING, now=now)
    return True


def expire(session: Session, *, tz: ZoneInfo, now: datetime | None = None) -> int:
    """Targets still 'sent' when their period is over become 'unreachable' (no answer); returns how many."""
    now = now or utcnow()
    periods = session.scalars(select(CareTarget.period).where(CareTarget.status == "sent").distinct())
    ended = [p for p in periods if period_end(p, tz) <= now]
    if not ended:
        return 0
    result = session.execute(
        update(CareTarget)
        .where(CareTarget.status == "sent", CareTarget.period.in_(ended))
        .values(status="unreachable", note=NO_ANSWER_NOTE, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# -- where the questions stand ----------------------------------------------------------------------------

_TARGET: Table = CareTarget.__table__  # type: ignore[assignment]
# A care question out in the conversation: `open_step` reads the newest, the hub's one statement
# (backend.hub.owed) whether there is any; one condition, so the two cannot disagree.
_OPEN_IN_CONVERSATION = (
    _TARGET.c.conversation_id == bindparam("cid"),
    _TARGET.c.status.in_(("sent", "answered")),
)
# Asked on every shipper message (the hub, before Rasa): one indexed Core statement, built once.
_OPEN_TARGET = (
    select(_TARGET.c.id, _TARGET.c.status, _TARGET.c.sent_at, _TARGET.c.answered_at)
    .where(*_OPEN_IN_CONVERSATION)
    .order_by(_TARGET.c.sent_at.desc())
    .limit(1)
)
OPEN_TARGET_HERE: Exists = exists().where(*_OPEN_IN_CONVERSATION)


def open_step(session: Session, conversation_id: str, *, now: datetime | None = None) -> Step | None:
    """The care question this conversation owes an answer to, if any."""
    target = session.connection().execute(_OPEN_TARGET, {"cid": conversation_id}).first()
    if target is None or target.sent_at is None:
        return None
    now = now or utcnow()
    if target.status == "answered" and (
        target.answered_at is None or target.answered_at < now - QUESTION_WINDOW
    ):
        return None
    last = session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.conversation_id == conversation_id,
            AuditEvent.action.in_((ASKED, FINISHED)),
            AuditEvent.at >= target.sent_at,
        )
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).first()
    if last is None or last.action == FINISHED or not last.data or last.data.get("target_id") != target.id:
        return None
    return Step(target.id, str(last.data["step"]), last.at)


def ask(
    session: Session, *, conversation_id: str, target_id: int, step: str, now: datetime | None = None
) -> None:
    """Record that the bot asked `step` of this target's questions in the conversation."""
    record_audit_event(
        session,
        actor=BOT,
        action=ASKED,
        conversation_id=conversation_id,
        data={"target_id": target_id, "step": step},
        at=now,
    )


def finish(session: Session, *, conversation_id: str, target_id: int, now: datetime | None = None) -> None:
    """The questions are over (answered, or the shipper moved on): the next message is the bot's again."""
    record_audit_event(
        session,
        actor=BOT,
        action=FINISHED,
        conversation_id=conversation_id,
        data={"target_id": target_id},
        at=now,
    )


# -- what the script needs to know ---------------------------------------------------------------------


def customer_name(session: Session, target_id: int) -> str:
    target = session.get(CareTarget, target_id)
    customer = session.get(Customer, target.customer_id) if target is not None else None
    return customer.name if customer is not None else ""


def volume_dropped(session: Session, target_id: int) -> bool:
    """Whether the target's customer has an open volume-watch flag (the seed's "why did your volume drop")."""
    target = session.get(CareTarget, target_id)
    if target is None:
        return False
    flag = session.scalars(
        select(VolumeFlag.id)
        .where(VolumeFlag.customer_id == target.customer_id, VolumeFlag.status == "open")
        .limit(1)
    ).first()
    return flag is not None


# -- the follow-up record ---------------------------------------------------------------------------------


def record_for(session: Session, target_id: int) -> FollowUpRecord | None:
    """The one record of a target's answers (written by take_rating)."""
    return session.scalars(
        select(FollowUpRecord)
        .where(FollowUpRecord.target_id == target_id)
        .order_by(FollowUpRecord.id)
        .limit(1)
    ).first()


def take_rating(
    session: Session,
    *,
    target_id: int,
    score: int,
    channel: str,
    language: str | None,
    now: datetime | None = None,
) -> FollowUpRecord:
    """The rating is in: the target is answered (covered for the period) and its record written. A rating
    of 1–2 asks the owner to call (a person follows up an unhappy key customer)."""
    now = now or utcnow()
    target = session.get(CareTarget, target_id)
    assert target is not None
    record = record_for(session, target_id)
    if record is None:
        record = FollowUpRecord(
            customer_id=target.customer_id,
            campaign_id=target.campaign_id,
            target_id=target.id,
            made_at=now,
            made_by=BOT,
            channel=channel if channel in CHAT_CHANNELS else "web",
            language=language,
        )
        session.add(record)
    record.satisfaction = score
    record.next_step = OWNER_CALL_STEP if score <= UNHAPPY_AT_MOST else None
    target.status, target.answered_at, target.updated_at = "answered", now, now
    session.flush()
    return record


def take_text(session: Session, *, target_id: int, step: str, text: str) -> FollowUpRecord | None:
    """A free-text answer on the target's record: the volume question's into volume_reason, the remark into
    suggestions (satisfied) or comment (what fell short)."""
    record = record_for(session, target_id)
    if record is None:
        return None
    answer = text.strip()[:2000]
    if step == VOLUME:
        record.volume_reason = answer
    elif record.satisfaction is not None and record.satisfaction >= 4:
        record.suggestions = answer
    else:
        record.comment = answer
    session.flush()
    return record
