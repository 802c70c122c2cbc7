"""Customer classes by ABC analysis of revenue: computed from the shipments monthly, pinned by hand, audited.

Seed 003's ABC analysis (../shared/design/DOMAIN.md): rank the accounts by revenue and walk down the
cumulative share. **A** is the accounts that make up the first `a_share` of revenue (the account that
crosses the line is A: it carries part of that top share), **B** the next ones up to `b_share`, **C** the
rest; an account without revenue in the window is C. Accounts with equal revenue get the same class (the
class of the first of them): no account is demoted for the spelling of its id.

Revenue is the sum of each shipment's freight (`freight_amount`, else `charged_amount`) over the last
WINDOW_MONTHS months by the shipment's `created_at`. Twelve months, because a carrier's year has seasons
(Double 11, the Spring Festival, a shipper's harvest): a shorter window would demote a fruit shipper every
winter and promote it every autumn, and its complaints' priority with it. `created_at` is when the order
reached the carrier, always set, unlike delivery times that late or lost shipments lack.

`customer_class` stays the class everyone reads: the pinned class when there is one (a supervisor's, or
the carrier's systems' through backend.services.integration.upsert_customer), else the computed one. A
recomputation records the computed class, revenue and share of every customer, pinned or not. Every
change of a customer's class goes into the audit trail (audit_event, action CLASS_CHANGED) with who, from,
to and why ("computed (revenue share 63%)", "pinned by li.wei"); so does a change of a pinned customer's
computed class (CLASS_COMPUTED), which the supervisor may want to follow.

The monthly run (`run_monthly`) claims its month in scheduled_job_run inside its own transaction: of
several backend processes only the one whose insert succeeds recomputes; a process that dies mid-run
leaves no claim, and the next check of any process runs it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.config import get_settings
from backend.db import begin_write, session_scope
from backend.domain import CUSTOMER_CLASSES
from backend.models import AuditEvent, Customer, ScheduledJobRun, Shipment, utcnow
from backend.services.audit import record_audit_event
from backend.services.periodic import PeriodicCheck, claim_period

logger = logging.getLogger(__name__)

WINDOW_MONTHS = 12
JOB_NAME = "customer_classes"
JOB_ACTOR = "system:customer_classes"
CLI_ACTOR = "cli:recompute-classes"
# The carrier's systems (an import, the CRM, the demo seed) pin the class they send as this source.
CARRIER = "carrier"
# audit_event actions: the class everyone reads changed; a pinned customer's computed class changed.
CLASS_CHANGED = "customer_class_changed"
CLASS_COMPUTED = "customer_class_computed"
HISTORY_ACTIONS = (CLASS_CHANGED, CLASS_COMPUTED)
NO_REVENUE_CLASS = "C"


@dataclass(frozen=True)
class Ranked:
    """One account in the ranking: its revenue, the cumulative share up to and including it, its class."""

    customer_id: str
    revenue: Decimal
    # None for an account without revenue (it is not on the curve).
    share: float | None
    computed_class: str


@dataclass(frozen=True)
class ClassChange:
    """A customer's class that changed (or, with `computed_only`, a pinned customer's computed class)."""

    customer_id: str
    name: str
    old: str | None
    new: str
    why: str
    computed_only: bool = False
    # For the console's sentence: computed, computed_under_pin, pinned or unpinned; by whom; the share.
    kind: str = "computed"
    by: str | None = None
    share: float | None = None


@dataclass(frozen=True)
class ClassCount:
    """One line of the summary: how many accounts a class holds and their share of revenue."""

    customer_class: str
    count: int
    revenue: Decimal
    share: float


@dataclass(frozen=True)
class Recomputation:
    """What one recomputation found and (unless a dry run) stored."""

    since: datetime
    until: datetime
    ranked: list[Ranked]
    changes: list[ClassChange]
    # The classes as customers will read them (pinned or computed), for the summary.
    effective: dict[str, str] = field(default_factory=dict)
    dry_run: bool = False

    @property
    def total_revenue(self) -> Decimal:
        """The revenue of every account in the window."""
        return sum((r.revenue for r in self.ranked), Decimal("0"))

    def summary(self, *, effective: bool = False) -> list[ClassCount]:
        """Per class: accounts and their share of revenue (computed classes, or the ones customers read)."""
        total = self.total_revenue
        rows = []
        for cls in CUSTOMER_CLASSES:
            members = [
                r
                for r in self.ranked
                if (self.effective[r.customer_id] if effective else r.computed_class) == cls
            ]
            revenue = sum((r.revenue for r in members), Decimal("0"))
            rows.append(ClassCount(cls, len(members), revenue, float(revenue / total) if total else 0.0))
        return rows


def window(now: datetime, months: int = WINDOW_MONTHS) -> tuple[datetime, datetime]:
    """The revenue window ending at `now`: the same moment `months` calendar months earlier, to `now`."""
    year, month = divmod(now.year * 12 + now.month - 1 - months, 12)
    day = now.day
    while True:
        try:
            return now.replace(year=year, month=month + 1, day=day), now
        except ValueError:  # 29 February a year later, the 31st of a shorter month
            day -= 1


def revenue_by_customer(session: Session, since: datetime, until: datetime) -> dict[str, Decimal]:
    """Each customer's freight over [since, until): freight_amount, else charged_amount, per shipment."""
    amount = func.coalesce(Shipment.freight_amount, Shipment.charged_amount, 0)
    stmt = (
        select(Shipment.customer_id, func.sum(amount))
        .where(Shipment.created_at >= since, Shipment.created_at < until)
        .group_by(Shipment.customer_id)
    )
    return {cid: Decimal(total or 0) for cid, total in session.execute(stmt)}


