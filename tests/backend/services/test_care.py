"""Care campaigns on generated customers: periods, audience filters, the period's list drawn once, the
required customers, coverage, and the rules of recording a call (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from backend import clock
from backend.__main__ import main
from backend.config import get_settings
from backend.db import make_engine, make_session_factory, session_scope
from backend.errors import Conflict, NotAllowed, NotFound
from backend.models import (
    AuditEvent,
    CareCampaign,
    CareTarget,
    Customer,
    FollowUpRecord,
    Shipment,
    VolumeFlag,
)
from backend.services import care, care_messages
from backend.services.agent_work import AgentView
from backend.services.notices import Policy, parse_quiet_hours
from backend.waybill import make_waybill
from tests.backend.factories import CARRIER_TZ, new_account
from tests.backend.services.test_customer_classes import empty_factory  # noqa: F401 (a fixture)

# Wednesday 9 December 2026, 18:00 in Shanghai: month 2026-12, week 2026-W50, quarter 2026-Q4.
NOW = datetime(2026, 12, 9, 10, 0, tzinfo=timezone.utc)
LARGE = 5
OPEN: dict[str, Any] = {"tz": CARRIER_TZ, "large_volume": LARGE}


@pytest.fixture
def factory(empty_factory: sessionmaker[Session]) -> sessionmaker[Session]:  # noqa: F811
    """The empty database, emptied again before each test."""
    with session_scope(empty_factory) as session:
        for table in (
            "follow_up_record",
            "care_target",
            "care_campaign",
            "volume_flag",
            "scheduled_job_run",
            "shipment_event",
            "shipment",
            "customer",
        ):
            session.execute(text(f"DELETE FROM {table}"))
    return empty_factory


@pytest.fixture
def owners(factory: sessionmaker[Session]) -> dict[str, AgentView]:
    """Two agents and a supervisor."""
    people = {}
    for key, role in (("li", "agent"), ("wang", "agent"), ("boss", "supervisor")):
        name, _ = new_account(factory, role)
        people[key] = AgentView(username=name, role=role)
    return people


_serial = iter(range(60_000_000, 69_999_999))


def customer(session: Session, cid: str, cls: str, owner: str | None, *, shipments: int = 0) -> None:
    """A customer with `shipments` in the week before NOW's (within the four complete weeks counted)."""
    session.add(Customer(id=cid, name=f"Shipper {cid}", customer_class=cls, owner=owner))
    session.flush()
    start = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)
    for n in range(shipments):
        session.add(
            Shipment(
                waybill=make_waybill("EC", next(_serial)),
                customer_id=cid,
                origin="Nanning",
                destination="Kunming",
                status="delivered",
                freight_amount=Decimal("10"),
                created_at=start + timedelta(minutes=n),
            )
        )


def drop_flag(session: Session, cid: str, *, week: str, count: int, mean: float = 10.0) -> None:
    """An open volume flag: `count` shipments in `week` against a trailing mean of `mean`."""
    session.add(
        VolumeFlag(
            customer_id=cid,
            week=week,
            week_count=count,
            week_freight=Decimal(10 * count),
            trailing_weeks=4,
            trailing_mean=mean,
            drop_share=round((mean - count) / mean, 4),
            created_by="test",
        )
    )


def campaign(session: Session, **overrides: Any) -> CareCampaign:
    values: dict[str, Any] = {
        "actor": "supervisor:boss",
        "name": "December calls",
        "channel": "phone",
        "period": "month",
        "starts_on": date(2026, 12, 1),
    }
    values.update(overrides)
    return care.define_campaign(session, **values)


def follow_up(session: Session, cid: str, at: datetime) -> None:
    care.record_follow_up(session, customer_id=cid, made_by="someone", channel="phone", reached=False, now=at)


def targets(factory: sessionmaker[Session], campaign_id: int) -> dict[str, tuple[str, str | None, bool]]:
    with session_scope(factory) as session:
        return {
            t.customer_id: (t.status, t.agent, t.required)
            for t in session.scalars(select(CareTarget).where(CareTarget.campaign_id == campaign_id))
        }


# -- periods -----------------------------------------------------------------------------------------------


