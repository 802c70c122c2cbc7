"""Care campaigns (回访, seed 001 2.1–2.4): who is followed up each period, the phone call lists, coverage.

A supervisor defines a campaign: its audience (customer classes, one owner, customers the volume watch
flagged, customers nobody followed up with for N days), its period (week, month, quarter on the carrier's
clock), its channel (message: the bot sends the script, the message side's business; phone:
each owner's call list in the console) and its dates. Each period the audience is drawn afresh into
`care_target` rows, one per customer (unique per campaign, customer and period, so the job on several
processes and the CLI add nothing twice); the customer's owner then is the one who calls.

Coverage: A-class and large-volume customers (CARE_LARGE_VOLUME_SHIPMENTS shipments in the four complete
ISO weeks before, as the volume watch counts) are *required*: the seed asks for 100% of them each
period. They are on the list whenever the campaign's classes and owner include them, even when the
volume-drop or not-contacted filters would leave them out; a period is covered only when every required
target is answered.

Every call is a follow-up record (回访记录表); a call nobody answered leaves the target unreachable, to
be called again within the period.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from backend import clock
from backend.config import get_settings
from backend.db import begin_write, session_scope
from backend.errors import Conflict, InvalidInput, NotAllowed, NotFound
from backend.i18n import N_
from backend.models import (
    CARE_CHANNELS,
    CARE_PERIODS,
    Agent,
    CareCampaign,
    CareTarget,
    Customer,
    FollowUpRecord,
    Shipment,
    VolumeFlag,
)
from backend.services.audit import Person, actor_of, record_audit_event
from backend.services.care_messages import NO_CHANNEL_NOTE
from backend.services.notices import QuietHours
from backend.services.periodic import PeriodicCheck, claim_period
from backend.services.volume_watch import Week

logger = logging.getLogger(__name__)

CUSTOMER_CLASSES = ("A", "B", "C")
DEFINED = "care_campaign_defined"
CLOSED = "care_campaign_closed"
CALL_RECORDED = "care_call_recorded"
SKIPPED = "care_target_skipped"
JOB_NAME = "care_open"
JOB_ACTOR = "system:care_open"
CLI_ACTOR = "cli:care-open"
# The targets an agent may still call this period.
CALLABLE = ("due", "unreachable")
# Weeks the large-volume count looks back on (complete ISO weeks, as the volume watch counts them).
LARGE_VOLUME_WEEKS = 4
TEXT_MAX = 2000
NAME_MAX = 200
MONTH = re.compile(r"(\d{4})-(\d{2})")
QUARTER = re.compile(r"(\d{4})-Q([1-4])")


class CareRefused(InvalidInput, ValueError):
    """A campaign, call or skip that cannot be done as asked; its sentence goes back on the form."""


# -- periods on the carrier's clock -----------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """One period of a campaign: its key ("2026-W49", "2026-12", "2026-Q4") and its days (`end` excluded)."""

    kind: str
    key: str
    first: date
    end: date

    def start_at(self, tz: ZoneInfo) -> datetime:
        """Its first day 00:00 on the carrier's clock."""
        return datetime.combine(self.first, time(0), tzinfo=tz)

    def end_at(self, tz: ZoneInfo) -> datetime:
        """The day after its last, 00:00 on the carrier's clock."""
        return datetime.combine(self.end, time(0), tzinfo=tz)

    @property
    def last(self) -> date:
        return self.end - timedelta(days=1)