def classify(revenues: Iterable[tuple[str, Decimal]], *, a_share: float, b_share: float) -> list[Ranked]:
    """Rank accounts by revenue (highest first, ties by id) and give each its ABC class.

    An account is A while the revenue of the accounts ranked above it is under `a_share` of the total
    (so the one that crosses the line is A), B while under `b_share`, C after; a group of accounts with
    equal revenue all take the class of the first of them. No revenue (or none above zero): C.
    """
    if not 0 < a_share < b_share <= 1:
        raise ValueError(f"shares must satisfy 0 < A < B <= 1; got {a_share} and {b_share}")
    order = sorted(revenues, key=lambda item: (-item[1], item[0]))
    earning = [(cid, revenue) for cid, revenue in order if revenue > 0]
    total = sum((revenue for _, revenue in earning), Decimal("0"))
    ranked: list[Ranked] = []
    above = Decimal("0")
    group_revenue: Decimal | None = None
    group_class = NO_REVENUE_CLASS
    for cid, revenue in earning:
        if revenue != group_revenue:
            before = float(above / total)
            group_class = "A" if before < a_share else "B" if before < b_share else "C"
            group_revenue = revenue
        above += revenue
        ranked.append(Ranked(cid, revenue, float(above / total), group_class))
    ranked.extend(
        Ranked(cid, max(revenue, Decimal("0")), None, NO_REVENUE_CLASS)
        for cid, revenue in order[len(earning) :]
    )
    return ranked


def _percent(share: float | None) -> str:
    return "no revenue" if share is None else f"revenue share {share:.0%}"


def _pin_actor(pinned_by: str) -> str:
    return pinned_by.split(":", 1)[1] if ":" in pinned_by else pinned_by


def _audit(
    session: Session, change: ClassChange, *, actor: str, agent_id: int | None = None, **extra: Any
) -> None:
    record_audit_event(
        session,
        actor=actor,
        action=CLASS_COMPUTED if change.computed_only else CLASS_CHANGED,
        agent_id=agent_id,
        data={
            "customer_id": change.customer_id,
            "from": change.old,
            "to": change.new,
            "why": change.why,
            "kind": change.kind,
            "by": change.by,
            "share": change.share,
            **extra,
        },
    )


