"""The monthly follow-up report (回访总结报告) from generated records: coverage of the month's lists, the
satisfaction against the month before, suggestions by theme in both languages, volume drops explained,
open actions, the CSV holding the records, and an agent's report narrowed to their own customers."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from statistics import mean

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.errors import InvalidInput, NotAllowed
from backend.models import AuditEvent, CareCampaign, CareTarget, Customer, FollowUpRecord, VolumeFlag
from backend.services import care_report as cr
from backend.services.care_themes import themes_of
from backend.services.ownership import UNOWNED
from tests.backend.factories import CARRIER_TZ, new_account

# November 2012: its 1st is a Thursday, so ISO weeks W44 (Mon 29 Oct) to W48 (to Sun 2 Dec) are its weeks.
MONTH = "2012-11"


def at(day: str, hour: int = 10) -> datetime:
    """A moment on the carrier's clock, stored in timezone.utc."""
    return datetime.fromisoformat(f"{day}T{hour:02d}:00").replace(tzinfo=CARRIER_TZ).astimezone(timezone.utc)


@dataclass
class Month:
    """What the fixture wrote: agents, customers (key -> id), records (key -> id), flags (key -> id)."""

    ann: str
    ben: str
    customers: dict[str, str]
    records: dict[str, int] = field(default_factory=dict)
    flags: dict[str, int] = field(default_factory=dict)
    campaigns: list[int] = field(default_factory=list)


