"""Customer owners: assign, transfer and remove (audited), and a balance even by count and by volume."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.errors import InvalidInput
from backend.models import Agent, AuditEvent, Customer, Shipment, utcnow
from backend.security.passwords import UNUSABLE_HASH
from backend.services import ownership

SUPERVISOR = "supervisor:t20o-boss"
# The test's own customers and their 12-month shipments: a few large accounts and a long tail.
VOLUMES = (40, 31, 25, 18, 12, 9, 7, 5, 4, 3, 2, 1, 0, 0)


@pytest.fixture
def book(db_factory: sessionmaker[Session], seeded_today: date) -> Iterator[tuple[Session, list[str], str]]:
    """A session on the shared seeded database with four agents of this test (one inactive) and customers
    with known volumes; rolled back at the end, so nothing it made stays (the seed test counts customers)."""
    tag = uuid.uuid4().hex[:6]
    session = db_factory()
    try:
        agents = [f"t20o-{tag}-{n}" for n in "abc"]
        for name in [*agents, f"t20o-{tag}-gone"]:
            session.add(
                Agent(
                    username=name,
                    display_name=name,
                    role="agent",
                    password_hash=UNUSABLE_HASH,
                    active=not name.endswith("gone"),
                )
            )
        now = utcnow()
        for index, volume in enumerate(VOLUMES):
            cid = f"C9{tag}{index:02d}"
            session.add(Customer(id=cid, name=f"Test {tag} {index}", customer_class="C"))
            for n in range(volume):
                session.add(
                    Shipment(
                        waybill=f"Z{tag}{index:02d}{n:03d}"[:13],
                        customer_id=cid,
                        origin="Nanning",
                        destination="Beijing",
                        status="in_transit",
                        created_at=now - timedelta(days=3 + n),
                    )
                )
        # A shipment older than a year is not volume any more.
        session.add(
            Shipment(
                waybill=f"Y{tag}OLD001",
                customer_id=f"C9{tag}13",
                origin="A",
                destination="B",
                status="delivered",
                created_at=now - timedelta(days=400),
            )
        )
        session.flush()
        yield session, agents, tag
    finally:
        session.rollback()
        session.close()


def _spread(session: Session, agents: list[str]) -> tuple[dict[str, int], dict[str, int]]:
    weight = ownership.volumes(session)
    counts = dict.fromkeys(agents, 0)
    loads = dict.fromkeys(agents, 0)
    for customer in session.scalars(select(Customer)):
        assert customer.owner in agents
        counts[customer.owner] += 1
        loads[customer.owner] += weight[customer.id]
    return counts, loads


def test_balance_spreads_customers_evenly_by_count_and_by_volume(
    book: tuple[Session, list[str], str],
) -> None:
    session, agents, tag = book
    weight = ownership.volumes(session)
    assert weight[f"C9{tag}00"] == 40 and weight[f"C9{tag}13"] == 0  # the old shipment does not count
    plan = ownership.balance(session, actor=SUPERVISOR, agents=agents)
    assert plan.applied and plan.moves
    counts, loads = _spread(session, agents)
    assert max(counts.values()) - min(counts.values()) <= 1, counts
    # Within one customer's volume of each other (greedy, largest first), not 40 / 31 / 0.
    assert max(loads.values()) - min(loads.values()) <= max(weight.values()), loads
    # The three largest accounts of this test go to three different agents.
    biggest = [session.get(Customer, f"C9{tag}0{i}") for i in range(3)]
    assert len({c.owner for c in biggest if c is not None}) == 3
    assert plan.counts == counts and plan.loads == loads


def test_a_balanced_book_moves_nobody_and_a_new_agent_takes_only_a_share(
    book: tuple[Session, list[str], str],
) -> None:
    session, agents, _tag = book
    ownership.balance(session, actor=SUPERVISOR, agents=agents[:2])
    again = ownership.balance(session, actor=SUPERVISOR, agents=agents[:2])
    assert again.moves == []
    before = {c.id: c.owner for c in session.scalars(select(Customer))}
    total = len(before)
    plan = ownership.balance(session, actor=SUPERVISOR, agents=agents)
    # The newcomer needs about a third; the others keep the rest (no reshuffle of the whole book).
    assert all(move.after == agents[2] for move in plan.moves), plan.moves
    assert total // 3 <= len(plan.moves) <= total // 3 + 1
    counts, _loads = _spread(session, agents)
    assert max(counts.values()) - min(counts.values()) <= 1


def test_a_dry_run_shows_the_moves_and_changes_nothing(book: tuple[Session, list[str], str]) -> None:
    session, agents, tag = book
    preview = ownership.balance(session, actor=SUPERVISOR, agents=agents, dry_run=True)
    assert not preview.applied and preview.moves
    assert session.get(Customer, f"C9{tag}00").owner is None  # type: ignore[union-attr]
    applied = ownership.balance(session, actor=SUPERVISOR, agents=agents)
    assert [(m.customer_id, m.after) for m in applied.moves] == [
        (m.customer_id, m.after) for m in preview.moves
    ]


def test_inactive_agents_never_own(book: tuple[Session, list[str], str]) -> None:
    session, agents, tag = book
    gone = f"t20o-{tag}-gone"
    assert gone not in ownership.eligible_agents(session)
    with pytest.raises(InvalidInput):
        ownership.set_owner(session, f"C9{tag}00", gone, actor=SUPERVISOR)
    with pytest.raises(InvalidInput):
        ownership.balance(session, actor=SUPERVISOR, agents=[*agents, gone])
    # An owner who leaves: the next balance gives their customers to the others.
    ownership.set_owner(session, f"C9{tag}00", agents[0], actor=SUPERVISOR)
    session.scalars(select(Agent).where(Agent.username == agents[0])).one().active = False
    plan = ownership.balance(session, actor=SUPERVISOR, agents=agents[1:])
    assert session.get(Customer, f"C9{tag}00").owner in agents[1:]  # type: ignore[union-attr]
    assert any(m.customer_id == f"C9{tag}00" and m.before == agents[0] for m in plan.moves)


def test_assign_transfer_and_remove_are_audited(book: tuple[Session, list[str], str]) -> None:
    session, agents, tag = book
    cid = f"C9{tag}01"
    ownership.set_owner(session, cid, agents[0], actor=SUPERVISOR)
    customer = session.get(Customer, cid)
    assert customer is not None and customer.owner == agents[0] and customer.owner_since is not None
    ownership.set_owner(session, cid, agents[0], actor=SUPERVISOR)  # no change, nothing recorded
    ownership.set_owner(session, cid, agents[1], actor=SUPERVISOR)
    ownership.set_owner(session, cid, None, actor=SUPERVISOR)
    assert customer.owner is None and customer.owner_since is None
    events = [
        (e.actor, e.action, e.data["from"], e.data["to"])  # type: ignore[index]
        for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        if e.data and e.data.get("customer") == cid
    ]
    assert events == [
        (SUPERVISOR, ownership.ASSIGNED, None, agents[0]),
        (SUPERVISOR, ownership.TRANSFERRED, agents[0], agents[1]),
        (SUPERVISOR, ownership.REMOVED, agents[1], None),
    ]
    # A balance's moves are audited transfers too, marked as such.
    last = session.scalar(select(func.max(AuditEvent.id))) or 0
    plan = ownership.balance(session, actor=SUPERVISOR, agents=agents)
    balanced = [
        e
        for e in session.scalars(select(AuditEvent).where(AuditEvent.id > last))
        if e.data and e.data.get("via") == "balance"
    ]
    assert len(balanced) == len(plan.moves) and all(e.actor == SUPERVISOR for e in balanced)


def test_the_owners_view_counts_each_agents_customers_and_volume(
    book: tuple[Session, list[str], str],
) -> None:
    session, agents, tag = book
    ownership.set_owner(session, f"C9{tag}00", agents[0], actor=SUPERVISOR)
    ownership.set_owner(session, f"C9{tag}02", agents[0], actor=SUPERVISOR)
    rows = {r["username"]: r for r in ownership.owners_view(session)}
    mine = rows[agents[0]]
    assert mine["count"] == 2 and mine["volume"] == 40 + 25 and mine["classes"] == {"C": 2}
    assert rows[agents[1]]["count"] == 0
    assert f"C9{tag}03" in {c["id"] for c in rows[None]["customers"]}  # nobody owns it yet
    assert [c["id"] for c in ownership.my_customers(session, agents[0])] == [f"C9{tag}00", f"C9{tag}02"]
