"""The monthly follow-up report (回访总结报告): what the month's care calls and messages found.

Seed 001, 2.2: every follow-up is written to the follow-up record (回访记录表), then the results are
analysed and written up in a summary report for the next meeting. Five sections, all read from the fixed
schema (care_campaign, care_target, follow_up_record, volume_flag, customer.owner):

- coverage: each campaign's lists of the periods that fall in the month (the month itself, the ISO weeks
  whose Thursday falls in it, as ISO counts a week to the month holding most of its days, and the quarter
  holding the month: a quarterly list shows its coverage so far); answered is covered (seed 2.4: 100% of
  the large-volume customers), and the required customers still missing are named with their owner;
- satisfaction: the ratings of the month's records (1-5), their spread, by channel and by owner, against
  the month before;
- suggestions, grouped by theme (backend.services.care_themes) over suggestions and comments;
- drops explained: the volume flags of the month's weeks, with what the customer said in the month's
  follow-ups (why the volume dropped, what they plan), else the flag's own note, else "unexplained";
- open actions: next steps we owe customers, recorded up to the month's end and not done, oldest first.

Owner: a care target belongs to the agent whose call list it was on (`care_target.agent`, else the
customer's owner now); everything else to the customer's owner now. An agent reads the report narrowed to
their own (`owner`), a supervisor whole or for one owner (or UNOWNED).
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.console import vocabulary as words
from backend.errors import InvalidInput, NotAllowed, NotFound
from backend.i18n import N_, t
from backend.models import CareCampaign, CareTarget, Customer, FollowUpRecord, VolumeFlag, utcnow
from backend.services.audit import record_audit_event
from backend.services.care_themes import OTHER, THEMES, TITLES, themes_of
from backend.services.ownership import owned
from backend.services.reports import BOM, month_bounds, months_before
from backend.services.volume_watch import Week

# audit_event action when someone marks a follow-up's next step done.
STEP_DONE = "follow_up_step_done"
RATINGS = (1, 2, 3, 4, 5)
FOLLOW_UP_CHANNELS = {"phone": N_("Phone"), "telegram": N_("Telegram"), "web": N_("Web chat")}
TARGET_STATUSES = {
    "due": N_("due"),
    "sent": N_("sent, waiting for the answer"),
    "answered": N_("answered"),
    "unreachable": N_("unreachable"),
    "skipped": N_("skipped"),
}
NO_OWNER = N_("no owner")


# -- the month and its periods ---------------------------------------------------------------------------


# Months a report may ask for: the calendar's edges (year 1, year 9999) have no month before or after.
FIRST_YEAR, LAST_YEAR = 1900, 2999


def parse_month(text: str) -> str:
    """'2026-12' as it is; InvalidInput for anything else."""
    try:
        year = datetime.strptime(text, "%Y-%m").year
    except ValueError as error:
        raise InvalidInput(N_("The month must look like 2026-11.")) from error
    if len(text) != 7 or not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidInput(N_("The month must look like 2026-11."))
    return text


def previous_month(month: str) -> str:
    return months_before(month, 1)[0]


def following_month(month: str) -> str:
    year, number = (int(part) for part in month.split("-"))
    return f"{year + number // 12:04d}-{number % 12 + 1:02d}"


def weeks_of(month: str) -> list[Week]:
    """The ISO weeks whose Thursday falls in the month (each week belongs to exactly one month)."""
    first = date.fromisoformat(f"{month}-01")
    week = Week(*first.isocalendar()[:2])
    found: list[Week] = []
    while True:
        thursday = week.monday + timedelta(days=3)
        if thursday.strftime("%Y-%m") > month:
            return found
        if thursday.strftime("%Y-%m") == month:
            found.append(week)
        week = week.shift(1)


def periods_of(month: str) -> list[str]:
    """The care periods that fall in the month: the month, its weeks, its quarter."""
    year, number = (int(part) for part in month.split("-"))
    return [month, *(w.key for w in weeks_of(month)), f"{year}-Q{(number - 1) // 3 + 1}"]


def _local_day(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d")


def _local(moment: datetime | None, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M") if moment else ""


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive UTC times; PostgreSQL aware ones.
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo("UTC"))


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


# -- coverage --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Missing:
    """A required customer not answered in a campaign's period."""

    customer_id: str
    name: str
    owner: str | None
    status: str