def test_periods_are_keyed_on_the_carriers_clock() -> None:
    week = care.period_on("week", date(2026, 12, 9))
    assert (week.key, week.first, week.last) == ("2026-W50", date(2026, 12, 7), date(2026, 12, 13))
    month = care.period_on("month", date(2026, 12, 9))
    assert (month.key, month.first, month.end) == ("2026-12", date(2026, 12, 1), date(2027, 1, 1))
    quarter = care.period_on("quarter", date(2026, 12, 9))
    assert (quarter.key, quarter.first, quarter.last) == ("2026-Q4", date(2026, 10, 1), date(2026, 12, 31))
    assert care.period_on("quarter", date(2027, 2, 1)).key == "2027-Q1"
    assert quarter.start_at(CARRIER_TZ) == datetime(2026, 10, 1, tzinfo=CARRIER_TZ)
    # 30 November 16:30 UTC is already 1 December 00:30 in Shanghai.
    moment = datetime(2026, 11, 30, 16, 30, tzinfo=timezone.utc)
    december = CareCampaign(
        name="x", channel="phone", period="month", starts_on=date(2026, 12, 1), created_by="x"
    )
    assert care.period_of(december, moment, CARRIER_TZ).key == "2026-12"
    assert care.period_of(december, moment - timedelta(hours=1), CARRIER_TZ).key == "2026-11"
    assert care.parse_period("quarter", "2026-Q3").first == date(2026, 7, 1)
    assert care.parse_period("month", "2026-02").end == date(2026, 3, 1)
    for kind, bad in (
        ("month", "2026-13"),
        ("quarter", "2026-Q5"),
        ("week", "2026-W54"),
        ("month", "2026-Q1"),
    ):
        with pytest.raises(care.CareRefused):
            care.parse_period(kind, bad)


# -- defining ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"classes": "A,D"}, "There is no customer class D: choose A, B or C."),
        ({"period": "day"}, "Choose a period: week, month or quarter."),
        ({"channel": "fax"}, "Choose how customers are followed up: by message or by phone."),
        ({"owner": "nobody-here"}, "nobody-here is not an active agent: only agents own customers."),
        ({"ends_on": date(2026, 11, 30)}, "The campaign cannot end before it starts."),
        ({"name": "  "}, "Give the campaign a name."),
        ({"not_contacted_days": 0}, "Not contacted for how many days: a whole number from 1 to 3650."),
    ],
)
def test_a_campaign_that_cannot_run_is_refused_with_its_reason(
    factory: sessionmaker[Session], overrides: dict[str, Any], reason: str
) -> None:
    with session_scope(factory) as session, pytest.raises(ValueError) as refused:
        campaign(session, **overrides)
    assert str(refused.value) == reason
    with session_scope(factory) as session:
        assert session.scalars(select(CareCampaign)).all() == []


def test_a_supervisor_cannot_be_the_campaigns_owner_and_a_campaign_is_audited(
    factory: sessionmaker[Session], owners: dict[str, AgentView]
) -> None:
    with session_scope(factory) as session, pytest.raises(care.CareRefused, match="not an active agent"):
        campaign(session, owner=owners["boss"].username)
    with session_scope(factory) as session:
        made = campaign(session, classes=["a", "B", "A"], owner=owners["li"].username, not_contacted_days=30)
        assert (made.classes, made.owner, made.status) == ("A,B", owners["li"].username, "active")
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == care.DEFINED)).all()[-1]
        assert event.actor == "supervisor:boss"
        assert event.data is not None and event.data["campaign"] == made.id and event.data["classes"] == "A,B"


# -- the audience ------------------------------------------------------------------------------------------


def test_each_audience_filter_narrows_the_list(
    factory: sessionmaker[Session], owners: dict[str, AgentView]
) -> None:
    li, wang = owners["li"].username, owners["wang"].username
    with session_scope(factory) as session:
        customer(session, "A1", "A", li)
        customer(session, "A2", "A", wang)
        customer(session, "B1", "B", li)
        customer(session, "C1", "C", None)
        drop_flag(session, "B1", week="2026-W49", count=1)
        follow_up(session, "A1", NOW - timedelta(days=3))  # recent
        follow_up(session, "A2", NOW - timedelta(days=40))  # long ago; C1 and B1 never
    with session_scope(factory) as session:

        def audience(**filters: Any) -> list[str]:
            return [c.id for c in care.select_audience(session, campaign(session, **filters), NOW)]

        assert audience() == ["A1", "A2", "B1", "C1"]
        assert audience(classes="A") == ["A1", "A2"]
        assert audience(classes="B,C") == ["B1", "C1"]
        assert audience(owner=li) == ["A1", "B1"]
        assert audience(volume_drop=True) == ["B1"]
        assert audience(not_contacted_days=30) == ["A2", "B1", "C1"]
        assert audience(not_contacted_days=60) == ["B1", "C1"]
        # Every set filter at once.
        assert audience(classes="A,B", owner=li, not_contacted_days=30) == ["B1"]
        assert audience(classes="A", volume_drop=True) == []