def build_month(factory: sessionmaker[Session], ann: str | None = None, ben: str | None = None) -> Month:
    """Two agents' customers (new agents unless named) with a month of care lists, follow-ups and volume
    flags around them."""
    ann = ann or new_account(factory, "agent")[0]
    ben = ben or new_account(factory, "agent")[0]
    tag = uuid.uuid4().hex[:6].upper()
    owners = {"c1": ann, "c2": ann, "c3": ben, "c4": None, "c5": ben}
    names = {
        "c1": "南宁果业",
        "c2": "Baise Mango",
        "c3": "柳州螺蛳粉厂",
        "c4": "Wuzhou Tea",
        "c5": "Guilin Rice",
    }
    month = Month(ann, ben, {key: f"F{tag}{key[1]}" for key in owners})
    with session_scope(factory) as session:
        for key, owner in owners.items():
            session.add(
                Customer(id=month.customers[key], name=f"{names[key]} {tag}", customer_class="A", owner=owner)
            )
        session.flush()
        c = month.customers

        def campaign(name: str, channel: str, period: str) -> CareCampaign:
            row = CareCampaign(
                name=f"{name} {tag}",
                channel=channel,
                period=period,
                starts_on=at("2012-10-01").date(),
                created_by="supervisor:sue",
            )
            session.add(row)
            session.flush()
            month.campaigns.append(row.id)
            return row

        calls = campaign("A-class calls", "phone", "month")
        weekly = campaign("Weekly messages", "message", "week")
        quarterly = campaign("Quarterly calls", "phone", "quarter")
        # (campaign, customer, period, status, the agent whose list it is, required)
        lists = {
            "c1": (calls, "c1", MONTH, "answered", ann, True),
            "c2": (calls, "c2", MONTH, "due", ann, True),
            "c3": (calls, "c3", MONTH, "answered", ben, False),
            "c4": (calls, "c4", MONTH, "unreachable", None, True),
            "c5w": (weekly, "c5", "2012-W46", "answered", ben, True),
            # 2012-W49's Thursday is 6 December: that list belongs to December.
            "c1w": (weekly, "c1", "2012-W49", "due", ann, True),
            "c3q": (quarterly, "c3", "2012-Q4", "sent", ben, True),
        }
        targets = {
            key: CareTarget(
                campaign_id=listed.id,
                customer_id=c[customer],
                period=period,
                status=status,
                agent=agent,
                required=required,
            )
            for key, (listed, customer, period, status, agent, required) in lists.items()
        }
        session.add_all(targets.values())
        session.flush()

        def record(key: str, customer: str, when: datetime, **values: object) -> None:
            values.setdefault("channel", "phone")
            values.setdefault("made_by", owners[customer] or "bot")
            row = FollowUpRecord(customer_id=c[customer], made_at=when, **values)
            session.add(row)
            session.flush()
            month.records[key] = row.id

        record(
            "r1",
            "c1",
            at("2012-11-05"),
            campaign_id=calls.id,
            target_id=targets["c1"].id,
            satisfaction=5,
            suggestions="派送太慢，希望提货更早一点",
            comment="客服态度很好",
            next_step="回电确认新的提货时间",
            next_step_done_at=at("2012-11-06"),
            next_step_done_by=ann,
            language="zh",
        )
        record(
            "r2",
            "c3",
            at("2012-11-12"),
            channel="telegram",
            made_by="bot",
            campaign_id=calls.id,
            target_id=targets["c3"].id,
            satisfaction=3,
            suggestions="The invoice was wrong and the delivery was LATE",
            language="en",
        )
        record(
            "r3",
            "c4",
            at("2012-11-20"),
            channel="web",
            made_by="bot",
            satisfaction=4,
            suggestions="仓库收货要排队很久",
            comment="ＰＲＩＣＥ is too high",
        )
        record(
            "r4", "c5", at("2012-11-21"), campaign_id=weekly.id, target_id=targets["c5w"].id, reached=False
        )
        record(
            "r5",
            "c2",
            at("2012-11-28"),
            satisfaction=2,
            suggestions="nothing special",
            volume_reason="淡季，订单少了一半",
            plans="十二月恢复到每周十票",
            next_step="Send the new price list",
        )
        # The month before: two ratings, and an action still open; the month after: neither counts.
        record("p1", "c1", at("2012-10-15"), satisfaction=3, next_step="Visit the Nanning warehouse")
        record("p2", "c3", at("2012-10-16"), satisfaction=1)
        record("n1", "c2", at("2012-12-03"), satisfaction=1, suggestions="price", next_step="Later")

        def flag(key: str, customer: str, week: str, **values: object) -> None:
            row = VolumeFlag(
                customer_id=c[customer],
                week=week,
                week_count=3,
                week_freight=Decimal("75.00"),
                trailing_weeks=4,
                trailing_mean=10.0,
                created_by="system:volume_watch",
                **{"drop_share": 0.7, **values},
            )
            session.add(row)
            session.flush()
            month.flags[key] = row.id

        flag("f2", "c2", "2012-W47")
        flag(
            "f3",
            "c3",
            "2012-W44",
            status="handled",
            handled_by=ben,
            handled_at=at("2012-11-02"),
            note="换了别家专线",
        )
        flag("f5", "c5", "2012-W48", drop_share=0.5)
        flag("f1", "c1", "2012-W43")  # 25 October: October's
    return month


def remove_month(factory: sessionmaker[Session], month: Month) -> None:
    with session_scope(factory) as session:
        ids = list(month.customers.values())
        session.execute(delete(FollowUpRecord).where(FollowUpRecord.customer_id.in_(ids)))
        session.execute(delete(VolumeFlag).where(VolumeFlag.customer_id.in_(ids)))
        session.execute(delete(CareTarget).where(CareTarget.campaign_id.in_(month.campaigns)))
        session.execute(delete(CareCampaign).where(CareCampaign.id.in_(month.campaigns)))
        session.execute(delete(Customer).where(Customer.id.in_(ids)))


@pytest.fixture
def generated(db_factory: sessionmaker[Session], seeded_today: object) -> Iterator[Month]:
    month = build_month(db_factory)
    yield month
    remove_month(db_factory, month)


