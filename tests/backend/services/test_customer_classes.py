"""Customer classes: the ABC ranking on generated revenue, pins surviving it, the audit, the monthly claim."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from pydantic import ValidationError
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from backend.config import Settings
from backend.db import make_engine, make_session_factory, session_scope
from backend.migrate import upgrade
from backend.models import AuditEvent, Customer, ScheduledJobRun, Shipment
from backend.services import customer_classes as classes
from backend.services.integration import upsert_customer
from backend.waybill import make_waybill
from tests.backend.factories import CARRIER_TZ

A_SHARE, B_SHARE = 0.70, 0.90
NOW = datetime(2026, 12, 3, 10, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def empty_factory(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[sessionmaker[Session]]:
    """A migrated database without the demo data (the ranking must see only the test's customers)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('classes') / 'app.db'}"
        admin = None
        name = ""
    else:
        base = os.environ.get("TEST_POSTGRES_URL")
        if not base:
            pytest.skip("TEST_POSTGRES_URL is not set: the PostgreSQL variant is skipped")
        name = f"test_i19c_classes_{uuid.uuid4().hex[:10]}"
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(base).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    engine = make_engine(url)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


@pytest.fixture
def factory(empty_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """The empty database, emptied again before each test."""
    with session_scope(empty_factory) as session:
        for table in ("audit_event", "scheduled_job_run", "shipment_event", "shipment", "customer"):
            session.execute(text(f"DELETE FROM {table}"))
    return empty_factory


_serial = iter(range(10_000_000, 99_999_999))


def add_shipment(
    session: Session, cid: str, *, freight: str | None = None, charged: str | None = None, days_ago: int = 30
) -> None:
    session.add(
        Shipment(
            waybill=make_waybill("EA", next(_serial)),
            customer_id=cid,
            origin="Nanning",
            destination="Guangzhou",
            status="delivered",
            freight_amount=None if freight is None else Decimal(freight),
            charged_amount=None if charged is None else Decimal(charged),
            created_at=NOW - timedelta(days=days_ago),
        )
    )


def add_customer(
    session: Session, cid: str, revenue: list[str], *, days_ago: int = 30, **fields: object
) -> None:
    """A customer (data-decided unless fields say otherwise) with one shipment per freight amount."""
    session.add(Customer(id=cid, name=f"Shipper {cid}", customer_class="C", computed_class="C", **fields))
    for amount in revenue:
        add_shipment(session, cid, freight=amount, days_ago=days_ago)
    session.flush()


def classes_of(factory: sessionmaker[Session]) -> dict[str, str]:
    with session_scope(factory) as session:
        return dict(session.execute(select(Customer.id, Customer.customer_class)).tuples().all())


def history(factory: sessionmaker[Session], cid: str) -> list[tuple[str, str, dict[str, object]]]:
    with session_scope(factory) as session:
        return [(e.actor, e.action, dict(e.data or {})) for e in classes.class_history(session, cid)]


# -- the ranking, without a database ------------------------------------------------------------------


def pareto(n: int = 20) -> list[tuple[str, Decimal]]:
    # Revenue falling like 1/rank (a Zipf curve): a few accounts carry most of it.
    return [(f"P{i:02d}", Decimal(100_000) / i) for i in range(1, n + 1)]


def test_pareto_revenue_a_until_70_percent_b_until_90_the_rest_c() -> None:
    ranked = classes.classify(pareto(), a_share=A_SHARE, b_share=B_SHARE)
    total = sum(r for _, r in pareto())
    above = Decimal(0)
    for entry in ranked:
        before = float(above / total)
        expected = "A" if before < 0.70 else "B" if before < 0.90 else "C"
        assert entry.computed_class == expected, entry
        above += entry.revenue
        assert entry.share == pytest.approx(float(above / total))
    by_class = {c: [r.customer_id for r in ranked if r.computed_class == c] for c in "ABC"}
    # 1/rank over 20 ranks: the top 7 reach 72% (the 7th crosses 70%), 14 reach 91%.
    assert by_class["A"] == [f"P{i:02d}" for i in range(1, 8)]
    assert by_class["B"] == [f"P{i:02d}" for i in range(8, 15)]
    assert by_class["C"] == [f"P{i:02d}" for i in range(15, 21)]


def test_the_account_that_crosses_the_line_is_a_and_one_that_starts_on_it_is_b() -> None:
    # 60 + 20 = 80: the second crosses 70% (A); the third starts at 80% (B), the fourth at 91% (C).
    ranked = classes.classify(
        [("X1", Decimal(60)), ("X2", Decimal(20)), ("X3", Decimal(11)), ("X4", Decimal(9))],
        a_share=A_SHARE,
        b_share=B_SHARE,
    )
    assert [(r.customer_id, r.computed_class) for r in ranked] == [
        ("X1", "A"),
        ("X2", "A"),
        ("X3", "B"),
        ("X4", "C"),
    ]
    ranked = classes.classify([("Y1", Decimal(70)), ("Y2", Decimal(30))], a_share=A_SHARE, b_share=B_SHARE)
    # Y1 makes exactly 70%: the line is reached, so Y2 starts on it and is B (it ends at 100%, not C).
    assert [r.computed_class for r in ranked] == ["A", "B"]


def test_no_revenue_is_c_ties_share_a_class_and_empty_data_is_all_c() -> None:
    ranked = classes.classify(
        [
            ("Z0", Decimal(0)),
            ("Z1", Decimal(50)),
            ("Z2", Decimal(25)),
            ("Z3", Decimal(25)),
            ("Z4", Decimal(-5)),
        ],
        a_share=A_SHARE,
        b_share=B_SHARE,
    )
    got = {r.customer_id: (r.computed_class, r.share) for r in ranked}
    # Z2 crosses 70% (A); Z3 starts at 75%, but ties with Z2: equal revenue, equal class.
    assert got["Z1"][0] == "A" and got["Z2"][0] == "A" and got["Z3"][0] == "A"
    assert got["Z3"][1] == pytest.approx(1.0)
    assert got["Z0"] == ("C", None) and got["Z4"] == ("C", None)
    equal = classes.classify([(f"E{i}", Decimal(10)) for i in range(10)], a_share=A_SHARE, b_share=B_SHARE)
    assert {r.computed_class for r in equal} == {"A"}
    assert [
        r.computed_class for r in classes.classify([("N1", Decimal(0))], a_share=A_SHARE, b_share=B_SHARE)
    ] == ["C"]
    assert classes.classify([], a_share=A_SHARE, b_share=B_SHARE) == []
    with pytest.raises(ValueError):
        classes.classify(pareto(), a_share=0.9, b_share=0.7)


def test_the_window_is_twelve_calendar_months() -> None:
    assert classes.window(NOW) == (datetime(2025, 12, 3, 10, 0, tzinfo=timezone.utc), NOW)
    leap = datetime(2028, 2, 29, tzinfo=timezone.utc)
    assert classes.window(leap)[0] == datetime(2027, 2, 28, tzinfo=timezone.utc)


# -- recomputation in the database --------------------------------------------------------------------


def test_recompute_on_generated_revenue_stores_classes_shares_and_audits(
    factory: sessionmaker[Session],
) -> None:
    with session_scope(factory) as session:
        for cid, revenue in pareto():
            # Two shipments each, so revenue is a sum.
            add_customer(session, cid, [str(round(revenue / 2, 2))] * 2)
        add_customer(session, "P99", [])  # one shipment that charged nothing: no revenue
        add_customer(session, "OLD", ["500000"], days_ago=400)  # outside the 12-month window
        add_shipment(session, "P99", charged="0.00", days_ago=3)  # charged nothing: still no revenue
    with session_scope(factory) as session:
        result = classes.recompute(
            session, a_share=A_SHARE, b_share=B_SHARE, actor=classes.CLI_ACTOR, now=NOW
        )
    got = classes_of(factory)
    assert [cid for cid, c in sorted(got.items()) if c == "A"] == [f"P{i:02d}" for i in range(1, 8)]
    assert got["P08"] == "B" and got["P14"] == "B" and got["P15"] == "C"
    assert got["P99"] == "C" and got["OLD"] == "C"
    summary = {c.customer_class: c for c in result.summary()}
    assert (summary["A"].count, summary["B"].count, summary["C"].count) == (7, 7, 8)
    assert summary["A"].share == pytest.approx(0.7216, abs=1e-3)
    with session_scope(factory) as session:
        p07 = session.get(Customer, "P07")
        assert p07 is not None
        assert p07.computed_class == "A" and p07.class_computed_by == classes.CLI_ACTOR
        assert p07.class_share == pytest.approx(0.7216, abs=1e-3)
        assert p07.class_revenue == Decimal("14285.72")  # 2 × 7142.86
    # Every class that changed (C → A, C → B) is in the audit, with who and why.
    (actor, action, data), *_ = history(factory, "P07")
    assert (actor, action) == (classes.CLI_ACTOR, classes.CLASS_CHANGED)
    assert data["from"] == "C" and data["to"] == "A" and data["why"] == "computed (revenue share 72%)"
    assert history(factory, "P20") == []  # C before, C now: nothing changed, nothing recorded
    # A second run over the same data changes nothing.
    with session_scope(factory) as session:
        assert classes.recompute(session, a_share=A_SHARE, b_share=B_SHARE, now=NOW).changes == []


def test_a_pin_survives_recomputation_and_its_computed_class_is_updated(
    factory: sessionmaker[Session],
) -> None:
    with session_scope(factory) as session:
        add_customer(session, "BIG", ["8000"])
        add_customer(session, "SMALL", ["2000"])
        classes.recompute(session, a_share=A_SHARE, b_share=B_SHARE, now=NOW)
    assert classes_of(factory) == {"BIG": "A", "SMALL": "B"}
    with session_scope(factory) as session:
        change = classes.pin(session, customer_id="SMALL", customer_class="A", actor="supervisor:li.wei")
        assert change is not None and change.why == "pinned by li.wei"
    # SMALL's revenue grows past BIG's (22000 of 30000): the data now says A for SMALL, B for BIG.
    with session_scope(factory) as session:
        add_customer(session, "BIGGER", [])
        add_shipment(session, "SMALL", freight="20000", days_ago=1)
        classes.pin(session, customer_id="BIG", customer_class="C", actor="supervisor:zhang")
    with session_scope(factory) as session:
        result = classes.recompute(session, a_share=A_SHARE, b_share=B_SHARE, now=NOW)
    assert classes_of(factory)["BIG"] == "C"  # pinned C survives although the data says B
    with session_scope(factory) as session:
        big = session.get(Customer, "BIG")
        assert big is not None
        assert (big.pinned_class, big.computed_class, big.pinned_by) == ("C", "B", "supervisor:zhang")
    assert [(c.customer_id, c.old, c.new, c.computed_only) for c in result.changes] == [
        ("SMALL", "B", "A", True),
        ("BIG", "A", "B", True),
    ]
    kinds = [(actor, action, data["to"], data["why"]) for actor, action, data in history(factory, "BIG")]
    assert kinds == [
        (
            classes.JOB_ACTOR,
            classes.CLASS_COMPUTED,
            "B",
            "computed (revenue share 100%); pinned C by zhang stays",
        ),
        ("supervisor:zhang", classes.CLASS_CHANGED, "C", "pinned by zhang"),
        (classes.JOB_ACTOR, classes.CLASS_CHANGED, "A", "computed (revenue share 80%)"),
    ]
    # Removing the pin lets the data decide at once.
    with session_scope(factory) as session:
        change = classes.pin(session, customer_id="BIG", customer_class=None, actor="supervisor:zhang")
        assert change is not None and (change.old, change.new) == ("C", "B")
        assert change.why == "pin removed by zhang; computed (revenue share 100%)"
    assert classes_of(factory)["BIG"] == "B"


def test_the_carriers_class_is_a_pin_a_supervisors_wins(factory: sessionmaker[Session]) -> None:
    with session_scope(factory) as session:
        upsert_customer(session, customer_id="K1", name="Key account", customer_class="A", phone=None)
        upsert_customer(session, customer_id="K2", name="New shipper", customer_class=None, phone=None)
        add_customer(session, "K3", ["100"])
    with session_scope(factory) as session:
        classes.recompute(session, a_share=A_SHARE, b_share=B_SHARE, now=NOW)
    with session_scope(factory) as session:
        k1 = session.get(Customer, "K1")
        assert k1 is not None and (k1.customer_class, k1.pinned_by, k1.computed_class) == (
            "A",
            "carrier",
            "C",
        )
        assert upsert_customer(session, customer_id="K1", name="Key account", customer_class="A", phone=None)[
            1
        ] == ("unchanged")
        classes.pin(session, customer_id="K1", customer_class="B", actor="supervisor:li.wei")
        # The CRM sends its old field again: the supervisor's decision stands.
        assert upsert_customer(session, customer_id="K1", name="Key account", customer_class="A", phone=None)[
            1
        ] == ("unchanged")
        assert k1.customer_class == "B"
        # K3 (decided by the data so far) gets a class from the carrier: a pin.
        assert upsert_customer(session, customer_id="K3", name="Shipper K3", customer_class="B", phone=None)[
            1
        ] == ("updated")
        k3 = session.get(Customer, "K3")
        assert k3 is not None and (k3.customer_class, k3.pinned_by) == ("B", "carrier")
        # Leaving the class out removes the carrier's pin: the computed A holds again.
        assert upsert_customer(session, customer_id="K3", name="Shipper K3", customer_class=None, phone=None)[
            1
        ] == ("updated")
        assert (k3.customer_class, k3.pinned_class) == ("A", None)
    assert classes_of(factory)["K2"] == "C"
    assert [a for a, _, _ in history(factory, "K3")][:2] == ["carrier", "carrier"]


def test_revenue_is_freight_else_the_charged_amount_within_the_window(factory: sessionmaker[Session]) -> None:
    with session_scope(factory) as session:
        add_customer(session, "F1", ["100"])
        add_shipment(session, "F1", charged="40")  # no freight on record: the charged amount counts
        add_shipment(session, "F1", freight="10", charged="999")  # freight wins over the charge
        add_shipment(session, "F1", freight="5000", days_ago=370)  # before the window
        session.flush()
        since, until = classes.window(NOW)
        assert classes.revenue_by_customer(session, since, until) == {"F1": Decimal("150.00")}


# -- the monthly job ----------------------------------------------------------------------------------


def test_the_monthly_job_runs_once_per_month_with_two_processes(factory: sessionmaker[Session]) -> None:
    with session_scope(factory) as session:
        add_customer(session, "M1", ["800"])
        add_customer(session, "M2", ["200"])
    # Two engines, as two backend processes would have, checking at the same moment.
    url = factory.kw["bind"].url.render_as_string(hide_password=False)
    engines = [make_engine(url) for _ in range(2)]
    try:
        factories = [make_session_factory(engine) for engine in engines]
        runs: list[classes.MonthlyRun] = []
        barrier = threading.Barrier(2)

        def check(f: sessionmaker[Session]) -> None:
            barrier.wait()
            runs.append(classes.run_monthly(f, tz=CARRIER_TZ, a_share=A_SHARE, b_share=B_SHARE, now=NOW))

        threads = [threading.Thread(target=check, args=(f,)) for f in factories]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(r.ran for r in runs) == [False, True]
        assert {r.period for r in runs} == {"2026-12"}
        # Later in the month: nothing; the first hours of the next month on the carrier's clock: it runs.
        assert not classes.run_monthly(
            factories[0], tz=CARRIER_TZ, a_share=A_SHARE, b_share=B_SHARE, now=NOW + timedelta(days=20)
        ).ran
        # 31 Dec 17:00 UTC is 1 January 01:00 in Shanghai.
        january = datetime(2026, 12, 31, 17, 0, tzinfo=timezone.utc)
        assert (
            classes.run_monthly(
                factories[1], tz=CARRIER_TZ, a_share=A_SHARE, b_share=B_SHARE, now=january
            ).period
            == "2027-01"
        )
    finally:
        for engine in engines:
            engine.dispose()
    with session_scope(factory) as session:
        claims = session.scalars(select(ScheduledJobRun).order_by(ScheduledJobRun.period)).all()
        assert [(c.job, c.period) for c in claims] == [
            ("customer_classes", "2026-12"),
            ("customer_classes", "2027-01"),
        ]
        assert all(c.finished_at is not None and "2 customers" in (c.outcome or "") for c in claims)
        # One recomputation's audit for M1 in December (C → A), none from the losing process.
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == classes.CLASS_CHANGED)).all()
        assert sorted((e.data or {})["customer_id"] for e in events) == ["M1", "M2"]
    assert classes_of(factory) == {"M1": "A", "M2": "B"}


@pytest.mark.parametrize(("a", "b"), [(0.9, 0.7), (0.0, 0.9), (0.7, 0.7), (0.7, 1.2)])
def test_a_bad_share_stops_start_up_with_one_clear_line(a: float, b: float) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None, customer_class_a_share=a, customer_class_b_share=b)  # type: ignore[call-arg]
    (error,) = refused.value.errors()
    assert "CUSTOMER_CLASS_A_SHARE and CUSTOMER_CLASS_B_SHARE must satisfy 0 < A < B <= 1" in error["msg"]
    assert "\n" not in error["msg"]
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (settings.customer_class_a_share, settings.customer_class_b_share) == (0.70, 0.90)
