"""Customer owners: each customer has an agent who looks after them, who is offered their escalations first.

Seed 1.3: the supervisor assigns customers to agents, balanced by how many customers each holds and what
the company can carry; DOMAIN.md: A-class customers have a dedicated contact person (专人联系). Assigning,
transferring and removing an owner is audited (actor, from, to, time); `balance` spreads customers evenly
by count and by 12-month volume while moving as few as it can, and shows its moves before applying them.

Routing: when a conversation of an owned customer is queued for a person, it is offered to the owner
(`offered_to`, `offered_at`). Other agents see it in the queue once OWNER_FIRST_S has passed, or at once
when the owner is away (no live console session, or the "away" toggle). That is a condition on stored
times, evaluated in the queue's query, so it holds with any number of backend processes; the offer watch
only records the expiry in the audit and redraws the queues when it happens.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from backend import clock
from backend.config import get_settings
from backend.db import session_scope, try_job_lock
from backend.errors import InvalidInput, NotFound
from backend.hub.broker import AGENTS_TOPIC, Broker
from backend.i18n import N_
from backend.models import Agent, ConsoleSession, Conversation, Customer, Shipment, Ticket
from backend.services.audit import record_audit_event
from backend.services.periodic import PeriodicCheck

logger = logging.getLogger(__name__)

ASSIGNED = "customer_owner_assigned"
TRANSFERRED = "customer_owner_transferred"
REMOVED = "customer_owner_removed"
OFFERED = "owner_offer_made"
OFFER_SKIPPED = "owner_offer_skipped"
OFFER_EXPIRED = "owner_offer_expired"
WATCH_ACTOR = "system:owner_offers"
# The volume a balance weighs: shipments over this many days.
VOLUME_DAYS = 365
# Advisory-lock key of the offer watch on PostgreSQL ("OW", "NR").
_LOCK_SPACE, _LOCK_KEY = 0x4F57, 0x4E52

# The owner filter of the reports and the volume watch for the customers nobody owns (not a username:
# usernames never start with a dash).
UNOWNED = "-"


def owned(owner_now: str | None, owner: str | None) -> bool:
    """Whether a customer owned by `owner_now` is in a view narrowed to `owner` (None: every owner)."""
    if owner is None:
        return True
    return owner_now is None if owner == UNOWNED else owner_now == owner


def owned_condition(column: Any, owner: str | None) -> ColumnElement[bool] | None:
    """`owned` as a SQL condition on an owner column; None when every owner is wanted."""
    if owner is None:
        return None
    return column.is_(None) if owner == UNOWNED else column == owner


UNKNOWN_AGENT = N_("No active agent {agent}.")
UNKNOWN_CUSTOMER = N_("No customer {customer}.")


# -- who may own, and what they hold ---------------------------------------------------------------------


def _owning_agent(session: Session, username: str) -> Agent:
    agent = session.scalars(select(Agent).where(Agent.username == username)).one_or_none()
    if agent is None or not agent.active:
        raise InvalidInput(UNKNOWN_AGENT, agent=username)
    return agent


def eligible_agents(session: Session) -> list[str]:
    """Who owns customers by default: active agents (supervisors assign, they do not hold customers)."""
    return list(
        session.scalars(
            select(Agent.username)
            .where(Agent.active.is_(True), Agent.role == "agent")
            .order_by(Agent.username)
        )
    )


def volumes(session: Session, *, now: datetime | None = None) -> dict[str, int]:
    """Each customer's shipments over the last VOLUME_DAYS days (every customer, 0 when none)."""
    since = (now or clock.utcnow()) - timedelta(days=VOLUME_DAYS)
    counted: dict[str, int] = {
        cid: int(n)
        for cid, n in session.execute(
            select(Shipment.customer_id, func.count(Shipment.id))
            .where(Shipment.created_at >= since)
            .group_by(Shipment.customer_id)
        )
    }
    return {cid: int(counted.get(cid, 0)) for cid in session.scalars(select(Customer.id))}


def _record(
    session: Session,
    *,
    actor: str,
    customer: Customer,
    before: str | None,
    after: str | None,
    now: datetime,
    via: str | None = None,
) -> None:
    action = ASSIGNED if before is None else REMOVED if after is None else TRANSFERRED
    data: dict[str, Any] = {"customer": customer.id, "from": before, "to": after}
    if via:
        data["via"] = via
    record_audit_event(session, actor=actor, action=action, data=data, at=now)


def set_owner(
    session: Session,
    customer_id: str,
    owner: str | None,
    *,
    actor: str,
    now: datetime | None = None,
    via: str | None = None,
) -> Customer:
    """Assign, transfer (`owner` another agent) or remove (`owner` None) a customer's owner, audited.

    Only an active agent may own; setting the owner a customer already has changes and records nothing.
    """
    now = now or clock.utcnow()
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(UNKNOWN_CUSTOMER, customer=customer_id)
    if owner is not None:
        owner = _owning_agent(session, owner).username
    before = customer.owner
    if before == owner:
        return customer
    customer.owner = owner
    customer.owner_since = now if owner is not None else None
    session.flush()
    _record(session, actor=actor, customer=customer, before=before, after=owner, now=now, via=via)
    return customer