@dataclass(frozen=True)
class Counts:
    """Customers on lists: how many, how many answered, how many required and of those answered."""

    targets: int
    answered: int
    required: int
    required_answered: int

    @classmethod
    def of(cls, targets: Sequence[CareTarget]) -> Counts:
        """Counted per customer: one on two campaigns' lists (a message and a phone campaign for A-class
        customers) is one customer, answered when either list has their answer."""
        customers: dict[str, tuple[bool, bool]] = {}
        for tg in targets:
            required, answered = customers.get(tg.customer_id, (False, False))
            customers[tg.customer_id] = (required or tg.required, answered or tg.status == "answered")
        return cls(
            len(customers),
            sum(1 for _, answered in customers.values() if answered),
            sum(1 for required, _ in customers.values() if required),
            sum(1 for required, answered in customers.values() if required and answered),
        )

    @property
    def coverage(self) -> float | None:
        """Required answered / required (seed 2.4: must be 100%); None when nobody was required."""
        return share(self.required_answered, self.required)


@dataclass(frozen=True)
class CoverageLine:
    """One campaign's list for one period, with the required customers not answered."""

    campaign_id: int
    campaign: str
    channel: str
    period: str
    counts: Counts
    missing: list[Missing]


@dataclass(frozen=True)
class Coverage:
    """The month's lists, the customers on them by owner (None: nobody's), and all of them together."""

    lines: list[CoverageLine]
    owners: list[tuple[str | None, Counts]]
    total: Counts


def coverage(session: Session, month: str, *, owner: str | None = None) -> Coverage:
    """Each campaign's lists for the periods of the month, with the required customers still missing."""
    stmt = (
        select(CareTarget, CareCampaign, Customer)
        .join(CareCampaign, CareCampaign.id == CareTarget.campaign_id)
        .join(Customer, Customer.id == CareTarget.customer_id)
        .where(CareTarget.period.in_(periods_of(month)))
    )
    groups: dict[tuple[int, str], list[tuple[CareTarget, Customer]]] = defaultdict(list)
    campaigns: dict[int, CareCampaign] = {}
    by_owner: dict[str | None, list[CareTarget]] = defaultdict(list)
    for target, campaign, customer in session.execute(stmt).tuples():
        whose = target.agent or customer.owner
        if not owned(whose, owner):
            continue
        campaigns[campaign.id] = campaign
        groups[(campaign.id, target.period)].append((target, customer))
        by_owner[whose].append(target)
    lines = []
    for (campaign_id, period), pairs in groups.items():
        campaign = campaigns[campaign_id]
        missing = sorted(
            (
                Missing(c.id, c.name, tg.agent or c.owner, tg.status)
                for tg, c in pairs
                if tg.required and tg.status != "answered"
            ),
            key=lambda m: (m.owner or "~", m.customer_id),
        )
        counts = Counts.of([tg for tg, _ in pairs])
        lines.append(CoverageLine(campaign_id, campaign.name, campaign.channel, period, counts, missing))
    lines.sort(key=lambda line: (line.campaign, line.campaign_id, line.period))
    owners = [
        (whose, Counts.of(targets))
        for whose, targets in sorted(by_owner.items(), key=lambda item: (item[0] is None, item[0] or ""))
    ]
    everyone = [tg for targets in by_owner.values() for tg in targets]
    return Coverage(lines, owners, Counts.of(everyone))


# -- the month's records ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """A follow-up record of the month with its customer, owner and campaign (what the CSV holds)."""

    row: FollowUpRecord
    customer_name: str
    owner: str | None
    campaign: str | None
    period: str | None


