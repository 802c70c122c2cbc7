"""Proactive notices: a scan that changes what a shipper was told becomes one short message to them.

Who hears: every conversation that asked the bot about the waybill in the last NOTICE_INQUIRY_DAYS
days (`shipment_inquiry`, written by the bot's look-up), and the Telegram conversations whose verified
customer owns the shipment. What is worth a notice (`NOTICE_KINDS`): the shipment held (held, customs
hold, missing, pickup missed), late past its promised date (found by the clock, not by a scan), out for
delivery, delivered, returned; at most one notice per shipment and kind, ever (a unique row), so a
replayed or a second identical scan says nothing new. Each notice becomes one delivery per conversation,
in that conversation's language: sent when due, deferred to the end of quiet hours, held for the agent
when a person has the conversation (the agent sends or dismisses it from the console), or stopped when
the shipper said "stop updates".

`scan` and `claim_due` run behind one database lock (an advisory lock on PostgreSQL, the write lock on
SQLite), so several backend processes running the watch at once create and claim every row once.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.db import begin_write, try_job_lock
from backend.i18n import N_, DayAndTime, FullDate, sentences, t
from backend.language import DEFAULT_LANGUAGE
from backend.models import (
    Conversation,
    Notice,
    NoticeCursor,
    NoticeDelivery,
    NoticeOptOut,
    Shipment,
    ShipmentEvent,
    ShipmentInquiry,
    utcnow,
)
from backend.record_words import Place, Signer, Stored

logger = logging.getLogger(__name__)

# A shipment status and the kind of notice it is worth (other statuses are worth none).
KIND_OF_STATUS = {
    "held": "held",
    "customs_hold": "held",
    "missing": "held",
    "pickup_missed": "held",
    "out_for_delivery": "out_for_delivery",
    "delivered": "delivered",
    "returned": "returned",
}
# A shipment in these states has reached its end: its promise can no longer be broken.
FINISHED_STATUSES = ("delivered", "returned")
WATCH_ACTOR = "system:notice_watch"
SUPERSEDED_ACTOR = "system:superseded"
# A conversation's look-up of a waybill is written again only after this long: a status turn is on the
# hot path, and an hour changes nothing for a 14-day window.
INQUIRY_REFRESH = timedelta(hours=1)
# Rows handled per run: a backlog (a bulk import) is worked off over several short transactions.
BATCH = 500
# Scans read again below the cursor on every run. On PostgreSQL a transaction that took an id earlier
# may commit after a later one was read; re-reading is harmless (a notice exists once per kind).
LOOKBACK_IDS = 200
CURSOR = "scans"
# Advisory-lock key of the watch on PostgreSQL ("NO", "TI").
_LOCK_SPACE, _LOCK_KEY = 0x4E4F, 0x5449

STOP_HINT_TEXT = N_('Reply "stop updates" to stop these messages.')
REASON_TEXT = N_("Reason: {reason}.")
LAST_SCAN_TEXT = N_("Last scan: {location}, {when}.")
HELD_TEXT = N_("Update on your shipment {waybill}: it is held at {location} since {when}.")
CUSTOMS_TEXT = N_("Update on your shipment {waybill}: it is held by customs at {location} since {when}.")
MISSING_TEXT = N_(
    "Update on your shipment {waybill}: we have had no scan of it since {location}, {when}, and have "
    "started a trace."
)
PICKUP_MISSED_TEXT = N_(
    "Update on your shipment {waybill}: the pickup booked at {origin} was missed. Reply here and we "
    "will arrange a new pickup."
)
LATE_TEXT = N_(
    "Update on your shipment {waybill}: it was promised for {promised} and has not arrived yet. We are "
    "sorry for the delay."
)
OUT_FOR_DELIVERY_TEXT = N_(
    "Update on your shipment {waybill}: it is out for delivery in {destination} ({when})."
)
DELIVERED_SIGNED_TEXT = N_(
    "Update on your shipment {waybill}: it was delivered on {when} and signed for by {signer}."
)
DELIVERED_TEXT = N_("Update on your shipment {waybill}: it was delivered on {when}.")
RETURNED_TEXT = N_("Update on your shipment {waybill}: it is being returned to the sender.")
STOPPED_TEXT = N_(
    "Done: I won't send you shipment updates any more. You can still ask me about any shipment, and "
    'say "resume updates" if you want them back.'
)
ALREADY_STOPPED_TEXT = N_(
    'You won\'t get shipment updates from me. Say "resume updates" if you want them back.'
)
RESUMED_TEXT = N_(
    "Done: I'll let you know when a shipment you asked me about is held, late, out for delivery, "
    "delivered or returned."
)


# --- quiet hours -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuietHours:
    """A daily span on the carrier's clock when shippers are not disturbed; it may wrap past midnight."""

    start: time
    end: time

    def until(self, now: datetime, tz: ZoneInfo) -> datetime | None:
        """The end of the quiet hours `now` falls in (UTC), or None when `now` is outside them."""
        local = now.astimezone(tz)
        moment = local.time().replace(tzinfo=None)
        if self.start < self.end:
            inside = self.start <= moment < self.end
        else:
            inside = moment >= self.start or moment < self.end
        if not inside:
            return None
        end = datetime.combine(local.date(), self.end, tzinfo=tz)
        if end <= local:
            end = datetime.combine(local.date() + timedelta(days=1), self.end, tzinfo=tz)
        return end.astimezone(timezone.utc)


