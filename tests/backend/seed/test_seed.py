from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.models import Agent, Customer, Shipment, ShipmentEvent
from backend.seed import RANDOM_SHIPMENTS, demo_shipments, seed_demo
from backend.seed.data import DATA_FILE, extract_msgids
from backend.waybill import validate
from tests.backend.factories import DEMO_WAYBILLS

TZ = ZoneInfo("Asia/Shanghai")


def snapshot(session: Session) -> dict[str, Any]:
    customers = {
        c.id: (c.name, c.customer_class, c.phone, c.created_at) for c in session.scalars(select(Customer))
    }
    shipments = {}
    for s in session.scalars(select(Shipment)):
        facts = {col.key: getattr(s, col.key) for col in Shipment.__table__.columns if col.key not in ("id",)}
        events = [(e.occurred_at, e.location, e.code, e.description, e.force_majeure) for e in s.events]
        shipments[s.waybill] = (facts, events)
    agents = {a.username: (a.role, a.password_hash) for a in session.scalars(select(Agent))}
    return {"customers": customers, "shipments": shipments, "agents": agents}


def test_seed_twice_changes_nothing(db_factory: sessionmaker[Session], seeded_today: date) -> None:
    with session_scope(db_factory) as session:
        before = snapshot(session)
    with session_scope(db_factory) as session:
        report = seed_demo(session, today=seeded_today, tz=TZ)
    assert not report.changed, str(report)
    with session_scope(db_factory) as session:
        after = snapshot(session)
    assert after == before


def test_counts(db_session: Session) -> None:
    assert db_session.scalar(select(func.count()).select_from(Customer)) == 40
    assert db_session.scalar(select(func.count()).select_from(Shipment)) == 14 + RANDOM_SHIPMENTS
    # Every shipment has scans and a freight amount and goods description.
    without_events = db_session.scalar(
        select(func.count()).select_from(Shipment).where(~Shipment.events.any())
    )
    assert without_events == 0
    assert db_session.scalar(select(func.count()).where(Shipment.freight_amount.is_(None))) == 0
    assert db_session.scalar(select(func.count()).where(Shipment.goods_description.is_(None))) == 0
    assert (db_session.scalar(select(func.count()).select_from(ShipmentEvent)) or 0) > 1000


def test_demo_customers(db_session: Session) -> None:
    rows = {c.id: (c.name, c.customer_class, c.phone) for c in db_session.scalars(select(Customer))}
    assert rows["C001"] == ("Harbor Fresh Foods Co.", "A", "+8613800000001")
    assert rows["C002"] == ("Wang's Hardware", "B", "+8613800000002")
    assert rows["C003"] == ("Lin Mei (individual)", "C", "+8613800000003")
    assert rows["C004"] == ("Nanning Textile Trading", "A", "+8613800000004")
    classes = [cls for _, cls, _ in rows.values()]
    assert 0.1 <= classes.count("A") / len(classes) <= 0.35


def test_random_waybills_are_valid_and_separate(db_session: Session) -> None:
    waybills = list(db_session.scalars(select(Shipment.waybill)))
    assert all(validate(w).status == "valid" for w in waybills)
    extra = set(waybills) - set(DEMO_WAYBILLS)
    assert len(extra) == RANDOM_SHIPMENTS
    assert {w[:2] for w in extra} <= {"EB", "RR", "CP"}


def test_seed_creates_no_console_accounts(tmp_path: object) -> None:
    """No shared demo password: the demo logins come from ensure-demo-agents, with random passwords."""
    import backend.seed
    from backend.db import make_engine, make_session_factory
    from backend.migrate import upgrade

    assert not hasattr(backend.seed, "DEFAULT_AGENT_PASSWORD")
    url = f"sqlite:///{tmp_path}/accounts.db"
    upgrade(url)
    engine = make_engine(url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            seed_demo(session, today=date(2026, 3, 10), tz=TZ)
            assert session.scalar(select(func.count()).select_from(Agent)) == 0
    finally:
        engine.dispose()


def test_the_old_shared_accounts_are_not_seeded(db_session: Session) -> None:
    names = set(db_session.scalars(select(Agent.username)))
    assert not names & {"agent", "supervisor"}
    # Whatever other tests created never carries the retired scrypt hash.
    assert not any(h.startswith("scrypt$") for h in db_session.scalars(select(Agent.password_hash)))


def test_seed_on_a_later_day_moves_the_scenarios(tmp_path: object) -> None:
    from backend.db import make_engine, make_session_factory
    from backend.migrate import upgrade
    from backend.services.shipments import get_shipment

    url = f"sqlite:///{tmp_path}/later.db"
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    try:
        with session_scope(factory) as session:
            first = seed_demo(session, today=date(2026, 3, 10), tz=TZ)
        assert first.shipments_created == 14 + RANDOM_SHIPMENTS
        with session_scope(factory) as session:
            again = seed_demo(session, today=date(2026, 3, 12), tz=TZ)
            assert again.shipments_created == 0 and again.shipments_updated > 0
        with session_scope(factory) as session:
            view = get_shipment(session, "EA100000034CN", today=date(2026, 3, 12))
            assert view is not None
            assert view.promised_date == date(2026, 3, 10)
            assert view.days_late == 2
            assert view.events[-1].occurred_at.astimezone(TZ).date() == date(2026, 3, 11)
    finally:
        engine.dispose()


def test_the_data_file_marks_its_record_words_as_msgids() -> None:
    # The catalog test finds the seed's msgids through this extractor: every reason, note, goods and
    # signer role a scenario writes is one of them (signers who are people are names, not msgids).
    with DATA_FILE.open("rb") as stream:
        marked = {msgid for _line, _name, msgid, _comments in extract_msgids(stream, {"N_": None}, (), {})}
    words = {
        plan.facts[name]
        for plan in demo_shipments(date(2026, 3, 10), TZ).values()
        for name in ("goods_description", "delay_reason", "exception_reason", "courier_note")
        if plan.facts[name]
    }
    assert "Door locks and hinges, 2 cartons" in words and words <= marked
    assert {"front desk", "security guard, Building 7"} <= marked


def test_the_seed_is_an_import_file_and_replaces_the_old_seeds_scans(tmp_path: object) -> None:
    """The seed's rows are an import file; scans written by the old seed (no id) are replaced, not doubled."""
    import io

    from sqlalchemy import update

    from backend.db import make_engine, make_session_factory
    from backend.migrate import upgrade
    from backend.seed import demo_ndjson
    from backend.services.bulk_import import import_file

    url = f"sqlite:///{tmp_path}/as_file.db"
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    day = date(2026, 3, 10)
    try:
        data = "".join(demo_ndjson(day, TZ)).encode()
        with factory() as session:
            result = import_file(session, io.BytesIO(data), fmt="ndjson")
        assert result.rejected == 0 and result.by_kind["shipment"]["new"] == 14 + RANDOM_SHIPMENTS
        with session_scope(factory) as session:
            before = snapshot(session)
            scans = session.scalar(select(func.count()).select_from(ShipmentEvent))
            # The same file as seed_demo imports: seeding the same day changes nothing.
            assert not seed_demo(session, today=day, tz=TZ).changed
            session.execute(update(ShipmentEvent).values(event_id=None))
        with session_scope(factory) as session:
            again = seed_demo(session, today=day, tz=TZ)
            assert again.events_written == scans
        with session_scope(factory) as session:
            assert session.scalar(select(func.count()).select_from(ShipmentEvent)) == scans
            assert snapshot(session)["shipments"] == before["shipments"]
    finally:
        engine.dispose()