def test_the_period_list_holds_owners_and_required_customers_and_is_drawn_once(
    factory: sessionmaker[Session], owners: dict[str, AgentView]
) -> None:
    li, wang = owners["li"].username, owners["wang"].username
    with session_scope(factory) as session:
        customer(session, "A1", "A", li)
        customer(session, "B1", "B", wang, shipments=LARGE)  # large volume: required
        customer(session, "B2", "B", wang, shipments=LARGE - 1)
        customer(session, "C1", "C", None)
        follow_up(session, "A1", NOW - timedelta(days=2))  # contacted: only its being A-class lists it
        follow_up(session, "B1", NOW - timedelta(days=2))
        follow_up(session, "B2", NOW - timedelta(days=2))
        made = campaign(session, not_contacted_days=30)
        opened = care.open_period(session, made, NOW, **OPEN)
        assert (opened.period, opened.added, opened.present) == ("2026-12", ["A1", "B1", "C1"], 0)
        campaign_id = made.id
    assert targets(factory, campaign_id) == {
        "A1": ("due", li, True),
        "B1": ("due", wang, True),
        "C1": ("due", None, False),
    }
    with session_scope(factory) as session:
        again = care.open_period(
            session, session.get_one(CareCampaign, campaign_id), NOW + timedelta(days=5), **OPEN
        )
        assert (again.added, again.present) == ([], 3)
        # A new customer later in the period joins the list; the next month is a list of its own.
        customer(session, "A9", "A", li)
        later = care.open_period(
            session, session.get_one(CareCampaign, campaign_id), NOW + timedelta(days=6), **OPEN
        )
        assert later.added == ["A9"]
        january = care.open_period(
            session, session.get_one(CareCampaign, campaign_id), NOW + timedelta(days=30), **OPEN
        )
        assert january.period == "2027-01" and january.present == 0
    # A campaign of B-class customers only: the A-class one is not in its audience at all.
    with session_scope(factory) as session:
        only_b = care.open_period(session, campaign(session, classes="B"), NOW, **OPEN)
        assert only_b.added == ["B1", "B2"]


T = TypeVar("T")


def at_once(factory: sessionmaker[Session], work: Callable[[sessionmaker[Session]], T]) -> list[T]:
    """`work` run at the same moment by two processes (threads with engines of their own); their results."""
    url = factory.kw["bind"].url.render_as_string(hide_password=False)
    engines = [make_engine(url) for _ in range(2)]
    results: list[T] = []
    failures: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run(f: sessionmaker[Session]) -> None:
        try:
            barrier.wait()
            results.append(work(f))
        except BaseException as error:  # the assertion below names it
            failures.append(error)

    try:
        threads = [threading.Thread(target=run, args=(make_session_factory(e),)) for e in engines]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        for engine in engines:
            engine.dispose()
    assert failures == []
    return results


def test_the_job_opens_each_period_once_with_two_processes(
    factory: sessionmaker[Session], owners: dict[str, AgentView]
) -> None:
    with session_scope(factory) as session:
        for n in range(6):
            customer(session, f"A{n}", "A", owners["li"].username)
        campaign_id = campaign(session).id
        campaign(session, name="Not yet", starts_on=date(2027, 1, 1))
        closed = campaign(session, name="Closed")
        care.close_campaign(session, closed.id, actor="supervisor:boss")
    runs = at_once(factory, lambda f: care.run_open(f, now=NOW, **OPEN))
    assert sorted(len(r.opened) for r in runs) == [0, 1]
    assert sorted(r.skipped for r in runs) == [0, 1]
    opened = next(r for r in runs if r.opened).opened[0]
    assert (opened.campaign_id, opened.period, len(opened.added)) == (campaign_id, "2026-12", 6)
    with session_scope(factory) as session:
        assert session.scalar(select(text("count(*)")).select_from(CareTarget)) == 6
    # Claimed: a later check in December does nothing, January's does.
    assert care.run_open(factory, now=NOW + timedelta(days=3), **OPEN).opened == []
    january = care.run_open(factory, now=NOW + timedelta(days=30), **OPEN)
    assert [o.period for o in january.opened] == ["2027-01", "2027-01"]