def _records(session: Session, *conditions: Any, owner: str | None) -> list[Record]:
    """Follow-up records meeting `conditions`, with customer, owner and campaign, oldest first."""
    stmt = (
        select(FollowUpRecord, Customer, CareCampaign.name, CareTarget.period)
        .join(Customer, Customer.id == FollowUpRecord.customer_id)
        .outerjoin(CareCampaign, CareCampaign.id == FollowUpRecord.campaign_id)
        .outerjoin(CareTarget, CareTarget.id == FollowUpRecord.target_id)
        .where(*conditions)
        .order_by(FollowUpRecord.made_at, FollowUpRecord.id)
    )
    return [
        Record(row, customer.name, customer.owner, name, period)
        for row, customer, name, period in session.execute(stmt).tuples()
        if owned(customer.owner, owner)
    ]


def records(session: Session, month: str, *, tz: ZoneInfo, owner: str | None = None) -> list[Record]:
    """Every follow-up record made in the month (carrier's clock), oldest first."""
    start, end = month_bounds(month, tz)
    return _records(session, FollowUpRecord.made_at >= start, FollowUpRecord.made_at < end, owner=owner)


# -- satisfaction ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rated:
    """Ratings of a group of records: how many, their mean."""

    key: str | None
    count: int
    mean: float | None


def _rated(key: str | None, ratings: Sequence[int]) -> Rated:
    return Rated(key, len(ratings), round(sum(ratings) / len(ratings), 2) if ratings else None)


@dataclass(frozen=True)
class Satisfaction:
    overall: Rated
    distribution: dict[int, int]
    by_channel: list[Rated]
    by_owner: list[Rated]
    previous: Rated

    @property
    def change(self) -> float | None:
        """The mean against the month before's; None when either has no rating."""
        if self.overall.mean is None or self.previous.mean is None:
            return None
        return round(self.overall.mean - self.previous.mean, 2)


def satisfaction(month_records: Sequence[Record], previous_records: Sequence[Record]) -> Satisfaction:
    """Ratings of the month's records: count, mean, spread 1-5, by channel and owner, the month before."""
    rated = [r for r in month_records if r.row.satisfaction is not None]
    ratings = [int(r.row.satisfaction or 0) for r in rated]
    by_channel: dict[str, list[int]] = {channel: [] for channel in FOLLOW_UP_CHANNELS}
    by_owner: dict[str | None, list[int]] = defaultdict(list)
    for r in rated:
        by_channel.setdefault(r.row.channel, []).append(int(r.row.satisfaction or 0))
        by_owner[r.owner].append(int(r.row.satisfaction or 0))
    before = [int(r.row.satisfaction) for r in previous_records if r.row.satisfaction is not None]
    counted = Counter(ratings)
    return Satisfaction(
        overall=_rated(None, ratings),
        distribution={n: counted.get(n, 0) for n in RATINGS},
        by_channel=[_rated(channel, values) for channel, values in by_channel.items()],
        by_owner=[
            _rated(whose, values)
            for whose, values in sorted(by_owner.items(), key=lambda item: (item[0] is None, item[0] or ""))
        ],
        previous=_rated(None, before),
    )


# -- suggestions by theme --------------------------------------------------------------------------------

SUGGESTION = "suggestions"
COMMENT = "comment"


@dataclass(frozen=True)
class Said:
    """One text a customer said (a suggestion or a comment) with who and when."""

    record_id: int
    customer_id: str
    customer_name: str
    day: str
    field: str
    text: str


@dataclass(frozen=True)
class ThemeGroup:
    key: str
    title: str
    texts: list[Said] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.texts)


def suggestions(month_records: Sequence[Record], *, tz: ZoneInfo) -> list[ThemeGroup]:
    """Every theme (in the seed's order, "other" last) with the texts that speak of it."""
    groups = {key: ThemeGroup(key, title) for key, title in TITLES.items()}
    for r in month_records:
        for name, text in ((SUGGESTION, r.row.suggestions), (COMMENT, r.row.comment)):
            if not text or not text.strip():
                continue
            said = Said(
                r.row.id,
                r.row.customer_id,
                r.customer_name,
                _local_day(_aware(r.row.made_at), tz),
                name,
                text.strip(),
            )
            for key in themes_of(text):
                groups[key].texts.append(said)
    return [groups[theme.key] for theme in THEMES] + [groups[OTHER]]


# -- drops explained -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Explanation:
    """Why a customer's volume dropped: a follow-up's answer, or the note the flag was closed with."""

    source: str  # "follow_up" or "flag_note"
    day: str
    by: str
    reason: str
    plans: str