# -- balancing ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Move:
    """One customer given to another agent (`before` None: had no owner or an inactive one)."""

    customer_id: str
    name: str
    volume: int
    before: str | None
    after: str


@dataclass
class BalancePlan:
    """What a balance does: the moves, and each agent's customers and volume afterwards."""

    agents: list[str]
    moves: list[Move] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    loads: dict[str, int] = field(default_factory=dict)
    applied: bool = False


def plan_balance(
    session: Session, *, agents: Iterable[str] | None = None, now: datetime | None = None
) -> BalancePlan:
    """Spread every customer over `agents` (default: the active agents), even by count and by volume,
    moving as few customers as it can.

    Counts end at most one apart: the `n mod k` agents who hold the most now may hold one more. Everyone
    keeps their own customers up to that number, so a balanced book moves nobody and a new agent takes a
    share from the others without a reshuffle. An agent over it gives up the customers whose going
    leaves their volume nearest the mean. The customers left over (unowned, owned by someone outside
    `agents`, given up) go largest first to the agent with room and the least volume so far (LPT). Only
    when the volumes are still further apart than the largest customer's are customers swapped between
    the most and the least loaded agents.
    """
    names = sorted(set(agents if agents is not None else eligible_agents(session)))
    for name in names:
        _owning_agent(session, name)
    plan = BalancePlan(agents=names, counts=dict.fromkeys(names, 0), loads=dict.fromkeys(names, 0))
    if not names:
        return plan
    weight = volumes(session, now=now)
    customers = sorted(session.scalars(select(Customer)), key=lambda c: (-weight.get(c.id, 0), c.id))
    mean = sum(weight.get(c.id, 0) for c in customers) / len(names)
    held: dict[str, list[Customer]] = {n: [c for c in customers if c.owner == n] for n in names}
    low, extra = divmod(len(customers), len(names))
    most_first = sorted(names, key=lambda n: (-len(held[n]), n))
    capacity = {n: low + (1 if rank < extra else 0) for rank, n in enumerate(most_first)}

    owner_of: dict[str, str] = {}
    left_over = [c for c in customers if c.owner not in held]
    for name in names:
        kept = list(held[name])
        load = sum(weight.get(c.id, 0) for c in kept)
        while len(kept) > capacity[name]:
            given = min(kept, key=lambda c: (abs(load - weight.get(c.id, 0) - mean), c.id))
            kept.remove(given)
            load -= weight.get(given.id, 0)
            left_over.append(given)
        for customer in kept:
            owner_of[customer.id] = name
        plan.counts[name], plan.loads[name] = len(kept), load
    for customer in sorted(left_over, key=lambda c: (-weight.get(c.id, 0), c.id)):
        room = [n for n in names if plan.counts[n] < capacity[n]]
        chosen = min(room, key=lambda n: (plan.loads[n], plan.counts[n], n))
        owner_of[customer.id] = chosen
        plan.counts[chosen] += 1
        plan.loads[chosen] += weight.get(customer.id, 0)
    _even_out_volume(plan, customers, owner_of, weight)
    for customer in customers:
        if owner_of[customer.id] != customer.owner:
            volume = weight.get(customer.id, 0)
            plan.moves.append(Move(customer.id, customer.name, volume, customer.owner, owner_of[customer.id]))
    return plan


def _even_out_volume(
    plan: BalancePlan, customers: list[Customer], owner_of: dict[str, str], weight: dict[str, int]
) -> None:
    """Swaps between the most and the least loaded agent while their volumes are further apart than the
    largest customer's and a swap narrows the gap (counts stay as they are)."""
    bound = max(weight.values(), default=0)
    for _ in range(len(customers)):
        heavy = max(plan.agents, key=lambda n: (plan.loads[n], n))
        light = min(plan.agents, key=lambda n: (plan.loads[n], n))
        gap = plan.loads[heavy] - plan.loads[light]
        if gap <= bound:
            return
        best: tuple[int, str, str] | None = None
        for x in (c.id for c in customers if owner_of[c.id] == heavy):
            for y in (c.id for c in customers if owner_of[c.id] == light):
                shift = weight.get(x, 0) - weight.get(y, 0)
                if 0 < shift < gap and (best is None or abs(gap - 2 * shift) < abs(gap - 2 * best[0])):
                    best = (shift, x, y)
        if best is None:
            return
        shift, x, y = best
        owner_of[x], owner_of[y] = light, heavy
        plan.loads[heavy] -= shift
        plan.loads[light] += shift