def test_two_processes_drawing_the_same_list_at_once_add_each_customer_once(
    factory: sessionmaker[Session], owners: dict[str, AgentView]
) -> None:
    with session_scope(factory) as session:
        for n in range(8):
            customer(session, f"A{n}", "A", owners["wang"].username)
        campaign_id = campaign(session).id

    def draw(f: sessionmaker[Session]) -> list[str]:
        with session_scope(f) as session:
            return care.open_period(session, session.get_one(CareCampaign, campaign_id), NOW, **OPEN).added

    added = at_once(factory, draw)
    assert sorted(cid for part in added for cid in part) == [f"A{n}" for n in range(8)]
    assert len(targets(factory, campaign_id)) == 8


# -- calls and coverage -------------------------------------------------------------------------------------


@pytest.fixture
def listed(factory: sessionmaker[Session], owners: dict[str, AgentView]) -> dict[str, int]:
    """An A-class phone campaign for December: A1, A2 (li's), A3 (wang's) required; target ids by customer."""
    with session_scope(factory) as session:
        customer(session, "A1", "A", owners["li"].username)
        customer(session, "A2", "A", owners["li"].username)
        customer(session, "A3", "A", owners["wang"].username)
        customer(session, "C1", "C", owners["wang"].username)
        made = campaign(session, classes="A")
        care.open_period(session, made, NOW, **OPEN)
        ids = {t.customer_id: t.id for t in session.scalars(select(CareTarget))}
        ids["campaign"] = made.id
    return ids


def covered(factory: sessionmaker[Session], campaign_id: int) -> care.Coverage:
    with session_scope(factory) as session:
        return care.coverage(session, session.get_one(CareCampaign, campaign_id), "2026-12")


def call(
    factory: sessionmaker[Session],
    target: int,
    who: AgentView,
    *,
    reached: bool,
    at: datetime = NOW,
    **fields: Any,
) -> FollowUpRecord:
    with session_scope(factory) as session:
        record = care.record_call(
            session,
            target_id=target,
            agent=who,
            reached=reached,
            satisfaction=fields.pop("satisfaction", 4 if reached else None),
            tz=CARRIER_TZ,
            now=at,
            **fields,
        )
        session.expunge(record)
        return record


def test_coverage_reaches_100_percent_only_when_every_required_customer_is_answered(
    factory: sessionmaker[Session], owners: dict[str, AgentView], listed: dict[str, int]
) -> None:
    li, wang = owners["li"], owners["wang"]
    start = covered(factory, listed["campaign"])
    assert (start.required_total, start.required_answered, start.complete) == (3, 0, False)
    assert [m["customer_id"] for m in start.missing] == ["A1", "A2", "A3"]
    assert start.missing[2]["agent"] == wang.username
    record = call(
        factory,
        listed["A1"],
        li,
        reached=True,
        satisfaction=5,
        comment="  Happy with the Kunming line  ",
        suggestions="Earlier pickups",
        volume_reason="Off season",
        plans="More in spring",
        next_step="Send the spring rates",
        language="zh",
    )
    assert (record.channel, record.made_by, record.reached, record.satisfaction) == (
        "phone",
        li.username,
        True,
        5,
    )
    assert (record.comment, record.volume_reason, record.plans) == (
        "Happy with the Kunming line",
        "Off season",
        "More in spring",
    )
    assert (record.campaign_id, record.target_id, record.language) == (listed["campaign"], listed["A1"], "zh")
    # Nobody answered A2: unreachable, still missing; a later call the same month reaches them.
    missed = call(
        factory, listed["A2"], li, reached=False, comment="no answer", satisfaction=3, suggestions="x"
    )
    assert (missed.reached, missed.satisfaction, missed.suggestions, missed.comment) == (
        False,
        None,
        None,
        "no answer",
    )
    middle = covered(factory, listed["campaign"])
    assert (middle.required_answered, middle.complete) == (1, False)
    assert middle.counts["answered"] == 1 and middle.counts["unreachable"] == 1 and middle.counts["due"] == 1
    assert [(m["customer_id"], m["status"]) for m in middle.missing] == [("A2", "unreachable"), ("A3", "due")]
    call(factory, listed["A2"], li, reached=True, at=NOW + timedelta(days=1))
    assert [m["customer_id"] for m in covered(factory, listed["campaign"]).missing] == ["A3"]
    # A supervisor may record for anyone; now it is 100%.
    call(factory, listed["A3"], owners["boss"], reached=True)
    done = covered(factory, listed["campaign"])
    assert (done.required_answered, done.required_total, done.share, done.complete, done.missing) == (
        3,
        3,
        1.0,
        True,
        [],
    )
    with session_scope(factory) as session:
        audited = session.scalars(select(AuditEvent).where(AuditEvent.action == care.CALL_RECORDED)).all()
        assert [(e.actor, e.data["customer"], e.data["reached"]) for e in audited if e.data] == [
            (f"agent:{li.username}", "A1", True),
            (f"agent:{li.username}", "A2", False),
            (f"agent:{li.username}", "A2", True),
            (f"supervisor:{owners['boss'].username}", "A3", True),
        ]
        assert [r.customer_id for r in care.follow_ups(session, "A2")] == ["A2", "A2"]
        assert care.follow_ups(session, "A2")[0].reached is True  # newest first