def _month_start(year: int, month: int) -> date:
    return date(year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


def period_on(kind: str, day: date) -> Period:
    """The `kind` period (week, month, quarter) `day` falls in."""
    if kind == "week":
        year, number, _ = day.isocalendar()
        week = Week(year, number)
        return Period(kind, week.key, week.monday, week.monday + timedelta(days=7))
    if kind == "month":
        return Period(
            kind, f"{day.year}-{day.month:02d}", day.replace(day=1), _month_start(day.year, day.month + 1)
        )
    if kind == "quarter":
        quarter = (day.month - 1) // 3 + 1
        first = date(day.year, 3 * quarter - 2, 1)
        return Period(kind, f"{day.year}-Q{quarter}", first, _month_start(day.year, 3 * quarter + 1))
    raise CareRefused(N_("Choose a period: week, month or quarter."))


def parse_period(kind: str, key: str) -> Period:
    """A period key of `kind` as a Period; CareRefused when it is not written like the campaign's periods."""
    try:
        if kind == "week":
            week = Week.parse(key)
            return period_on(kind, week.monday)
        pattern = MONTH if kind == "month" else QUARTER
        match = pattern.fullmatch(key.strip())
        if match is not None:
            year, number = int(match[1]), int(match[2])
            month = number if kind == "month" else 3 * number - 2
            if 1 <= month <= 12:
                return period_on(kind, date(year, month, 1))
    except ValueError:
        pass
    raise CareRefused(N_("The period {period} is not one of this campaign's periods."), period=key)


def period_of(campaign: CareCampaign, moment: datetime, tz: ZoneInfo) -> Period:
    """The campaign's period `moment` falls in on the carrier's clock."""
    return period_on(campaign.period, moment.astimezone(tz).date())


def is_running(campaign: CareCampaign, day: date) -> bool:
    """Active and within its dates on `day`: its periods are drawn and called."""
    return (
        campaign.status == "active"
        and campaign.starts_on <= day
        and (campaign.ends_on is None or day <= campaign.ends_on)
    )


# -- defining and closing ----------------------------------------------------------------------------------


def _classes(classes: Sequence[str] | str) -> str:
    wanted = [c.strip().upper() for c in (classes.split(",") if isinstance(classes, str) else classes)]
    wanted = [c for c in wanted if c]
    for cls in wanted:
        if cls not in CUSTOMER_CLASSES:
            raise CareRefused(N_("There is no customer class {value}: choose A, B or C."), value=cls)
    return ",".join(sorted(set(wanted)))


def define_campaign(
    session: Session,
    *,
    actor: str,
    name: str,
    channel: str,
    period: str,
    classes: Sequence[str] | str = (),
    owner: str | None = None,
    volume_drop: bool = False,
    not_contacted_days: int | None = None,
    starts_on: date,
    ends_on: date | None = None,
) -> CareCampaign:
    """A new active campaign, checked (CareRefused with the reason) and audited. The caller commits."""
    name = name.strip()
    if not name:
        raise CareRefused(N_("Give the campaign a name."))
    if len(name) > NAME_MAX:
        raise CareRefused(N_("The name is too long (at most {limit} characters)."), limit=NAME_MAX)
    if channel not in CARE_CHANNELS:
        raise CareRefused(N_("Choose how customers are followed up: by message or by phone."))
    if period not in CARE_PERIODS:
        raise CareRefused(N_("Choose a period: week, month or quarter."))
    chosen = _classes(classes)
    owner = (owner or "").strip() or None
    if owner is not None:
        found = session.scalars(select(Agent).where(Agent.username == owner)).one_or_none()
        if found is None or not found.active or found.role != "agent":
            raise CareRefused(N_("{owner} is not an active agent: only agents own customers."), owner=owner)
    if not_contacted_days is not None and not 1 <= not_contacted_days <= 3650:
        raise CareRefused(N_("Not contacted for how many days: a whole number from 1 to 3650."))
    if ends_on is not None and ends_on < starts_on:
        raise CareRefused(N_("The campaign cannot end before it starts."))
    campaign = CareCampaign(
        name=name,
        channel=channel,
        period=period,
        classes=chosen,
        owner=owner,
        volume_drop=volume_drop,
        not_contacted_days=not_contacted_days,
        starts_on=starts_on,
        ends_on=ends_on,
        status="active",
        created_by=actor,
    )
    session.add(campaign)
    session.flush()
    record_audit_event(
        session, actor=actor, action=DEFINED, data={"campaign": campaign.id, **describe(campaign)}
    )
    return campaign


def describe(campaign: CareCampaign) -> dict[str, Any]:
    """The campaign's definition, as the audit keeps it."""
    return {
        "name": campaign.name,
        "channel": campaign.channel,
        "period": campaign.period,
        "classes": campaign.classes,
        "owner": campaign.owner,
        "volume_drop": campaign.volume_drop,
        "not_contacted_days": campaign.not_contacted_days,
        "starts_on": campaign.starts_on,
        "ends_on": campaign.ends_on,
    }


def get_campaign(session: Session, campaign_id: int) -> CareCampaign:
    campaign = session.get(CareCampaign, campaign_id)
    if campaign is None:
        raise NotFound(N_("No care campaign {campaign}."), campaign=campaign_id)
    return campaign


def close_campaign(
    session: Session, campaign_id: int, *, actor: str, now: datetime | None = None
) -> CareCampaign:
    """Close a campaign: no new periods, no more calls; audited."""
    campaign = get_campaign(session, campaign_id)
    if campaign.status == "closed":
        raise Conflict(N_("{who} closed this campaign already."), who=campaign.closed_by or "-")
    campaign.status = "closed"
    campaign.closed_by = actor
    campaign.closed_at = now or clock.utcnow()
    session.flush()
    record_audit_event(
        session, actor=actor, action=CLOSED, data={"campaign": campaign.id, "name": campaign.name}
    )
    return campaign


# -- the audience and the period's list ---------------------------------------------------------------------


def last_contacts(session: Session) -> Any:
    """A subquery: each customer's newest follow-up (reached or not)."""
    return (
        select(FollowUpRecord.customer_id, func.max(FollowUpRecord.made_at).label("last_at"))
        .group_by(FollowUpRecord.customer_id)
        .subquery()
    )


def _in_scope(campaign: CareCampaign) -> list[Any]:
    """The class and owner filters: who the campaign is about at all."""
    conditions: list[Any] = []
    if campaign.classes:
        conditions.append(Customer.customer_class.in_(campaign.classes.split(",")))
    if campaign.owner:
        conditions.append(Customer.owner == campaign.owner)
    return conditions


def select_audience(session: Session, campaign: CareCampaign, now: datetime) -> list[Customer]:
    """The customers matching every filter the campaign sets, by id."""
    stmt = select(Customer).where(*_in_scope(campaign))
    if campaign.volume_drop:
        stmt = stmt.where(
            select(VolumeFlag.id)
            .where(VolumeFlag.customer_id == Customer.id, VolumeFlag.status == "open")
            .exists()
        )
    if campaign.not_contacted_days:
        last = last_contacts(session)
        cutoff = now - timedelta(days=campaign.not_contacted_days)
        stmt = stmt.outerjoin(last, last.c.customer_id == Customer.id).where(
            (last.c.last_at.is_(None)) | (last.c.last_at < cutoff)
        )
    return list(session.scalars(stmt.order_by(Customer.id)))


def large_volumes(session: Session, now: datetime, tz: ZoneInfo, *, threshold: int) -> set[str]:
    """Customers with at least `threshold` shipments in the LARGE_VOLUME_WEEKS complete ISO weeks before
    the week `now` falls in."""
    this_week = Week.of(now, tz)
    since = this_week.shift(-LARGE_VOLUME_WEEKS).start(tz)
    stmt = (
        select(Shipment.customer_id)
        .where(Shipment.created_at >= since, Shipment.created_at < this_week.start(tz))
        .group_by(Shipment.customer_id)
        .having(func.count(Shipment.id) >= threshold)
    )
    return set(session.scalars(stmt))


def is_required(customer: Customer, large: set[str]) -> bool:
    """The seed's 100%: A-class and large-volume customers."""
    return customer.customer_class == "A" or customer.id in large


@dataclass(frozen=True)
class Opened:
    """What opening a period did: the targets it added (customer ids) and how many were there already."""

    campaign_id: int
    period: str
    added: list[str] = field(default_factory=list)
    present: int = 0


def open_period(
    session: Session,
    campaign: CareCampaign,
    now: datetime,
    *,
    tz: ZoneInfo,
    large_volume: int,
    dry_run: bool = False,
) -> Opened:
    """Draw the period `now` falls in: a due target per audience customer (and per required customer in
    the campaign's classes and owner) not on the list yet. Safe to repeat and to race: the unique
    (campaign, customer, period) key and a savepoint per row. The caller commits."""
    if not dry_run:
        # SQLite: hold the write lock from the first read, so another process's list cannot slip in between.
        begin_write(session)
    period = period_of(campaign, now, tz)
    large = large_volumes(session, now, tz, threshold=large_volume)
    chosen = {c.id: c for c in select_audience(session, campaign, now)}
    for customer in session.scalars(select(Customer).where(*_in_scope(campaign))):
        if customer.id not in chosen and is_required(customer, large):
            chosen[customer.id] = customer
    present = set(
        session.scalars(
            select(CareTarget.customer_id).where(
                CareTarget.campaign_id == campaign.id, CareTarget.period == period.key
            )
        )
    )
    added: list[str] = []
    for cid in sorted(chosen):
        if cid in present:
            continue
        if dry_run:
            added.append(cid)
            continue
        customer = chosen[cid]
        try:
            with session.begin_nested():
                session.add(
                    CareTarget(
                        campaign_id=campaign.id,
                        customer_id=cid,
                        period=period.key,
                        status="due",
                        agent=customer.owner,
                        required=is_required(customer, large),
                        created_at=now,
                        updated_at=now,
                    )
                )
        except IntegrityError:
            continue  # another process drew the same customer a moment ago
        added.append(cid)
    return Opened(campaign.id, period.key, added, len(present))


# -- calls ------------------------------------------------------------------------------------------------


def _clean(value: str | None) -> str | None:
    text = (value or "").strip()
    if len(text) > TEXT_MAX:
        raise CareRefused(N_("A text is too long (at most {limit} characters)."), limit=TEXT_MAX)
    return text or None


def _callable_target(
    session: Session, target_id: int, agent: Person, now: datetime, tz: ZoneInfo
) -> tuple[CareTarget, CareCampaign]:
    """The target when `agent` may act on it now: theirs (or a supervisor), running campaign, this period."""
    target = session.get(CareTarget, target_id, with_for_update=True)
    if target is None:
        raise NotFound(N_("No call list entry {target}."), target=target_id)
    if agent.role != "supervisor" and target.agent != agent.username:
        raise NotAllowed(N_("This customer is on another agent's call list."))
    campaign = target.campaign
    if campaign.status != "active":
        raise CareRefused(N_("The campaign is closed: no more calls are recorded for it."))
    if target.period != period_of(campaign, now, tz).key:
        raise CareRefused(
            N_("The period {period} is over: record calls for the current period."), period=target.period
        )
    return target, campaign


def record_follow_up(
    session: Session,
    *,
    customer_id: str,
    made_by: str,
    channel: str,
    reached: bool,
    satisfaction: int | None = None,
    comment: str | None = None,
    suggestions: str | None = None,
    volume_reason: str | None = None,
    plans: str | None = None,
    next_step: str | None = None,
    language: str | None = None,
    campaign_id: int | None = None,
    target_id: int | None = None,
    now: datetime | None = None,
) -> FollowUpRecord:
    """One entry of the follow-up record (回访记录表); a call nobody answered keeps only its comment."""
    if satisfaction is not None and not 1 <= satisfaction <= 5:
        raise CareRefused(N_("Satisfaction is 1 (very unhappy) to 5 (very satisfied)."))
    record = FollowUpRecord(
        customer_id=customer_id,
        campaign_id=campaign_id,
        target_id=target_id,
        made_at=now or clock.utcnow(),
        made_by=made_by,
        channel=channel,
        reached=reached,
        satisfaction=satisfaction if reached else None,
        comment=_clean(comment),
        suggestions=_clean(suggestions) if reached else None,
        volume_reason=_clean(volume_reason) if reached else None,
        plans=_clean(plans) if reached else None,
        next_step=_clean(next_step),
        language=language,
    )
    session.add(record)
    session.flush()
    return record


def record_call(
    session: Session,
    *,
    target_id: int,
    agent: Person,
    reached: bool,
    satisfaction: int | None,
    language: str | None = None,
    tz: ZoneInfo | None = None,
    now: datetime | None = None,
    **notes: str | None,
) -> FollowUpRecord:
    """A phone call's result: a follow-up record, the target answered (reached) or unreachable (to call
    again within the period); audited. Only the target's agent or a supervisor records it.

    `notes` are what the agent wrote, as record_follow_up names them: comment, suggestions,
    volume_reason, plans, next_step."""
    now = now or clock.utcnow()
    tz = tz or get_settings().tz
    target, campaign = _callable_target(session, target_id, agent, now, tz)
    if target.status == "answered":
        raise Conflict(N_("This customer was reached already this period."))
    if reached and satisfaction is None:
        raise CareRefused(N_("Say how satisfied the customer is (1 to 5)."))
    record = record_follow_up(
        session,
        customer_id=target.customer_id,
        made_by=agent.username,
        channel="phone",
        reached=reached,
        satisfaction=satisfaction,
        language=language,
        campaign_id=campaign.id,
        target_id=target.id,
        now=now,
        **notes,
    )
    target.status = "answered" if reached else "unreachable"
    target.answered_at = now if reached else None
    target.note = None if reached else record.comment
    target.updated_at = now
    # The same customer's message follow-ups the bot could not send (no chat) waited for this call.
    also = _answered_by_the_call(session, target, now, tz) if reached else []
    session.flush()
    record_audit_event(
        session,
        actor=actor_of(agent),
        action=CALL_RECORDED,
        data={
            "campaign": campaign.id,
            "target": target.id,
            "customer": target.customer_id,
            "period": target.period,
            "reached": reached,
            "satisfaction": record.satisfaction,
            "record": record.id,
            "also_answered": also,
        },
        at=now,
    )
    return record


def _waiting_for_a_call(session: Session, customer_id: str, now: datetime, tz: ZoneInfo) -> list[CareTarget]:
    """The customer's message-campaign entries of running periods that the bot had no chat for."""
    today = now.astimezone(tz).date()
    waiting = session.scalars(
        select(CareTarget)
        .join(CareCampaign, CareCampaign.id == CareTarget.campaign_id)
        .where(
            CareTarget.customer_id == customer_id,
            CareTarget.status == "due",
            CareTarget.note == NO_CHANNEL_NOTE,
            CareCampaign.channel == "message",
            CareCampaign.status == "active",
        )
    )
    return [
        t for t in waiting if is_running(t.campaign, today) and t.period == period_of(t.campaign, now, tz).key
    ]


def _answered_by_the_call(session: Session, called: CareTarget, now: datetime, tz: ZoneInfo) -> list[int]:
    answered = [t for t in _waiting_for_a_call(session, called.customer_id, now, tz) if t.id != called.id]
    for target in answered:
        target.status, target.answered_at, target.note, target.updated_at = "answered", now, None, now
    return [t.id for t in answered]


def skip_target(
    session: Session,
    *,
    target_id: int,
    agent: Person,
    reason: str,
    tz: ZoneInfo | None = None,
    now: datetime | None = None,
) -> CareTarget:
    """Leave a customer out of this period's calls, with why (a required one still counts as missing)."""
    now = now or clock.utcnow()
    tz = tz or get_settings().tz
    reason = _clean(reason) or ""
    if not reason:
        raise CareRefused(N_("Say why this customer is skipped."))
    target, campaign = _callable_target(session, target_id, agent, now, tz)
    if target.status not in CALLABLE:
        raise Conflict(N_("Only a customer still to be called can be skipped."))
    target.status = "skipped"
    target.note = reason
    target.updated_at = now
    session.flush()
    record_audit_event(
        session,
        actor=actor_of(agent),
        action=SKIPPED,
        data={"campaign": campaign.id, "target": target.id, "customer": target.customer_id, "reason": reason},
        at=now,
    )
    return target


# -- coverage -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    """One period of a campaign: targets by status, required ones answered, the required still missing."""

    period: str
    counts: dict[str, int]
    required_total: int
    required_answered: int
    missing: list[dict[str, Any]]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def share(self) -> float:
        """Required answered over required (1.0 when nobody is required)."""
        return self.required_answered / self.required_total if self.required_total else 1.0

    @property
    def complete(self) -> bool:
        """100%: every required customer answered."""
        return self.required_answered == self.required_total


def coverage(session: Session, campaign: CareCampaign, period: str) -> Coverage:
    """The campaign's coverage in `period`."""
    counts = dict.fromkeys(("due", "sent", "answered", "unreachable", "skipped"), 0)
    for status, n in session.execute(
        select(CareTarget.status, func.count())
        .where(CareTarget.campaign_id == campaign.id, CareTarget.period == period)
        .group_by(CareTarget.status)
    ):
        counts[status] = int(n)
    required = session.execute(
        select(CareTarget, Customer)
        .join(Customer, Customer.id == CareTarget.customer_id)
        .where(
            CareTarget.campaign_id == campaign.id, CareTarget.period == period, CareTarget.required.is_(True)
        )
        .order_by(Customer.id)
    ).tuples()
    answered = 0
    missing = []
    for target, customer in required:
        if target.status == "answered":
            answered += 1
            continue
        missing.append(
            {
                "target_id": target.id,
                "customer_id": customer.id,
                "name": customer.name,
                "class": customer.customer_class,
                "agent": target.agent,
                "status": target.status,
            }
        )
    return Coverage(period, counts, answered + len(missing), answered, missing)


# -- what the console shows ----------------------------------------------------------------------------------


def campaigns_view(session: Session, now: datetime, tz: ZoneInfo) -> list[dict[str, Any]]:
    """Every campaign, newest first, with a period's coverage: the current one while it runs, else its
    latest list (a closed campaign's last period, not an empty one it never drew)."""
    rows = []
    for campaign in session.scalars(select(CareCampaign).order_by(CareCampaign.id.desc())):
        running = is_running(campaign, now.astimezone(tz).date())
        drawn = periods_of(session, campaign)
        period = period_of(campaign, now, tz).key if running or not drawn else drawn[0]
        rows.append(
            {
                "campaign": campaign,
                "period": period,
                "running": running,
                "coverage": coverage(session, campaign, period),
            }
        )
    return rows


def periods_of(session: Session, campaign: CareCampaign) -> list[str]:
    """The periods the campaign has lists for, newest first."""
    return sorted(
        set(session.scalars(select(CareTarget.period).where(CareTarget.campaign_id == campaign.id))),
        reverse=True,
    )


def _last_follow_ups(session: Session, customer_ids: Sequence[str]) -> dict[str, FollowUpRecord]:
    newest: dict[str, FollowUpRecord] = {}
    if not customer_ids:
        return newest
    for record in session.scalars(
        select(FollowUpRecord)
        .where(FollowUpRecord.customer_id.in_(list(customer_ids)))
        .order_by(FollowUpRecord.made_at, FollowUpRecord.id)
    ):
        newest[record.customer_id] = record
    return newest


def targets_view(session: Session, campaign: CareCampaign, period: str) -> list[dict[str, Any]]:
    """The period's list: required first, then by customer, each with its last follow-up."""
    pairs = (
        session.execute(
            select(CareTarget, Customer)
            .join(Customer, Customer.id == CareTarget.customer_id)
            .where(CareTarget.campaign_id == campaign.id, CareTarget.period == period)
            .order_by(CareTarget.required.desc(), Customer.id)
        )
        .tuples()
        .all()
    )
    last = _last_follow_ups(session, [c.id for _, c in pairs])
    return [{"target": t, "customer": c, "last": last.get(c.id)} for t, c in pairs]


def open_flags(session: Session, customer_ids: Sequence[str]) -> dict[str, VolumeFlag]:
    """Each customer's newest open volume flag."""
    flags: dict[str, VolumeFlag] = {}
    if customer_ids:
        for flag in session.scalars(
            select(VolumeFlag)
            .where(VolumeFlag.customer_id.in_(list(customer_ids)), VolumeFlag.status == "open")
            .order_by(VolumeFlag.week)
        ):
            flags[flag.customer_id] = flag
    return flags


def call_list(session: Session, *, agent: str | None, now: datetime, tz: ZoneInfo) -> list[dict[str, Any]]:
    """The targets still to call in the current period of every running campaign: `agent`'s (None:
    everyone's), required first; each with its customer, campaign, open volume flag, calls so far.

    A phone campaign's customers until answered; a message campaign's only those the bot has no chat to
    send the script to (care_messages notes them): otherwise nobody would ever reach them this period.
    """
    today = now.astimezone(tz).date()
    campaigns = [
        c
        for c in session.scalars(select(CareCampaign).where(CareCampaign.status == "active"))
        if is_running(c, today)
    ]
    rows: list[dict[str, Any]] = []
    for campaign in campaigns:
        stmt = (
            select(CareTarget, Customer)
            .join(Customer, Customer.id == CareTarget.customer_id)
            .where(
                CareTarget.campaign_id == campaign.id,
                CareTarget.period == period_of(campaign, now, tz).key,
                CareTarget.status.in_(CALLABLE)
                if campaign.channel == "phone"
                else (CareTarget.status == "due") & (CareTarget.note == NO_CHANNEL_NOTE),
            )
        )
        if agent is not None:
            stmt = stmt.where(CareTarget.agent == agent)
        rows.extend(
            {"target": t, "customer": c, "campaign": campaign} for t, c in session.execute(stmt).tuples()
        )
    # One call answers a customer's phone entry and the message entries waiting for it (record_call).
    phoned = {r["customer"].id for r in rows if r["campaign"].channel == "phone"}
    rows = [r for r in rows if r["campaign"].channel == "phone" or r["customer"].id not in phoned]
    ids = [r["customer"].id for r in rows]
    flags = open_flags(session, ids)
    attempts = (
        dict(
            session.execute(
                select(FollowUpRecord.target_id, func.count())
                .where(FollowUpRecord.target_id.in_([r["target"].id for r in rows]))
                .group_by(FollowUpRecord.target_id)
            )
            .tuples()
            .all()
        )
        if rows
        else {}
    )
    for row in rows:
        row["flag"] = flags.get(row["customer"].id)
        row["attempts"] = int(attempts.get(row["target"].id, 0))
    rows.sort(key=lambda r: (not r["target"].required, r["customer"].id, r["campaign"].id))
    return rows


def quiet_until(quiet: QuietHours | None, now: datetime, tz: ZoneInfo) -> datetime | None:
    """When the customers' quiet hours end on the carrier's clock, while `now` is inside them; else None."""
    if quiet is None:
        return None
    end = quiet.until(now, tz)
    return end.astimezone(tz) if end is not None else None


def follow_ups(session: Session, customer_id: str) -> list[FollowUpRecord]:
    """The customer's follow-up record, newest first."""
    return list(
        session.scalars(
            select(FollowUpRecord)
            .where(FollowUpRecord.customer_id == customer_id)
            .order_by(FollowUpRecord.made_at.desc(), FollowUpRecord.id.desc())
        )
    )


# -- the scheduled job and the command line ---------------------------------------------------------------


@dataclass(frozen=True)
class OpenRun:
    """One check of the job: the periods it opened (the others were claimed already, or not running)."""

    opened: list[Opened]
    skipped: int = 0


def run_open(
    factory: sessionmaker[Session], *, tz: ZoneInfo, large_volume: int, now: datetime | None = None
) -> OpenRun:
    """Open the current period of every running campaign once, whichever process gets there first (claim
    and list commit together per campaign: a process dying mid-run leaves the period to the next check)."""
    now = now or clock.utcnow()
    today = now.astimezone(tz).date()
    with session_scope(factory) as session:
        ids = [
            c.id
            for c in session.scalars(select(CareCampaign).where(CareCampaign.status == "active"))
            if is_running(c, today)
        ]
    opened: list[Opened] = []
    skipped = 0
    for campaign_id in ids:
        with session_scope(factory) as session:
            begin_write(session)
            campaign = session.get(CareCampaign, campaign_id)
            if campaign is None or not is_running(campaign, today):
                continue
            period = period_of(campaign, now, tz)
            claim = claim_period(session, JOB_NAME, f"{campaign.id}:{period.key}", now)
            if claim is None:
                skipped += 1
                continue
            result = open_period(session, campaign, now, tz=tz, large_volume=large_volume)
            claim.finished_at = clock.utcnow()
            claim.outcome = f"{len(result.added)} target(s) added, {result.present} present"
        opened.append(result)
        logger.info(
            "care campaign %s: %s opened, %d target(s) added", campaign_id, result.period, len(result.added)
        )
    return OpenRun(opened, skipped)


def open_job(factory: sessionmaker[Session], settings: Any) -> PeriodicCheck[OpenRun]:
    """The backend's care job: every CARE_OPEN_CHECK_S, open the periods that are due."""
    return PeriodicCheck(
        lambda: run_open(factory, tz=settings.tz, large_volume=settings.care_large_volume_shipments),
        interval_s=settings.care_open_check_s,
        name="care campaigns",
    )


def run_cli(url: str | None, *, dry_run: bool) -> list[str]:
    """`python -m backend care-open [--dry-run]`: draw (or show) every running campaign's current period."""
    from backend.db import database_session

    settings = get_settings()
    now = clock.utcnow()
    today = now.astimezone(settings.tz).date()
    lines: list[str] = []
    with database_session(url or settings.database_url) as session:
        campaigns = [
            c for c in session.scalars(select(CareCampaign).order_by(CareCampaign.id)) if is_running(c, today)
        ]
        if not campaigns:
            lines.append("no running care campaign")
        for campaign in campaigns:
            result = open_period(
                session,
                campaign,
                now,
                tz=settings.tz,
                large_volume=settings.care_large_volume_shipments,
                dry_run=dry_run,
            )
            verb = "would add" if dry_run else "added"
            lines.append(
                f"campaign {campaign.id} {campaign.name!r} ({campaign.channel}) {result.period}: "
                f"{verb} {len(result.added)} target(s), {result.present} on the list already"
                + (f": {', '.join(result.added)}" if result.added else "")
            )
    if dry_run:
        lines.append("dry run: nothing was stored")
    return lines