_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def parse_quiet_hours(value: str) -> QuietHours | None:
    """QUIET_HOURS as a span ("21:00-08:00") or None ("off"); ValueError with one clear line otherwise."""
    if value.strip().lower() in ("off", "none", ""):
        return None
    match = _SPAN.match(value)
    problem = f'QUIET_HOURS must be "HH:MM-HH:MM" (like 21:00-08:00) or "off"; got {value!r}'
    if match is None:
        raise ValueError(problem)
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise ValueError(problem)
    start, end = time(h1, m1), time(h2, m2)
    if start == end:
        raise ValueError(f"QUIET_HOURS starts and ends at the same time ({value!r}): use off instead")
    return QuietHours(start, end)


@dataclass(frozen=True)
class Policy:
    """The settings a run of the watch follows."""

    tz: ZoneInfo
    quiet: QuietHours | None
    inquiry_days: int = 14

    @classmethod
    def from_settings(cls, settings: object) -> Policy:
        return cls(
            tz=settings.tz,  # type: ignore[attr-defined]
            quiet=parse_quiet_hours(settings.quiet_hours),  # type: ignore[attr-defined]
            inquiry_days=settings.notice_inquiry_days,  # type: ignore[attr-defined]
        )


# --- who asked, who stopped ------------------------------------------------------------------------


def record_inquiry(
    session: Session, *, conversation_id: str, waybill: str, now: datetime | None = None
) -> bool:
    """Remember that this conversation asked about `waybill`; True when a row was written.

    Cheap on the hot path: one read, and a write at most once an hour per (conversation, waybill). A
    conversation the hub does not know (Rasa's REST channel, a practice run) is not recorded.
    """
    now = now or utcnow()
    row = session.scalars(
        select(ShipmentInquiry).where(
            ShipmentInquiry.conversation_id == conversation_id, ShipmentInquiry.waybill == waybill
        )
    ).one_or_none()
    if row is not None:
        if now - row.last_asked_at < INQUIRY_REFRESH:
            return False
        row.last_asked_at = now
        return True
    if session.get(Conversation, conversation_id) is None:
        return False
    try:
        # A savepoint: the same question answered twice at once inserts once.
        with session.begin_nested():
            session.add(ShipmentInquiry(conversation_id=conversation_id, waybill=waybill, last_asked_at=now))
    except IntegrityError:
        return False
    return True


def stop_updates(session: Session, *, conversation_id: str, now: datetime | None = None) -> bool:
    """The shipper opts out: no notice reaches this conversation, waiting ones included; False when they
    had already opted out."""
    now = now or utcnow()
    if session.get(NoticeOptOut, conversation_id) is not None:
        return False
    if session.get(Conversation, conversation_id) is None:
        # Not a hub conversation (a practice run): there is nothing it could receive.
        return True
    try:
        with session.begin_nested():
            session.add(NoticeOptOut(conversation_id=conversation_id, created_at=now))
    except IntegrityError:
        return False
    session.execute(
        update(NoticeDelivery)
        .where(
            NoticeDelivery.conversation_id == conversation_id,
            NoticeDelivery.status.in_(("pending", "deferred", "held_for_agent")),
        )
        .values(status="stopped", decided_at=now, decided_by="shipper")
    )
    return True