def test_the_months_weeks_and_periods() -> None:
    assert [w.key for w in cr.weeks_of(MONTH)] == ["2012-W44", "2012-W45", "2012-W46", "2012-W47", "2012-W48"]
    # 1 January 2021 is a Friday: that week (2020-W53) belongs to December 2020.
    assert cr.weeks_of("2021-01")[0].key == "2021-W01" and cr.weeks_of("2020-12")[-1].key == "2020-W53"
    assert cr.periods_of(MONTH) == [MONTH, *(w.key for w in cr.weeks_of(MONTH)), "2012-Q4"]
    for bad in ("2012-13", "2012-1", "november", "2012-11-01", "9999-12", "0001-01"):
        with pytest.raises(InvalidInput):
            cr.parse_month(bad)


def test_coverage_names_the_required_customers_still_missing(generated: Month, db_session: Session) -> None:
    c = generated.customers
    report = cr.coverage(db_session, MONTH)
    mine = [line for line in report.lines if line.campaign_id in generated.campaigns]
    lines = {(line.campaign.rsplit(" ", 1)[0], line.period): line for line in mine}
    assert set(lines) == {
        ("A-class calls", MONTH),
        ("Weekly messages", "2012-W46"),
        ("Quarterly calls", "2012-Q4"),
    }
    calls = lines[("A-class calls", MONTH)]
    counts = calls.counts
    assert (counts.targets, counts.answered, counts.required, counts.required_answered) == (4, 2, 3, 1)
    assert [(m.customer_id, m.owner, m.status) for m in calls.missing] == [
        (c["c2"], generated.ann, "due"),
        (c["c4"], None, "unreachable"),
    ]
    assert counts.coverage == pytest.approx(1 / 3)
    weekly = lines[("Weekly messages", "2012-W46")]
    assert weekly.counts.coverage == 1.0 and weekly.missing == []
    quarterly = lines[("Quarterly calls", "2012-Q4")]
    assert [(m.customer_id, m.status) for m in quarterly.missing] == [(c["c3"], "sent")]
    owners = dict(report.owners)
    assert owners[generated.ann] == cr.Counts(targets=2, answered=1, required=2, required_answered=1)
    # Counted per customer: c3 is required on the quarterly list and answered on the monthly one, so
    # Ben's two customers are both covered.
    assert owners[generated.ben] == cr.Counts(targets=2, answered=2, required=2, required_answered=2)

    # An agent's report: only the lists they call.
    ann = cr.coverage(db_session, MONTH, owner=generated.ann)
    assert [(line.period, line.counts.targets) for line in ann.lines] == [(MONTH, 2)]
    assert (ann.total.required, ann.total.required_answered) == (2, 1)
    nobody = cr.coverage(db_session, MONTH, owner=UNOWNED)
    missing = [m.customer_id for line in nobody.lines for m in line.missing]
    assert [cid for cid in missing if cid in c.values()] == [c["c4"]]


def test_satisfaction_by_channel_and_owner_against_the_month_before(
    generated: Month, db_session: Session
) -> None:
    this = [
        r
        for r in cr.records(db_session, MONTH, tz=CARRIER_TZ)
        if r.row.customer_id in generated.customers.values()
    ]
    ratings = {r.row.id: r.row.satisfaction for r in this}
    assert sorted(ratings) == sorted(generated.records[k] for k in ("r1", "r2", "r3", "r4", "r5"))
    before = [
        r
        for r in cr.records(db_session, "2012-10", tz=CARRIER_TZ)
        if r.row.customer_id in generated.customers.values()
    ]
    found = cr.satisfaction(this, before)
    given = [v for v in ratings.values() if v is not None]
    assert found.overall.count == len(given) == 4
    assert found.overall.mean == pytest.approx(mean(given))
    assert found.distribution == {1: 0, 2: 1, 3: 1, 4: 1, 5: 1}
    channels = {r.key: (r.count, r.mean) for r in found.by_channel}
    assert channels == {"phone": (2, 3.5), "telegram": (1, 3.0), "web": (1, 4.0)}
    owners = {r.key: (r.count, r.mean) for r in found.by_owner}
    assert owners == {generated.ann: (2, 3.5), generated.ben: (1, 3.0), None: (1, 4.0)}
    assert (found.previous.count, found.previous.mean) == (2, 2.0)
    assert found.change == pytest.approx(1.5)