def test_a_skipped_required_customer_still_counts_as_missing(
    factory: sessionmaker[Session], owners: dict[str, AgentView], listed: dict[str, int]
) -> None:
    with session_scope(factory) as session, pytest.raises(care.CareRefused, match="Say why"):
        care.skip_target(
            session, target_id=listed["A3"], agent=owners["wang"], reason=" ", tz=CARRIER_TZ, now=NOW
        )
    with session_scope(factory) as session:
        care.skip_target(
            session,
            target_id=listed["A3"],
            agent=owners["wang"],
            reason="Closed for a month",
            tz=CARRIER_TZ,
            now=NOW,
        )
    result = covered(factory, listed["campaign"])
    assert result.counts["skipped"] == 1 and not result.complete
    assert ("A3", "skipped") in [(m["customer_id"], m["status"]) for m in result.missing]
    with session_scope(factory) as session:
        assert session.scalars(select(AuditEvent.action).where(AuditEvent.action == care.SKIPPED)).all() == [
            care.SKIPPED
        ]


def test_who_may_record_a_call_and_when(
    factory: sessionmaker[Session], owners: dict[str, AgentView], listed: dict[str, int]
) -> None:
    li, wang = owners["li"], owners["wang"]
    with pytest.raises(NotAllowed):
        call(factory, listed["A1"], wang, reached=True)  # li's customer
    with pytest.raises(care.CareRefused, match="how satisfied"):
        call(factory, listed["A1"], li, reached=True, satisfaction=None)
    with pytest.raises(care.CareRefused, match="1 \\(very unhappy\\) to 5"):
        call(factory, listed["A1"], li, reached=True, satisfaction=6)
    with pytest.raises(care.CareRefused, match="too long"):
        call(factory, listed["A1"], li, reached=True, comment="x" * 2001)
    with pytest.raises(NotFound):
        call(factory, 10**9, li, reached=True)
    # January: December's list is over.
    with pytest.raises(care.CareRefused, match="The period 2026-12 is over"):
        call(factory, listed["A1"], li, reached=True, at=NOW + timedelta(days=30))
    call(factory, listed["A1"], li, reached=True)
    with pytest.raises(Conflict):
        call(factory, listed["A1"], li, reached=True)
    with session_scope(factory) as session:
        care.close_campaign(session, listed["campaign"], actor="supervisor:boss", now=NOW)
        with pytest.raises(Conflict):
            care.close_campaign(session, listed["campaign"], actor="supervisor:boss", now=NOW)
    with pytest.raises(care.CareRefused, match="closed"):
        call(factory, listed["A2"], li, reached=True)
    with session_scope(factory) as session:
        # Only the one call that was allowed is on the record; a closed campaign opens no period.
        assert [r.customer_id for r in session.scalars(select(FollowUpRecord))] == ["A1"]
        assert care.run_open(factory, now=NOW + timedelta(days=30), **OPEN).opened == []
        # The campaigns page shows a closed campaign's last list, not the empty month it never drew.
        (row,) = care.campaigns_view(session, NOW + timedelta(days=30), CARRIER_TZ)
        assert (row["period"], row["running"], row["coverage"].required_answered) == ("2026-12", False, 1)