def resume_updates(session: Session, *, conversation_id: str) -> bool:
    """The shipper wants notices again; False when they had not opted out."""
    result = session.execute(delete(NoticeOptOut).where(NoticeOptOut.conversation_id == conversation_id))
    return bool(getattr(result, "rowcount", 0))


def has_stopped(session: Session, conversation_id: str) -> bool:
    """Whether the shipper of this conversation said "stop updates"."""
    return session.get(NoticeOptOut, conversation_id) is not None


def recipients(
    session: Session, shipment: Shipment, *, now: datetime, days: int, asked_before: datetime | None = None
) -> list[str]:
    """The conversations that hear about `shipment`: asked within `days` (and before `asked_before`, when
    given), or the owner's verified Telegram."""
    asked = select(ShipmentInquiry.conversation_id).where(
        ShipmentInquiry.waybill == shipment.waybill,
        ShipmentInquiry.last_asked_at >= now - timedelta(days=days),
    )
    if asked_before is not None:
        asked = asked.where(ShipmentInquiry.last_asked_at < asked_before)
    owner = select(Conversation.id).where(
        Conversation.channel == "telegram", Conversation.verified_customer_id == shipment.customer_id
    )
    found = set(session.scalars(asked)) | set(session.scalars(owner))
    return sorted(found)


# --- what a notice says ----------------------------------------------------------------------------


def notice_text(
    kind: str, shipment: Shipment, event: ShipmentEvent | None, language: str, tz: ZoneInfo
) -> str:
    """The notice in `language`, from the shipment's facts, ending with how to stop them."""
    waybill = shipment.waybill
    where = Place(event.location) if event is not None else ""
    when = DayAndTime(event.occurred_at, tz) if event is not None else ""
    reason = shipment.exception_reason or shipment.delay_reason
    parts: list[str] = []
    status = shipment.status
    if kind == "held":
        if status == "missing":
            parts.append(t(language, MISSING_TEXT, waybill=waybill, location=where, when=when))
        elif status == "pickup_missed":
            parts.append(t(language, PICKUP_MISSED_TEXT, waybill=waybill, origin=Place(shipment.origin)))
        elif status == "customs_hold":
            parts.append(t(language, CUSTOMS_TEXT, waybill=waybill, location=where, when=when))
        else:
            parts.append(t(language, HELD_TEXT, waybill=waybill, location=where, when=when))
        if reason and status != "missing":
            parts.append(t(language, REASON_TEXT, reason=Stored(reason)))
    elif kind == "late":
        promised = FullDate(shipment.promised_date) if shipment.promised_date else ""
        parts.append(t(language, LATE_TEXT, waybill=waybill, promised=promised))
        if shipment.delay_reason:
            parts.append(t(language, REASON_TEXT, reason=Stored(shipment.delay_reason)))
        last = _last_scan(shipment)
        if last is not None:
            parts.append(
                t(
                    language,
                    LAST_SCAN_TEXT,
                    location=Place(last.location),
                    when=DayAndTime(last.occurred_at, tz),
                )
            )
    elif kind == "out_for_delivery":
        parts.append(
            t(
                language,
                OUT_FOR_DELIVERY_TEXT,
                waybill=waybill,
                destination=Place(shipment.destination),
                when=when,
            )
        )
    elif kind == "delivered":
        moment = shipment.delivered_at or (event.occurred_at if event is not None else None)
        delivered = DayAndTime(moment, tz) if moment is not None else ""
        if shipment.signed_by:
            parts.append(
                t(
                    language,
                    DELIVERED_SIGNED_TEXT,
                    waybill=waybill,
                    when=delivered,
                    signer=Signer(shipment.signed_by),
                )
            )
        else:
            parts.append(t(language, DELIVERED_TEXT, waybill=waybill, when=delivered))
    elif kind == "returned":
        parts.append(t(language, RETURNED_TEXT, waybill=waybill))
        if reason:
            parts.append(t(language, REASON_TEXT, reason=Stored(reason)))
    else:
        raise ValueError(f"not a notice kind: {kind!r}")
    parts.append(t(language, STOP_HINT_TEXT))
    return sentences(language, parts)