@dataclass(frozen=True)
class Drop:
    flag: VolumeFlag
    customer_name: str
    owner: str | None
    explanations: list[Explanation]

    @property
    def explained(self) -> bool:
        return bool(self.explanations)


def drops(
    session: Session, month: str, month_records: Sequence[Record], *, tz: ZoneInfo, owner: str | None = None
) -> list[Drop]:
    """The volume flags of the month's weeks, deepest drop first, each with what explains it (if anything)."""
    stmt = (
        select(VolumeFlag, Customer)
        .join(Customer, Customer.id == VolumeFlag.customer_id)
        .where(VolumeFlag.week.in_([w.key for w in weeks_of(month)]))
        .order_by(VolumeFlag.week, VolumeFlag.drop_share.desc(), VolumeFlag.id)
    )
    said: dict[str, list[Explanation]] = defaultdict(list)
    for r in month_records:
        if (r.row.volume_reason or "").strip() or (r.row.plans or "").strip():
            said[r.row.customer_id].append(
                Explanation(
                    "follow_up",
                    _local_day(_aware(r.row.made_at), tz),
                    r.row.made_by,
                    (r.row.volume_reason or "").strip(),
                    (r.row.plans or "").strip(),
                )
            )
    found = []
    for flag, customer in session.execute(stmt).tuples():
        if not owned(customer.owner, owner):
            continue
        explanations = list(said.get(customer.id, []))
        if not explanations and (flag.note or "").strip():
            handled = _aware(flag.handled_at) if flag.handled_at else _aware(flag.created_at)
            explanations = [
                Explanation("flag_note", _local_day(handled, tz), flag.handled_by or "", flag.note or "", "")
            ]
        found.append(Drop(flag, customer.name, customer.owner, explanations))
    return found


# -- open actions ----------------------------------------------------------------------------------------


def open_actions(session: Session, month: str, *, tz: ZoneInfo, owner: str | None = None) -> list[Record]:
    """Next steps recorded up to the month's end and not done yet, oldest first."""
    _, end = month_bounds(month, tz)
    return _records(
        session,
        FollowUpRecord.made_at < end,
        FollowUpRecord.next_step.is_not(None),
        func.trim(FollowUpRecord.next_step) != "",
        FollowUpRecord.next_step_done_at.is_(None),
        owner=owner,
    )


def mark_step_done(
    session: Session, record_id: int, *, username: str, role: str, actor: str, agent_id: int | None
) -> FollowUpRecord:
    """Mark a follow-up's next step done (a supervisor, or the agent who owns the customer); audited."""
    row = session.get(FollowUpRecord, record_id, with_for_update=True)
    if row is None:
        raise NotFound(N_("No follow-up record {record}."), record=record_id)
    customer = session.get(Customer, row.customer_id)
    if role != "supervisor" and (customer is None or customer.owner != username):
        raise NotAllowed(N_("Only the customer's owner or a supervisor may mark this done."))
    if not (row.next_step or "").strip():
        raise InvalidInput(N_("This follow-up has no next step to mark done."))
    if row.next_step_done_at is not None:
        raise InvalidInput(N_("{who} marked this next step done already."), who=row.next_step_done_by or "-")
    row.next_step_done_at = utcnow()
    row.next_step_done_by = username
    record_audit_event(
        session,
        actor=actor,
        action=STEP_DONE,
        agent_id=agent_id,
        data={"record_id": row.id, "customer_id": row.customer_id, "next_step": row.next_step},
    )
    session.flush()
    return row


# -- the report ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FollowUpReport:
    month: str
    owner: str | None
    coverage: Coverage
    records: list[Record]
    satisfaction: Satisfaction
    themes: list[ThemeGroup]
    drops: list[Drop]
    actions: list[Record]

    @property
    def empty(self) -> bool:
        """Nothing at all to report for the month."""
        return not (self.coverage.lines or self.records or self.drops or self.actions)