def test_the_call_list_is_the_agents_due_targets_with_the_volume_flag(
    factory: sessionmaker[Session], owners: dict[str, AgentView], listed: dict[str, int]
) -> None:
    li = owners["li"]
    with session_scope(factory) as session:
        drop_flag(session, "A2", week="2026-W49", count=2)
    call(factory, listed["A1"], li, reached=True)
    call(factory, listed["A2"], li, reached=False)
    with session_scope(factory) as session:
        mine = care.call_list(session, agent=li.username, now=NOW, tz=CARRIER_TZ)
        assert [(r["customer"].id, r["target"].status, r["attempts"]) for r in mine] == [
            ("A2", "unreachable", 1)
        ]
        assert mine[0]["flag"].week_count == 2
        everyone = care.call_list(session, agent=None, now=NOW, tz=CARRIER_TZ)
        assert [r["customer"].id for r in everyone] == ["A2", "A3"]
        # A message campaign's targets are the bot's: on a call list only once the bot found no chat to
        # send the script to (none of these customers ever chatted).
        by_message = campaign(session, name="By message", channel="message", classes="A")
        care.open_period(session, by_message, NOW, **OPEN)
        assert len(care.call_list(session, agent=None, now=NOW, tz=CARRIER_TZ)) == 2
        care_messages.due_now(session, policy=Policy(tz=CARRIER_TZ, quiet=None), now=NOW)
        listed_again = care.call_list(session, agent=None, now=NOW, tz=CARRIER_TZ)
        # A1 was called already; A2 and A3 are listed once, by the phone campaign's entry.
        assert sorted((r["customer"].id, r["campaign"].channel) for r in listed_again) == [
            ("A1", "message"),
            ("A2", "phone"),
            ("A3", "phone"),
        ]
        waiting = {r["customer"].id: r["target"].id for r in listed_again}
    # The call answers the message entry that waited for it too.
    call(factory, waiting["A2"], li, reached=True, satisfaction=4)
    with session_scope(factory) as session:
        by_message_targets = session.scalars(
            select(CareTarget).where(CareTarget.campaign_id == by_message.id)
        )
        assert {t.customer_id: t.status for t in by_message_targets} == {
            "A1": "due",
            "A2": "answered",
            "A3": "due",
        }
        listed_last = care.call_list(session, agent=None, now=NOW, tz=CARRIER_TZ)
        assert sorted((r["customer"].id, r["campaign"].channel) for r in listed_last) == [
            ("A1", "message"),
            ("A3", "phone"),
        ]
    with session_scope(factory) as session:
        assert care.call_list(session, agent=None, now=NOW + timedelta(days=30), tz=CARRIER_TZ) == []


def test_quiet_hours_say_when_to_call() -> None:
    quiet = parse_quiet_hours("21:00-08:00")
    late = datetime(2026, 12, 9, 14, 30, tzinfo=timezone.utc)  # 22:30 in Shanghai
    until = care.quiet_until(quiet, late, CARRIER_TZ)
    assert until is not None and until.strftime("%Y-%m-%d %H:%M") == "2026-12-10 08:00"
    assert care.quiet_until(quiet, NOW - timedelta(hours=6), CARRIER_TZ) is None  # 12:00
    assert care.quiet_until(None, late, CARRIER_TZ) is None


def test_the_care_open_command_draws_the_current_period_once(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_ENV", "development")
    get_settings.cache_clear()
    with session_scope(factory) as session:
        customer(session, "A1", "A", None)
        customer(session, "C1", "C", None)
        made = campaign(session, name="Always", classes="A", starts_on=date(2000, 1, 1))
        period = care.period_of(made, clock.utcnow(), get_settings().tz).key
        campaign_id = made.id
    url = factory.kw["bind"].url.render_as_string(hide_password=False)

    def run(*extra: str) -> list[str]:
        out = io.StringIO()
        assert main(["--url", url, "care-open", *extra], stdout=out) == 0
        return out.getvalue().splitlines()

    head = f"campaign {campaign_id} 'Always' (phone) {period}: "
    try:
        assert run("--dry-run") == [
            head + "would add 1 target(s), 0 on the list already: A1",
            "dry run: nothing was stored",
        ]
        assert targets(factory, campaign_id) == {}
        assert run() == [head + "added 1 target(s), 0 on the list already: A1"]
        assert run() == [head + "added 0 target(s), 1 on the list already"]
        assert targets(factory, campaign_id) == {"A1": ("due", None, True)}
    finally:
        get_settings.cache_clear()