def _last_scan(shipment: Shipment) -> ShipmentEvent | None:
    events = sorted(shipment.events, key=lambda e: (e.occurred_at, e.id))
    return events[-1] if events else None


# --- the watch's work ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScanRun:
    """What one run of `scan` did."""

    ran: bool
    notices: int = 0
    deliveries: int = 0
    # The conversations where a notice now waits for the agent (their console pages hear of it live).
    held_for: tuple[str, ...] = ()


@dataclass(frozen=True)
class Claimed:
    """A delivery marked sent, to be pushed into its conversation now."""

    delivery_id: int
    conversation_id: str
    text: str


def lock(session: Session) -> bool:
    """Take the watch's lock until the transaction ends; False when another process holds it."""
    return try_job_lock(session, _LOCK_SPACE, _LOCK_KEY)


def _cursor(session: Session, now: datetime) -> NoticeCursor:
    cursor = session.get(NoticeCursor, CURSOR)
    if cursor is None:
        # The first run starts from now: scans stored before notices existed were never promised to anyone.
        start = session.scalar(select(func.max(ShipmentEvent.id))) or 0
        cursor = NoticeCursor(name=CURSOR, last_event_id=start, updated_at=now)
        session.add(cursor)
        session.flush()
    return cursor


def _opted_out(session: Session, conversation_ids: Iterable[str]) -> set[str]:
    ids = list(conversation_ids)
    if not ids:
        return set()
    return set(
        session.scalars(select(NoticeOptOut.conversation_id).where(NoticeOptOut.conversation_id.in_(ids)))
    )


def _decide(
    conversation: Conversation, stopped: bool, *, now: datetime, policy: Policy
) -> tuple[str, datetime]:
    """Where a delivery for `conversation` starts: stopped, held for the agent, deferred or pending."""
    if stopped:
        return "stopped", now
    if conversation.state != "bot":
        return "held_for_agent", now
    until = policy.quiet.until(now, policy.tz) if policy.quiet else None
    if until is not None:
        return "deferred", until
    return "pending", now


def _add_notice(
    session: Session,
    shipment: Shipment,
    kind: str,
    event: ShipmentEvent | None,
    *,
    now: datetime,
    policy: Policy,
    held: list[str],
) -> int:
    """The notice of `kind` for `shipment` and one delivery per recipient; how many deliveries (the
    conversations where it waits for the agent are added to `held`)."""
    notice = Notice(
        shipment_id=shipment.id, kind=kind, shipment_event_id=event.id if event else None, created_at=now
    )
    session.add(notice)
    session.flush()
    asked_before = None
    if kind == "late" and shipment.promised_date is not None:
        # Only those who asked while it was still on time: whoever asked since was told it is late.
        after = shipment.promised_date + timedelta(days=1)
        asked_before = datetime.combine(after, time(0), tzinfo=policy.tz)
    cids = recipients(session, shipment, now=now, days=policy.inquiry_days, asked_before=asked_before)
    stopped = _opted_out(session, cids)
    count = 0
    for cid in cids:
        conversation = session.get(Conversation, cid)
        if conversation is None:
            continue
        status, due = _decide(conversation, cid in stopped, now=now, policy=policy)
        if status == "held_for_agent":
            held.append(cid)
        language = conversation.language or DEFAULT_LANGUAGE
        session.add(
            NoticeDelivery(
                notice_id=notice.id,
                conversation_id=cid,
                status=status,
                text=notice_text(kind, shipment, event, language, policy.tz),
                due_at=due,
                created_at=now,
                decided_at=now if status == "stopped" else None,
                decided_by="shipper" if status == "stopped" else None,
            )
        )
        count += 1
    logger.info("notice %s for %s: %d conversation(s)", kind, shipment.waybill, count)
    return count