def balance(
    session: Session,
    *,
    actor: str,
    agents: Iterable[str] | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
) -> BalancePlan:
    """Plan a balance and, unless `dry_run`, apply its moves (each an audited transfer, via "balance")."""
    now = now or clock.utcnow()
    plan = plan_balance(session, agents=agents, now=now)
    if not dry_run:
        for move in plan.moves:
            set_owner(session, move.customer_id, move.after, actor=actor, now=now, via="balance")
        plan.applied = True
    return plan


def owners_view(session: Session, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """Every active agent with their customers (count, 12-month volume, classes), for the supervisors' page;
    a row with username None holds the customers nobody (active) owns."""
    weight = volumes(session, now=now)
    agents = list(session.scalars(select(Agent).where(Agent.active.is_(True)).order_by(Agent.username)))
    known = {a.username for a in agents}
    rows: dict[str | None, dict[str, Any]] = {
        a.username: {
            "username": a.username,
            "name": a.display_name,
            "role": a.role,
            "away": a.away,
            "customers": [],
        }
        for a in agents
    }
    rows[None] = {"username": None, "name": None, "role": None, "away": False, "customers": []}
    for customer in session.scalars(select(Customer).order_by(Customer.id)):
        key = customer.owner if customer.owner in known else None
        rows[key]["customers"].append(
            {
                "id": customer.id,
                "name": customer.name,
                "class": customer.customer_class,
                "volume": weight.get(customer.id, 0),
                "owner_since": customer.owner_since,
            }
        )
    result = []
    for row in rows.values():
        row["count"] = len(row["customers"])
        row["volume"] = sum(c["volume"] for c in row["customers"])
        classes: dict[str, int] = {}
        for c in row["customers"]:
            classes[c["class"]] = classes.get(c["class"], 0) + 1
        row["classes"] = dict(sorted(classes.items()))
        if row["username"] is not None and (row["role"] == "agent" or row["count"]):
            result.append(row)
    unowned = rows[None]
    if unowned["count"]:
        result.append(unowned)
    return result


def my_customers(session: Session, username: str, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """The customers `username` owns, largest volume first."""
    weight = volumes(session, now=now)
    customers = session.scalars(select(Customer).where(Customer.owner == username))
    rows = [
        {
            "id": c.id,
            "name": c.name,
            "class": c.customer_class,
            "volume": weight.get(c.id, 0),
            "owner_since": c.owner_since,
        }
        for c in customers
    ]
    return sorted(rows, key=lambda r: (-r["volume"], r["id"]))


# -- routing: offers to the owner ------------------------------------------------------------------------


def owner_first_s() -> float:
    """How long an owned customer's escalation waits for its owner before every agent sees it."""
    return float(get_settings().owner_first_s)


def _idle() -> timedelta:
    return timedelta(minutes=get_settings().console_idle_minutes)


def present_agents(now: datetime, idle: timedelta | None = None) -> Any:
    """A subquery of the usernames with a live console session seen within the idle window, not away."""
    idle = idle or _idle()
    return (
        select(Agent.username)
        .join(ConsoleSession, ConsoleSession.agent_id == Agent.id)
        .where(
            Agent.active.is_(True),
            Agent.away.is_(False),
            ConsoleSession.ended_at.is_(None),
            ConsoleSession.expires_at > now,
            ConsoleSession.last_seen_at > now - idle,
        )
    )


def is_present(session: Session, username: str, *, now: datetime | None = None) -> bool:
    """Whether the agent is at the console now (a live session, not set away)."""
    now = now or clock.utcnow()
    return session.scalar(present_agents(now).where(Agent.username == username).limit(1)) is not None


def _held_back(now: datetime, viewer: str | None) -> ColumnElement[bool]:
    """A queued conversation still offered to a present owner other than `viewer`, within its time."""
    cutoff = now - timedelta(seconds=owner_first_s())
    held = and_(
        Conversation.state == "queued",
        Conversation.offered_to.is_not(None),
        Conversation.offered_at > cutoff,
        Conversation.offered_to.in_(present_agents(now)),
    )
    return and_(held, Conversation.offered_to != viewer) if viewer else held


def visible_filter(
    session: Session, viewer: str | None, *, now: datetime | None = None
) -> ColumnElement[bool]:
    """The condition the queue adds for `viewer`: supervisors (and tools without a viewer) see everything,
    an agent does not see another owner's conversation while it is offered to that owner."""
    now = now or clock.utcnow()
    if viewer is None:
        return Conversation.id.is_not(None)
    role = session.scalar(select(Agent.role).where(Agent.username == viewer))
    if role == "supervisor":
        return Conversation.id.is_not(None)
    return ~_held_back(now, viewer)


def customer_of_conversation(session: Session, conversation: Conversation) -> str | None:
    """Whose conversation it is: its account, the account the shipper proved, else its newest ticket's."""
    if conversation.customer_id or conversation.verified_customer_id:
        return conversation.customer_id or conversation.verified_customer_id
    return session.scalar(
        select(Ticket.customer_id)
        .where(Ticket.conversation_id == conversation.id, Ticket.customer_id.is_not(None))
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(1)
    )


def offer_to_owner(session: Session, conversation_id: str, *, now: datetime | None = None) -> str | None:
    """A conversation just queued for a person: offer it to its customer's owner; returns the owner offered
    to, or None (no owned customer, the owner inactive, or nobody waiting any more).

    An owner who is away is recorded (audit) and the conversation goes to everyone at once; the queue's
    condition shows it to all because the owner is not present.
    """
    now = now or clock.utcnow()
    conversation = session.get(Conversation, conversation_id)
    if conversation is None or conversation.state != "queued":
        return None
    customer_id = customer_of_conversation(session, conversation)
    owner = session.scalar(select(Customer.owner).where(Customer.id == customer_id)) if customer_id else None
    agent = session.scalars(select(Agent).where(Agent.username == owner)).one_or_none() if owner else None
    if agent is None or not agent.active:
        return None
    session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.state == "queued")
        .values(offered_to=agent.username, offered_at=now, offer_expired_at=None)
        .execution_options(synchronize_session=False)
    )
    session.get(Conversation, conversation_id, populate_existing=True)
    present = is_present(session, agent.username, now=now)
    record_audit_event(
        session,
        actor=WATCH_ACTOR,
        action=OFFERED if present else OFFER_SKIPPED,
        conversation_id=conversation_id,
        data={"customer": customer_id, "owner": agent.username, **({} if present else {"why": "owner away"})},
        at=now,
    )
    return agent.username