def follow_up_report(
    session: Session, month: str, *, tz: ZoneInfo, owner: str | None = None
) -> FollowUpReport:
    """The whole report for `month`, narrowed to `owner`'s customers when given (UNOWNED: nobody's)."""
    month = parse_month(month)
    these = records(session, month, tz=tz, owner=owner)
    before = records(session, previous_month(month), tz=tz, owner=owner)
    return FollowUpReport(
        month=month,
        owner=owner,
        coverage=coverage(session, month, owner=owner),
        records=these,
        satisfaction=satisfaction(these, before),
        themes=suggestions(these, tz=tz),
        drops=drops(session, month, these, tz=tz, owner=owner),
        actions=open_actions(session, month, tz=tz, owner=owner),
    )


# -- lines as the page shows them and the CSV holds them ---------------------------------------------------


def percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


RECORD_COLUMNS = (
    N_("Record"),
    N_("Date"),
    N_("Customer id"),
    N_("Customer"),
    N_("Owner"),
    N_("Channel"),
    N_("Made by"),
    N_("Campaign"),
    N_("Period"),
    N_("Reached"),
    N_("Satisfaction (1 to 5)"),
    N_("Comment"),
    N_("Suggestions"),
    N_("Themes"),
    N_("Why the volume dropped"),
    N_("Plans"),
    N_("Next step"),
    N_("Next step done"),
    N_("Done by"),
    N_("Language"),
)


def _yes_no(value: bool, language: str) -> str:
    return t(language, N_("yes") if value else N_("no"))


def record_lines(rows: Iterable[Record], *, tz: ZoneInfo, language: str) -> list[list[str]]:
    """One line per follow-up record with every field (what the page's record table and the CSV hold)."""
    lines = []
    for r in rows:
        row = r.row
        said = " ".join(text for text in (row.suggestions, row.comment) if text and text.strip())
        themes = themes_of(said) if said else []
        lines.append(
            [
                str(row.id),
                _local(_aware(row.made_at), tz),
                row.customer_id,
                r.customer_name,
                r.owner or "",
                t(language, FOLLOW_UP_CHANNELS.get(row.channel, row.channel)),
                words.label(words.SENDERS, "bot", language) if row.made_by == "bot" else row.made_by,
                r.campaign or "",
                r.period or "",
                _yes_no(row.reached, language),
                "" if row.satisfaction is None else str(row.satisfaction),
                row.comment or "",
                row.suggestions or "",
                "; ".join(t(language, TITLES[key]) for key in themes),
                row.volume_reason or "",
                row.plans or "",
                row.next_step or "",
                _local(_aware(row.next_step_done_at), tz) if row.next_step_done_at else "",
                row.next_step_done_by or "",
                words.label(words.LANGUAGES, row.language, language),
            ]
        )
    return lines


COVERAGE_COLUMNS = (
    N_("Campaign"),
    N_("Channel"),
    N_("Period"),
    N_("Customers on the list"),
    N_("Answered"),
    N_("Required"),
    N_("Required answered"),
    N_("Coverage of the required"),
    N_("Required customers missing"),
)
CARE_CHANNELS = {"phone": N_("Phone calls"), "message": N_("Messages")}


def coverage_lines(report: Coverage, *, language: str) -> list[list[str]]:
    """One line per campaign and period (the page's coverage table and the coverage CSV)."""
    return [
        [
            line.campaign,
            t(language, CARE_CHANNELS.get(line.channel, line.channel)),
            line.period,
            str(line.counts.targets),
            str(line.counts.answered),
            str(line.counts.required),
            str(line.counts.required_answered),
            percent(line.counts.coverage),
            "; ".join(
                f"{m.name} ({m.customer_id}, {m.owner or t(language, NO_OWNER)}, "
                f"{t(language, TARGET_STATUSES.get(m.status, m.status))})"
                for m in line.missing
            ),
        ]
        for line in report.lines
    ]


def _cell(value: str) -> str:
    # A spreadsheet reads a cell starting with = + - @ as a formula: what customers said stays text.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def csv_text(header: Sequence[str], lines: Iterable[Sequence[str]], language: str) -> str:
    """CSV with the header in the reader's language, starting with the byte-order mark (Excel, GBK)."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out)
    writer.writerow([t(language, column) for column in header])
    writer.writerows([[_cell(value) for value in line] for line in lines])
    return out.getvalue()