def recompute(
    session: Session,
    *,
    a_share: float,
    b_share: float,
    actor: str = JOB_ACTOR,
    now: datetime | None = None,
    dry_run: bool = False,
) -> Recomputation:
    """Compute every customer's class from the last WINDOW_MONTHS of revenue and store it (unless dry run).

    A pinned customer keeps its pin; its computed class, revenue and share are recorded all the same.
    Changes are audited as `actor`. The caller commits.
    """
    now = now or utcnow()
    since, until = window(now)
    customers = {c.id: c for c in session.scalars(select(Customer).order_by(Customer.id))}
    revenues = revenue_by_customer(session, since, until)
    ranked = classify(
        ((cid, revenues.get(cid, Decimal("0"))) for cid in customers), a_share=a_share, b_share=b_share
    )
    changes: list[ClassChange] = []
    effective: dict[str, str] = {}
    for entry in ranked:
        customer = customers[entry.customer_id]
        why = f"computed ({_percent(entry.share)})"
        new_effective = customer.pinned_class or entry.computed_class
        effective[customer.id] = new_effective
        if new_effective != customer.customer_class:
            changes.append(
                ClassChange(
                    customer.id, customer.name, customer.customer_class, new_effective, why, share=entry.share
                )
            )
        elif (
            customer.pinned_class is not None
            and customer.computed_class is not None
            and customer.computed_class != entry.computed_class
        ):
            pinned = f"; pinned {customer.pinned_class} by {_pin_actor(customer.pinned_by or CARRIER)} stays"
            changes.append(
                ClassChange(
                    customer.id,
                    customer.name,
                    customer.computed_class,
                    entry.computed_class,
                    why + pinned,
                    True,
                    kind="computed_under_pin",
                    by=customer.pinned_by,
                    share=entry.share,
                )
            )
        if dry_run:
            continue
        customer.computed_class = entry.computed_class
        customer.class_revenue = entry.revenue
        customer.class_share = entry.share
        customer.class_computed_at = now
        customer.class_computed_by = actor
        customer.customer_class = new_effective
    if not dry_run:
        for change in changes:
            _audit(session, change, actor=actor, a_share=a_share, b_share=b_share)
        session.flush()
    return Recomputation(since, until, ranked, changes, effective, dry_run)


class UnknownCustomer(LookupError):
    """No customer with that id."""


def pin(
    session: Session,
    *,
    customer_id: str,
    customer_class: str | None,
    actor: str,
    agent_id: int | None = None,
    a_share: float | None = None,
    b_share: float | None = None,
    now: datetime | None = None,
) -> ClassChange | None:
    """Pin `customer_class` on the customer as `actor` ("supervisor:li.wei", "carrier"), or remove the pin
    (None): then the computed class holds, computed now if it never was. Returns the change, if any."""
    if customer_class is not None and customer_class not in CUSTOMER_CLASSES:
        raise ValueError(
            f"customer_class must be one of {', '.join(CUSTOMER_CLASSES)}; got {customer_class!r}"
        )
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise UnknownCustomer(customer_id)
    now = now or utcnow()
    who = _pin_actor(actor)
    if customer_class is None:
        if customer.pinned_class is None:
            return None
        if customer.computed_class is None:
            settings = get_settings()
            _compute_one(
                session,
                customer,
                a_share=a_share or settings.customer_class_a_share,
                b_share=b_share or settings.customer_class_b_share,
                now=now,
                actor=actor,
            )
        assert customer.computed_class is not None
        old, new = customer.customer_class, customer.computed_class
        why = f"pin removed by {who}; computed ({_percent(customer.class_share)})"
        kind = "unpinned"
        customer.pinned_class = customer.pinned_by = customer.pinned_at = None
    else:
        if customer.pinned_class == customer_class and customer.pinned_by == actor:
            return None
        old, new = customer.customer_class, customer_class
        why = f"pinned by {who}"
        kind = "pinned"
        customer.pinned_class, customer.pinned_by, customer.pinned_at = customer_class, actor, now
    customer.customer_class = new
    change = ClassChange(
        customer.id, customer.name, old, new, why, kind=kind, by=actor, share=customer.class_share
    )
    # A pin that restates the class already read changes nothing anyone sees, but who decided it did.
    _audit(session, change, actor=actor, agent_id=agent_id, pinned=customer.pinned_class)
    session.flush()
    return change