def test_suggestions_are_grouped_by_theme_in_both_languages(generated: Month, db_session: Session) -> None:
    this = [
        r
        for r in cr.records(db_session, MONTH, tz=CARRIER_TZ)
        if r.row.customer_id in generated.customers.values()
    ]
    groups = {g.key: g for g in cr.suggestions(this, tz=CARRIER_TZ)}
    texts = {key: sorted(s.text for s in g.texts) for key, g in groups.items()}
    assert texts == {
        "city": sorted(["派送太慢，希望提货更早一点", "The invoice was wrong and the delivery was LATE"]),
        "line_haul": sorted(
            ["派送太慢，希望提货更早一点", "The invoice was wrong and the delivery was LATE"]
        ),
        "receiving": ["仓库收货要排队很久"],
        "service_desk": ["客服态度很好"],
        "billing": sorted(["The invoice was wrong and the delivery was LATE", "ＰＲＩＣＥ is too high"]),
        "other": ["nothing special"],
    }
    assert [g.key for g in cr.suggestions([], tz=CARRIER_TZ)][-1] == "other"
    service = groups["service_desk"].texts[0]
    assert (service.customer_id, service.day, service.field) == (
        generated.customers["c1"],
        "2012-11-05",
        "comment",
    )


@pytest.mark.parametrize(
    ("text", "themes"),
    [
        ("ＤＥＬＩＶＥＲＹ was slow", ["city", "line_haul"]),
        ("市内配送很准时", ["city"]),
        ("干线时效不稳定", ["line_haul"]),
        ("Customer Service was rude", ["service_desk"]),
        ("运费账单看不懂", ["billing"]),
        ("undeliverable", ["other"]),  # a keyword counts at the start of a word only
        ("", ["other"]),
    ],
)
def test_themes_are_matched_on_normalised_text(text: str, themes: list[str]) -> None:
    assert themes_of(text) == themes


def test_drops_are_explained_by_the_follow_up_or_the_flags_note(
    generated: Month, db_session: Session
) -> None:
    c = generated.customers
    this = cr.records(db_session, MONTH, tz=CARRIER_TZ)
    drops = {
        d.flag.customer_id: d
        for d in cr.drops(db_session, MONTH, this, tz=CARRIER_TZ)
        if d.flag.customer_id in c.values()
    }
    assert set(drops) == {c["c2"], c["c3"], c["c5"]}  # c1's flag is of an October week
    said = drops[c["c2"]].explanations
    assert [(e.source, e.reason, e.plans, e.day) for e in said] == [
        ("follow_up", "淡季，订单少了一半", "十二月恢复到每周十票", "2012-11-28")
    ]
    note = drops[c["c3"]].explanations
    assert [(e.source, e.reason, e.by) for e in note] == [("flag_note", "换了别家专线", generated.ben)]
    assert not drops[c["c5"]].explained and drops[c["c5"]].owner == generated.ben


def test_open_actions_oldest_first_and_marking_one_done_is_audited(
    generated: Month, db_session: Session
) -> None:
    mine = set(generated.customers.values())
    actions = [r for r in cr.open_actions(db_session, MONTH, tz=CARRIER_TZ) if r.row.customer_id in mine]
    assert [r.row.id for r in actions] == [generated.records["p1"], generated.records["r5"]]
    assert [r.owner for r in actions] == [generated.ann, generated.ann]

    def done(record: str, username: str, role: str = "agent") -> FollowUpRecord:
        return cr.mark_step_done(
            db_session,
            generated.records[record],
            username=username,
            role=role,
            actor=f"{role}:{username}",
            agent_id=None,
        )

    # Ben owns neither customer: refused; Ann owns them.
    with pytest.raises(NotAllowed):
        done("r5", generated.ben)
    closed = done("r5", generated.ann)
    assert closed.next_step_done_by == generated.ann and closed.next_step_done_at is not None
    with pytest.raises(InvalidInput, match="marked this next step done already"):
        done("r5", "sue", "supervisor")
    with pytest.raises(InvalidInput, match="no next step"):
        done("r2", "sue", "supervisor")
    left = [r.row.id for r in cr.open_actions(db_session, MONTH, tz=CARRIER_TZ) if r.row.customer_id in mine]
    assert left == [generated.records["p1"]]
    events = db_session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == cr.STEP_DONE, AuditEvent.actor == f"agent:{generated.ann}"
        )
    ).all()
    assert [(e.data or {}).get("record_id") for e in events] == [generated.records["r5"]]


