"""The weekly volume watch on generated shipments: who is flagged, with what figures, once per week."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from pydantic import ValidationError
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from backend.config import Settings
from backend.db import make_engine, make_session_factory, session_scope
from backend.models import Customer, ScheduledJobRun, Shipment, VolumeFlag
from backend.services import volume_watch as vw
from backend.waybill import make_waybill
from tests.backend.factories import CARRIER_TZ
from tests.backend.services.test_customer_classes import empty_factory  # noqa: F401 (a fixture)

# Wednesday 9 December 2026, 18:00 in Shanghai: the week in progress is 2026-W50, the last complete one W49.
NOW = datetime(2026, 12, 9, 10, 0, tzinfo=timezone.utc)
WEEK = vw.Week(2026, 49)
WATCH = {"tz": CARRIER_TZ, "weeks": 4, "drop_share": 0.3, "min_shipments": 8}


@pytest.fixture
def factory(empty_factory: sessionmaker[Session]) -> sessionmaker[Session]:  # noqa: F811
    """The empty database, emptied again before each test."""
    with session_scope(empty_factory) as session:
        for table in ("volume_flag", "scheduled_job_run", "shipment_event", "shipment", "customer"):
            session.execute(text(f"DELETE FROM {table}"))
    return empty_factory


_serial = iter(range(40_000_000, 49_999_999))


def ship(
    session: Session, cid: str, at: datetime, *, freight: str = "100", destination: str = "Guangzhou"
) -> None:
    session.add(
        Shipment(
            waybill=make_waybill("EA", next(_serial)),
            customer_id=cid,
            origin="Nanning",
            destination=destination,
            status="delivered",
            freight_amount=Decimal(freight),
            created_at=at,
        )
    )


def shipper(session: Session, cid: str, per_week: Sequence[int], *, last: vw.Week = WEEK) -> None:
    """A customer with `per_week` shipments in the weeks ending with `last` (oldest first), each on a
    Tuesday afternoon on the carrier's clock."""
    session.add(Customer(id=cid, name=f"Shipper {cid}", customer_class="A"))
    session.flush()
    for back, count in enumerate(reversed(per_week)):
        tuesday = last.shift(-back).start(CARRIER_TZ) + timedelta(days=1, hours=14)
        for n in range(count):
            ship(session, cid, tuesday + timedelta(minutes=n))


def flags(factory: sessionmaker[Session]) -> list[tuple[str, str, int, float, float, str, Decimal]]:
    with session_scope(factory) as session:
        return [
            (f.customer_id, f.week, f.week_count, f.trailing_mean, f.drop_share, f.status, f.week_freight)
            for f in session.scalars(select(VolumeFlag).order_by(VolumeFlag.customer_id))
        ]


def test_weeks_are_iso_weeks_on_the_carriers_clock() -> None:
    assert vw.Week.parse("2026-W49") == WEEK and WEEK.key == "2026-W49"
    assert (str(WEEK.monday), str(WEEK.sunday)) == ("2026-11-30", "2026-12-06")
    assert vw.last_complete_week(NOW, CARRIER_TZ) == WEEK
    # Sunday 6 December 16:30 UTC is already Monday 00:30 in Shanghai: the next week has begun.
    assert vw.Week.of(datetime(2026, 12, 6, 16, 30, tzinfo=timezone.utc), CARRIER_TZ).key == "2026-W50"
    assert vw.Week.of(datetime(2026, 12, 6, 15, 30, tzinfo=timezone.utc), CARRIER_TZ).key == "2026-W49"
    assert vw.Week(2027, 1).shift(-1).key == "2026-W53" and vw.Week(2026, 53).shift(1).key == "2027-W01"
    for bad in ("2026-49", "2026-W54", "2025-W53", "W49", "2026-W4"):
        with pytest.raises(vw.BadWeek):
            vw.Week.parse(bad)


def test_regions_are_the_city_or_province_a_destination_names() -> None:
    assert vw.region_of("广东省广州市天河区体育西路") == "广州市"
    assert vw.region_of("上海市浦东新区") == "上海市"
    assert vw.region_of("广西壮族自治区") == "广西壮族自治区"
    assert vw.region_of("Guangzhou") == "Guangzhou"
    assert vw.region_of("Nanning, Guangxi") == "Nanning"


def test_a_dropping_customer_is_flagged_with_its_figures_and_a_steady_one_is_not(
    factory: sessionmaker[Session],
) -> None:
    with session_scope(factory) as session:
        shipper(session, "DROP", [10, 12, 8, 10, 3])  # mean 10, then 3: 70% fewer
        shipper(session, "STEADY", [10, 11, 9, 10, 8])  # 20% fewer: within the usual swing
        shipper(session, "EDGE", [10, 10, 10, 10, 7])  # exactly 30% fewer: not more than the share
        shipper(session, "GONE", [3, 3, 3, 3, 0])  # 12 shipments before, none now
        shipper(session, "RARE", [1, 0, 2, 1, 0])  # 4 in four weeks: too little history to judge
        shipper(session, "NEW", [0, 0, 0, 0, 5])  # no trailing weeks at all
    with session_scope(factory) as session:
        found = vw.watch(session, WEEK, **WATCH)  # type: ignore[arg-type]
    assert {c.customer_id for c in found.checked} == {"DROP", "STEADY", "EDGE", "GONE", "RARE", "NEW"}
    assert sorted(found.new) == ["DROP", "GONE"]
    assert flags(factory) == [
        ("DROP", "2026-W49", 3, 10.0, 0.7, "open", Decimal("300.00")),
        ("GONE", "2026-W49", 0, 3.0, 1.0, "open", Decimal("0.00")),
    ]
    # A rerun (another process, the CLI, the next check) adds nothing and changes nothing.
    with session_scope(factory) as session:
        again = vw.watch(session, WEEK, **WATCH)  # type: ignore[arg-type]
    assert again.new == [] and sorted(c.customer_id for c in again.dropped) == ["DROP", "GONE"]
    assert len(flags(factory)) == 2
    # A dry run of another week stores nothing.
    with session_scope(factory) as session:
        dry = vw.watch(session, WEEK.shift(-1), dry_run=True, **WATCH)  # type: ignore[arg-type]
    assert dry.new == [] and len(flags(factory)) == 2