def clear_offer_values() -> dict[str, Any]:
    """The columns a state change outside hand-over resets: the offer belongs to one wait for a person."""
    return {"offered_to": None, "offered_at": None, "offer_expired_at": None}


def set_away(session: Session, username: str, away: bool) -> Agent:
    """The console's "away" toggle: while away, one's customers' escalations go to the queue at once."""
    agent = session.scalars(select(Agent).where(Agent.username == username)).one()
    if agent.away != away:
        agent.away = away
        session.flush()
        record_audit_event(
            session,
            actor=f"{agent.role}:{agent.username}",
            action="away" if away else "back",
            agent_id=agent.id,
        )
    return agent


# -- the offer watch ----------------------------------------------------------------------------------------


def expire_offers(session: Session, *, now: datetime | None = None) -> list[str] | None:
    """Record (once) every offer that ran out without its owner claiming it; the ids, or None when another
    process holds the watch's lock. The caller commits."""
    now = now or clock.utcnow()
    if not try_job_lock(session, _LOCK_SPACE, _LOCK_KEY):
        return None
    cutoff = now - timedelta(seconds=owner_first_s())
    due = list(
        session.scalars(
            select(Conversation).where(
                Conversation.state == "queued",
                Conversation.offered_to.is_not(None),
                Conversation.offer_expired_at.is_(None),
                or_(Conversation.offered_at <= cutoff, Conversation.offered_to.not_in(present_agents(now))),
            )
        )
    )
    for conversation in due:
        expired_by_time = conversation.offered_at is not None and conversation.offered_at <= cutoff
        conversation.offer_expired_at = now
        record_audit_event(
            session,
            actor=WATCH_ACTOR,
            action=OFFER_EXPIRED,
            conversation_id=conversation.id,
            data={
                "owner": conversation.offered_to,
                "why": "not claimed in time" if expired_by_time else "owner away",
                "offered_at": conversation.offered_at,
            },
            at=now,
        )
    session.flush()
    return [c.id for c in due]


def run_offer_watch(factory: sessionmaker[Session], *, now: datetime | None = None) -> list[str]:
    """One run of the offer watch in its own short transaction; the conversations whose offer ran out."""
    with session_scope(factory) as session:
        expired = expire_offers(session, now=now) or []
    if expired:
        logger.info("owner offers: %d ran out and went to the queue", len(expired))
    return expired


class OfferWatcher(PeriodicCheck[list[str]]):
    """Every `interval_s`, records expired offers and tells every console to redraw its queue."""

    def __init__(self, factory: sessionmaker[Session], broker: Broker, *, interval_s: float) -> None:
        super().__init__(
            functools.partial(run_offer_watch, factory),
            interval_s=interval_s,
            name="owner offer watch",
            wait_first=True,
            then=self._announce,
        )
        self._broker = broker

    def _announce(self, expired: list[str]) -> None:
        if expired:
            # Every console redraws its queue: the conversations now show for every agent.
            self._broker.publish(AGENTS_TOPIC, {"type": "offers_expired", "conversation_ids": expired})