def _existing_kinds(session: Session, shipment_ids: Iterable[int]) -> set[tuple[int, str]]:
    ids = list(set(shipment_ids))
    if not ids:
        return set()
    rows = session.execute(select(Notice.shipment_id, Notice.kind).where(Notice.shipment_id.in_(ids)))
    return {(row[0], row[1]) for row in rows}


def _from_scans(session: Session, *, now: datetime, policy: Policy, held: list[str]) -> tuple[int, int]:
    cursor = _cursor(session, now)
    events = list(
        session.scalars(
            select(ShipmentEvent)
            .where(ShipmentEvent.id > cursor.last_event_id - LOOKBACK_IDS, ShipmentEvent.status.is_not(None))
            .order_by(ShipmentEvent.id)
            .limit(BATCH + LOOKBACK_IDS)
        )
    )
    newest = session.scalar(select(func.max(ShipmentEvent.id)).where(ShipmentEvent.id > cursor.last_event_id))
    done = _existing_kinds(session, (e.shipment_id for e in events))
    notices = deliveries = 0
    for event in events:
        kind = KIND_OF_STATUS.get(event.status or "")
        if kind is None or (event.shipment_id, kind) in done:
            continue
        shipment = session.get(Shipment, event.shipment_id)
        # Only a scan whose status is the shipment's now: an old scan that arrived late tells nothing new.
        if shipment is None or KIND_OF_STATUS.get(shipment.status) != kind:
            continue
        done.add((shipment.id, kind))
        notices += 1
        deliveries += _add_notice(session, shipment, kind, event, now=now, policy=policy, held=held)
    if events and len(events) >= BATCH + LOOKBACK_IDS:
        # A backlog: move only as far as read, the rest comes next run.
        newest = events[-1].id
    if newest is not None and newest > cursor.last_event_id:
        cursor.last_event_id = newest
        cursor.updated_at = now
    return notices, deliveries


def _late(session: Session, *, now: datetime, policy: Policy, held: list[str]) -> tuple[int, int]:
    today = now.astimezone(policy.tz).date()
    noticed = exists().where(Notice.shipment_id == Shipment.id, Notice.kind == "late")
    late = list(
        session.scalars(
            select(Shipment)
            .where(
                Shipment.promised_date.is_not(None),
                Shipment.promised_date < today,
                Shipment.status.not_in(FINISHED_STATUSES),
                ~noticed,
            )
            .order_by(Shipment.id)
            .limit(BATCH)
        )
    )
    deliveries = sum(_add_notice(session, s, "late", None, now=now, policy=policy, held=held) for s in late)
    return len(late), deliveries


def scan(session: Session, *, policy: Policy, now: datetime | None = None) -> ScanRun:
    """Turn new scans and broken promises into notices and their deliveries; the caller commits."""
    now = now or utcnow()
    if not lock(session):
        return ScanRun(ran=False)
    held: list[str] = []
    notices, deliveries = _from_scans(session, now=now, policy=policy, held=held)
    late_notices, late_deliveries = _late(session, now=now, policy=policy, held=held)
    session.flush()
    return ScanRun(
        ran=True,
        notices=notices + late_notices,
        deliveries=deliveries + late_deliveries,
        held_for=tuple(dict.fromkeys(held)),
    )