def test_the_week_boundary_is_midnight_in_china(factory: sessionmaker[Session]) -> None:
    with session_scope(factory) as session:
        shipper(session, "LATE", [10, 10, 10, 10, 1])
        # Sunday 23:30 in Shanghai (15:30 UTC) is W49; Monday 00:30 (16:30 UTC) is W50.
        ship(session, "LATE", datetime(2026, 12, 6, 15, 30, tzinfo=timezone.utc))
        for minute in range(8):
            ship(session, "LATE", datetime(2026, 12, 6, 16, 30 + minute, tzinfo=timezone.utc))
        # Monday 00:10 in Shanghai of W49 (Sunday 16:10 UTC of W48) counts in W49.
        ship(session, "LATE", datetime(2026, 11, 29, 16, 10, tzinfo=timezone.utc))
    with session_scope(factory) as session:
        figures = vw.weekly_figures(session, [WEEK.shift(-1), WEEK, WEEK.shift(1)], CARRIER_TZ)
        assert figures["LATE"][0] == [10, 3, 8]
        found = vw.watch(session, WEEK, **WATCH)  # type: ignore[arg-type]
    # Had the week been cut at midnight UTC, W49 would hold 10 shipments and nothing would be flagged.
    assert found.new == ["LATE"]
    assert flags(factory)[0][:4] == ("LATE", "2026-W49", 3, 10.0)


def test_the_weekly_job_runs_once_per_week_with_two_processes(factory: sessionmaker[Session]) -> None:
    with session_scope(factory) as session:
        shipper(session, "DROP", [10, 12, 8, 10, 3])
        shipper(session, "STEADY", [10, 11, 9, 10, 10])
    # Two engines, as two backend processes would have, checking at the same moment.
    url = factory.kw["bind"].url.render_as_string(hide_password=False)
    engines = [make_engine(url) for _ in range(2)]
    try:
        factories = [make_session_factory(engine) for engine in engines]
        runs: list[vw.WeeklyRun] = []
        barrier = threading.Barrier(2)

        def check(f: sessionmaker[Session]) -> None:
            barrier.wait()
            runs.append(vw.run_weekly(f, now=NOW, **WATCH))  # type: ignore[arg-type]

        threads = [threading.Thread(target=check, args=(f,)) for f in factories]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(r.ran for r in runs) == [False, True]
        assert {r.week for r in runs} == {"2026-W49"}
        # Later in the same week: nothing; Monday 00:30 in Shanghai (Sunday 16:30 UTC): W50's turn.
        assert not vw.run_weekly(factories[0], now=NOW + timedelta(days=3), **WATCH).ran  # type: ignore[arg-type]
        monday = datetime(2026, 12, 13, 16, 30, tzinfo=timezone.utc)
        next_run = vw.run_weekly(factories[1], now=monday, **WATCH)  # type: ignore[arg-type]
        assert (next_run.week, next_run.ran) == ("2026-W50", True)
    finally:
        for engine in engines:
            engine.dispose()
    with session_scope(factory) as session:
        claims = session.scalars(select(ScheduledJobRun).order_by(ScheduledJobRun.period)).all()
        assert [(c.job, c.period) for c in claims] == [
            ("volume_watch", "2026-W49"),
            ("volume_watch", "2026-W50"),
        ]
        assert claims[0].finished_at is not None and claims[0].outcome == (
            "2 customers, 1 dropped, 1 new flag(s)"
        )
    # W50 has no shipments: both fell to nothing against their W46-W49 means (DROP 12, 8, 10, 3: 8.25).
    assert [(f[0], f[1]) for f in flags(factory)] == [
        ("DROP", "2026-W49"),
        ("DROP", "2026-W50"),
        ("STEADY", "2026-W50"),
    ]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"volume_drop_share": 1.2}, "VOLUME_DROP_SHARE must be between 0 and 1"),
        ({"volume_drop_share": 0}, "VOLUME_DROP_SHARE must be between 0 and 1"),
        ({"volume_watch_weeks": 0}, "VOLUME_WATCH_WEEKS must be 1 or more"),
        ({"volume_watch_check_s": 0}, "VOLUME_WATCH_CHECK_S must be a positive number"),
    ],
)
def test_bad_watch_settings_stop_start_up_with_one_clear_line(values: dict[str, float], message: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None, **values)  # type: ignore[call-arg]
    (error,) = refused.value.errors()
    assert message in error["msg"]