def _compute_one(
    session: Session, customer: Customer, *, a_share: float, b_share: float, now: datetime, actor: str
) -> None:
    """The customer's computed class from the ranking of all (a customer never computed before)."""
    since, until = window(now)
    revenues = revenue_by_customer(session, since, until)
    ids = session.scalars(select(Customer.id)).all()
    ranked = classify(
        ((cid, revenues.get(cid, Decimal("0"))) for cid in ids), a_share=a_share, b_share=b_share
    )
    entry = next(r for r in ranked if r.customer_id == customer.id)
    customer.computed_class = entry.computed_class
    customer.class_revenue = entry.revenue
    customer.class_share = entry.share
    customer.class_computed_at = now
    customer.class_computed_by = actor


def class_history(session: Session, customer_id: str, *, limit: int = 50) -> Sequence[AuditEvent]:
    """The customer's class changes, newest first."""
    stmt = (
        select(AuditEvent)
        .where(
            AuditEvent.action.in_(HISTORY_ACTIONS),
            AuditEvent.data["customer_id"].as_string() == customer_id,
        )
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    return session.scalars(stmt).all()


def class_view(session: Session, customer_id: str) -> dict[str, Any] | None:
    """What the console's customer page shows a supervisor about the class: computed and pinned, revenue,
    share, and the class history (newest first)."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        return None
    history = [
        {
            "at": event.at,
            "kind": (event.data or {}).get("kind", "computed"),
            "old": (event.data or {}).get("from"),
            "new": (event.data or {}).get("to"),
            "by": _pin_actor(str((event.data or {}).get("by") or event.actor)),
            "share": (event.data or {}).get("share"),
        }
        for event in class_history(session, customer_id)
    ]
    return {
        "class": customer.customer_class,
        "computed_class": customer.computed_class,
        "pinned_class": customer.pinned_class,
        "pinned_by": _pin_actor(customer.pinned_by) if customer.pinned_by else None,
        "pinned_at": customer.pinned_at,
        "revenue": customer.class_revenue,
        "share": customer.class_share,
        "computed_at": customer.class_computed_at,
        "history": history,
    }


# -- the monthly job ---------------------------------------------------------------------------------


def period_of(now: datetime, tz: ZoneInfo) -> str:
    """The calendar month `now` falls in on the carrier's clock ("2026-12")."""
    return now.astimezone(tz).strftime("%Y-%m")


@dataclass(frozen=True)
class MonthlyRun:
    """What one check of the monthly job did."""

    period: str
    # False when this month's run was already claimed (by this process or another).
    ran: bool
    result: Recomputation | None = None


def run_monthly(
    factory: sessionmaker[Session],
    *,
    tz: ZoneInfo,
    a_share: float,
    b_share: float,
    now: datetime | None = None,
) -> MonthlyRun:
    """Recompute the classes once for the current month, whichever process gets here first.

    The claim row and the recomputation share one transaction: on PostgreSQL a second process's insert
    waits on the first's uncommitted key and then fails; on SQLite the write lock (BEGIN IMMEDIATE) makes
    the second wait and then find the row.
    """
    now = now or utcnow()
    period = period_of(now, tz)
    with session_scope(factory) as session:
        begin_write(session)
        claim = _claim(session, period, now)
        if claim is None:
            return MonthlyRun(period, ran=False)
        result = recompute(session, a_share=a_share, b_share=b_share, actor=JOB_ACTOR, now=now)
        claim.finished_at = utcnow()
        claim.outcome = _outcome(result)[:500]
    logger.info("customer classes for %s: %s", period, _outcome(result))
    return MonthlyRun(period, ran=True, result=result)


def _claim(session: Session, period: str, now: datetime) -> ScheduledJobRun | None:
    """Insert this month's claim row; None when another process has it (committed, or waiting to be)."""
    return claim_period(session, JOB_NAME, period, now)


def _outcome(result: Recomputation) -> str:
    counts = ", ".join(f"{c.customer_class} {c.count}" for c in result.summary())
    return f"{len(result.ranked)} customers ({counts}), {len(result.changes)} change(s)"


class MonthlyClasses(PeriodicCheck[MonthlyRun]):
    """Checks every `interval_s` seconds, from the backend's lifespan, whether this month's run is due; the
    first check runs at once (a new month's classes should not wait an hour)."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        tz: ZoneInfo,
        a_share: float,
        b_share: float,
        interval_s: float,
    ) -> None:
        super().__init__(
            lambda: run_monthly(factory, tz=tz, a_share=a_share, b_share=b_share),
            interval_s=interval_s,
            name="customer classes",
        )


# -- the command line ----------------------------------------------------------------------------------


def report_lines(result: Recomputation, *, a_share: float, b_share: float) -> list[str]:
    """The recomputation as `python -m backend recompute-classes` prints it: the table, then the changes."""
    day = "%Y-%m-%d"
    lines = [
        f"customer classes from freight {result.since:{day}} to {result.until:{day}} "
        f"(A: the first {a_share:.0%} of revenue, B: to {b_share:.0%}, C: the rest)",
        f"{len(result.ranked)} customers, revenue {result.total_revenue:,.2f} CNY",
        "",
        f"{'class':<6}{'customers':>10}{'revenue':>18}{'share':>8}{'with pins':>11}",
    ]
    pinned = {c.customer_class: c.count for c in result.summary(effective=True)}
    for row in result.summary():
        lines.append(
            f"{row.customer_class:<6}{row.count:>10}{row.revenue:>18,.2f}{row.share:>8.1%}"
            f"{pinned[row.customer_class]:>11}"
        )
    lines.append("")
    lines.append(f"changes ({len(result.changes)}):" if result.changes else "no class changes")
    for change in result.changes:
        what = "computed class" if change.computed_only else "class"
        lines.append(
            f"  {change.customer_id} {change.name}: {what} {change.old or '-'} -> {change.new}, {change.why}"
        )
    if result.dry_run:
        lines.append("dry run: nothing was stored")
    return lines


def run_cli(url: str | None, *, dry_run: bool) -> list[str]:
    """`python -m backend recompute-classes [--dry-run]`: recompute now, with the settings' shares."""
    from backend.db import database_session

    settings = get_settings()
    a_share, b_share = settings.customer_class_a_share, settings.customer_class_b_share
    with database_session(url or settings.database_url) as session:
        result = recompute(session, a_share=a_share, b_share=b_share, actor=CLI_ACTOR, dry_run=dry_run)
    return report_lines(result, a_share=a_share, b_share=b_share)


def ranking_view(session: Session, *, limit: int = 500) -> list[dict[str, Any]]:
    """Customers by their last computed revenue, highest first, with computed, pinned and read class."""
    stmt = select(Customer).order_by(Customer.class_revenue.desc().nulls_last(), Customer.id).limit(limit)
    return [
        {
            "id": c.id,
            "name": c.name,
            "class": c.customer_class,
            "computed_class": c.computed_class,
            "pinned_class": c.pinned_class,
            "pinned_by": _pin_actor(c.pinned_by) if c.pinned_by else None,
            "revenue": c.class_revenue,
            "share": c.class_share,
        }
        for c in session.scalars(stmt)
    ]