def claim_due(session: Session, *, policy: Policy, now: datetime | None = None) -> list[Claimed]:
    """Mark the deliveries due now as sent and return them to push; the caller commits, then pushes.

    Marked before they are sent, on purpose: a process that dies between the commit and the push loses
    that notice rather than sending it twice. A notice is a courtesy; a duplicate is a nuisance, so at
    most once is right here. Each is checked again first: an opt-out, a person taking the conversation
    or quiet hours since it was written change where it goes.
    """
    now = now or utcnow()
    if not lock(session):
        return []
    due = list(
        session.scalars(
            select(NoticeDelivery)
            .where(NoticeDelivery.status.in_(("pending", "deferred")), NoticeDelivery.due_at <= now)
            .order_by(NoticeDelivery.id)
            .limit(BATCH)
        )
    )
    if not due:
        return []
    stopped = _opted_out(session, {d.conversation_id for d in due})
    # Several notices of one shipment due at once for one conversation (the night's out-for-delivery and
    # delivered): only the latest is worth saying.
    latest: dict[tuple[str, int], int] = {}
    for delivery in due:
        key = (delivery.conversation_id, delivery.notice.shipment_id)
        latest[key] = max(latest.get(key, 0), delivery.id)
    claimed: list[Claimed] = []
    for delivery in due:
        conversation = session.get(Conversation, delivery.conversation_id)
        if conversation is None:
            continue
        if latest[(delivery.conversation_id, delivery.notice.shipment_id)] != delivery.id:
            delivery.status, delivery.decided_at, delivery.decided_by = "dismissed", now, SUPERSEDED_ACTOR
            continue
        # A deferred one is due at the end of the quiet hours it was deferred over: not checked again.
        rule = Policy(policy.tz, None, policy.inquiry_days) if delivery.status == "deferred" else policy
        status, due_at = _decide(conversation, delivery.conversation_id in stopped, now=now, policy=rule)
        if status != "pending":
            delivery.status, delivery.due_at = status, due_at
            if status == "stopped":
                delivery.decided_at, delivery.decided_by = now, "shipper"
            continue
        delivery.status, delivery.decided_at, delivery.decided_by = "sent", now, WATCH_ACTOR
        claimed.append(Claimed(delivery.id, delivery.conversation_id, delivery.text))
    session.flush()
    return claimed


def mark_unsent(session: Session, delivery_id: int, status: str, *, now: datetime | None = None) -> None:
    """A claimed delivery was not said after all: `failed` (its push failed; not tried again) or
    `held_for_agent` (a person took the conversation since the claim: it waits for them)."""
    if status not in ("failed", "held_for_agent"):
        raise ValueError(f"not a status for an unsent notice: {status}")
    decided = (now or utcnow()) if status == "failed" else None
    session.execute(
        update(NoticeDelivery)
        .where(NoticeDelivery.id == delivery_id)
        .values(status=status, decided_at=decided, decided_by=None)
    )


# --- the console: notices waiting for the agent ----------------------------------------------------


@dataclass(frozen=True)
class WaitingNotice:
    """A notice held for the agent of a conversation."""

    delivery_id: int
    waybill: str
    kind: str
    text: str
    created_at: datetime


def waiting_for_agent(session: Session, conversation_id: str) -> list[WaitingNotice]:
    """The notices this conversation's agent has not sent or dismissed yet, oldest first."""
    rows = session.execute(
        select(NoticeDelivery, Notice.kind, Shipment.waybill)
        .join(Notice, Notice.id == NoticeDelivery.notice_id)
        .join(Shipment, Shipment.id == Notice.shipment_id)
        .where(NoticeDelivery.conversation_id == conversation_id, NoticeDelivery.status == "held_for_agent")
        .order_by(NoticeDelivery.id)
    )
    return [
        WaitingNotice(
            delivery_id=delivery.id,
            waybill=waybill,
            kind=kind,
            text=delivery.text,
            created_at=delivery.created_at,
        )
        for delivery, kind, waybill in rows
    ]


def decide_waiting(
    session: Session,
    *,
    conversation_id: str,
    delivery_id: int,
    send: bool,
    agent: str,
    now: datetime | None = None,
) -> str | None:
    """The agent sends (True) or dismisses a held notice; its text when it is to be sent now, else None.

    Only a notice still held changes: a second click, or another agent's, does nothing.
    """
    now = now or utcnow()
    begin_write(session)
    result = session.execute(
        update(NoticeDelivery)
        .where(
            and_(
                NoticeDelivery.id == delivery_id,
                NoticeDelivery.conversation_id == conversation_id,
                NoticeDelivery.status == "held_for_agent",
            )
        )
        .values(status="sent" if send else "dismissed", decided_at=now, decided_by=agent)
    )
    if not getattr(result, "rowcount", 0) or not send:
        return None
    return session.scalar(select(NoticeDelivery.text).where(NoticeDelivery.id == delivery_id))


def deliveries_for(session: Session, conversation_id: str) -> list[NoticeDelivery]:
    """Every notice delivery of a conversation, oldest first (tests and the console's history)."""
    return list(
        session.scalars(
            select(NoticeDelivery)
            .where(NoticeDelivery.conversation_id == conversation_id)
            .order_by(NoticeDelivery.id)
        )
    )