def test_the_csv_holds_every_record_of_the_month_with_its_fields(
    generated: Month, db_session: Session
) -> None:
    for language, first in (("en", "Record"), ("zh", "记录编号")):
        rows = cr.records(db_session, MONTH, tz=CARRIER_TZ, owner=generated.ann)
        text = cr.csv_text(
            cr.RECORD_COLUMNS, cr.record_lines(rows, tz=CARRIER_TZ, language=language), language
        )
        assert text.startswith(cr.BOM)
        header, *lines = list(csv.reader(io.StringIO(text.removeprefix(cr.BOM))))
        assert header[0] == first and len(header) == len(cr.RECORD_COLUMNS)
        stored = db_session.scalars(
            select(FollowUpRecord)
            .join(Customer, Customer.id == FollowUpRecord.customer_id)
            .where(
                Customer.owner == generated.ann,
                FollowUpRecord.made_at >= at("2012-11-01", 0),
                FollowUpRecord.made_at < at("2012-12-01", 0),
            )
            .order_by(FollowUpRecord.made_at)
        ).all()
        assert [int(line[0]) for line in lines] == [r.id for r in stored]
        for line, record in zip(lines, stored, strict=True):
            assert line[2] == record.customer_id and line[4] == generated.ann
            assert line[6] == record.made_by
            assert line[10] == ("" if record.satisfaction is None else str(record.satisfaction))
            assert (line[11], line[12]) == (record.comment or "", record.suggestions or "")
            assert (line[14], line[15], line[16]) == (
                record.volume_reason or "",
                record.plans or "",
                record.next_step or "",
            )
            assert line[18] == (record.next_step_done_by or "")
            assert line[1] == record.made_at.replace(tzinfo=record.made_at.tzinfo or timezone.utc).astimezone(
                CARRIER_TZ
            ).strftime("%Y-%m-%d %H:%M")
        r1 = lines[0]
        assert r1[5] == ("Phone" if language == "en" else "电话") and r1[9] == (
            "yes" if language == "en" else "是"
        )
        assert r1[13] == (
            "City delivery and pickup; Line-haul transport; Service desk and customer service"
            if language == "en"
            else "市内配送与提货; 干线运输; 客服与服务台"
        )


def test_an_agents_report_holds_only_their_customers(generated: Month, db_session: Session) -> None:
    c = generated.customers
    ann = cr.follow_up_report(db_session, MONTH, tz=CARRIER_TZ, owner=generated.ann)
    assert {r.row.customer_id for r in ann.records} == {c["c1"], c["c2"]}
    assert {d.flag.customer_id for d in ann.drops} == {c["c2"]}
    assert {r.row.customer_id for r in ann.actions} == {c["c1"], c["c2"]}
    assert [r.key for r in ann.satisfaction.by_owner] == [generated.ann]
    assert not ann.empty
    ben = cr.follow_up_report(db_session, MONTH, tz=CARRIER_TZ, owner=generated.ben)
    assert {r.row.customer_id for r in ben.records} == {c["c3"], c["c5"]}
    assert ben.actions == []
    # A month with nothing in it says so.
    assert cr.follow_up_report(db_session, "1999-02", tz=CARRIER_TZ, owner=generated.ann).empty
