"""The weekly volume watch (A-class: 关注需求波动) and the weekly shipment statistics (周期发货表格).

Weeks are ISO weeks on the carrier's clock (Monday 00:00 to the next Monday 00:00 in its time zone), by
each shipment's `created_at` (when the order reached the carrier, always set). A customer's figures for a
week: shipments, freight (`freight_amount`, else `charged_amount`, as the ABC classes count revenue) and
destination regions (the city or province a destination names).

The watch compares each customer's last complete week with the mean of their own trailing weeks
(VOLUME_WATCH_WEEKS). A drop of more than VOLUME_DROP_SHARE of that mean flags the customer (a
`volume_flag` row with the figures), so that someone calls and asks the seed's question: why did your
volume drop recently, and what do you plan next? Customers with fewer than VOLUME_WATCH_MIN_SHIPMENTS
shipments in the trailing weeks are not judged: one parcel less from an occasional sender is no signal.
A flag is unique per (customer, week), so a rerun (the job on another process, the CLI) adds nothing.

The weekly run claims its week in scheduled_job_run (backend.services.periodic.claim_period, as the
monthly classes do): of several backend processes only the one whose insert succeeds looks at the week.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from backend.config import get_settings
from backend.db import begin_write, session_scope
from backend.errors import InvalidInput, NotFound
from backend.i18n import N_, t
from backend.models import Customer, Shipment, VolumeFlag, utcnow
from backend.services.audit import record_audit_event
from backend.services.ownership import owned, owned_condition
from backend.services.periodic import PeriodicCheck, claim_period

logger = logging.getLogger(__name__)

JOB_NAME = "volume_watch"
JOB_ACTOR = "system:volume_watch"
CLI_ACTOR = "cli:volume-watch"
# audit_event action when someone closes a flag with what the customer said.
FLAG_HANDLED = "volume_flag_handled"
FLAG_STATUSES = ("open", "handled")
# The console's list: the newest this many flags of a status.
LIST_LIMIT = 200
NOTE_MAX = 2000
# Regions shown per customer in the weekly statistics.
TOP_REGIONS = 3
# A spreadsheet opened by Excel on a Chinese Windows reads CSV without a byte-order mark as GBK.
BOM = "\ufeff"
WEEK_PATTERN = re.compile(r"(\d{4})-W(\d{2})")
# "广东省广州市天河区" -> 广州市; "广西壮族自治区" -> the province; "Guangzhou, Guangdong" -> Guangzhou.
CITY = re.compile(r"^(?:.+?(?:省|自治区))?(.+?市)")
PROVINCE = re.compile(r"^(.+?(?:省|自治区|特别行政区))")


class BadWeek(ValueError):
    """A week that is not written like 2026-W48 (or does not exist)."""


@dataclass(frozen=True, order=True)
class Week:
    """An ISO week: its Monday to the next Monday on the carrier's clock."""

    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Week:
        """'2026-W48' as a week; BadWeek for anything else (week 53 only in years that have one)."""
        match = WEEK_PATTERN.fullmatch(text.strip())
        if match is None:
            raise BadWeek(text)
        year, number = int(match[1]), int(match[2])
        try:
            date.fromisocalendar(year, number, 1)
        except ValueError as error:
            raise BadWeek(text) from error
        return cls(year, number)

    @classmethod
    def of(cls, moment: datetime, tz: ZoneInfo) -> Week:
        """The week `moment` falls in on the carrier's clock."""
        year, number, _ = moment.astimezone(tz).isocalendar()
        return cls(year, number)

    @property
    def key(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    def shift(self, weeks: int) -> Week:
        """The week `weeks` weeks later (earlier when negative)."""
        year, number, _ = (self.monday + timedelta(weeks=weeks)).isocalendar()
        return Week(year, number)

    def start(self, tz: ZoneInfo) -> datetime:
        """Monday 00:00 on the carrier's clock."""
        return datetime.combine(self.monday, time(0), tzinfo=tz)

    def __str__(self) -> str:
        return self.key


def last_complete_week(now: datetime, tz: ZoneInfo) -> Week:
    """The week before the one `now` falls in on the carrier's clock."""
    return Week.of(now, tz).shift(-1)


def region_of(destination: str) -> str:
    """The city (else province) a destination names: '广东省广州市天河区' -> '广州市'."""
    text = destination.strip()
    for pattern in (CITY, PROVINCE):
        match = pattern.match(text)
        if match:
            return match[1]
    return re.split(r"[,，]", text, maxsplit=1)[0].strip() or text


FREIGHT = func.coalesce(Shipment.freight_amount, Shipment.charged_amount, 0)


def _week_index(weeks: Sequence[Week], tz: ZoneInfo) -> Any:
    """A SQL expression: the position in `weeks` (consecutive, oldest first) of a shipment's created_at."""
    bounds = [w.shift(1).start(tz) for w in weeks]
    return case(*((Shipment.created_at < bound, i) for i, bound in enumerate(bounds)), else_=len(weeks))


def weekly_figures(
    session: Session, weeks: Sequence[Week], tz: ZoneInfo, *, customer_ids: Sequence[str] | None = None
) -> dict[str, tuple[list[int], list[Decimal]]]:
    """Per customer with shipments in `weeks` (consecutive, oldest first): shipments and freight per week."""
    index = _week_index(weeks, tz)
    stmt = (
        select(Shipment.customer_id, index, func.count(), func.sum(FREIGHT))
        .where(Shipment.created_at >= weeks[0].start(tz), Shipment.created_at < weeks[-1].shift(1).start(tz))
        .group_by(Shipment.customer_id, index)
    )
    if customer_ids is not None:
        stmt = stmt.where(Shipment.customer_id.in_(customer_ids))
    figures: dict[str, tuple[list[int], list[Decimal]]] = {}
    for cid, position, count, freight in session.execute(stmt):
        counts, freights = figures.setdefault(cid, ([0] * len(weeks), [Decimal("0")] * len(weeks)))
        counts[position] = int(count)
        freights[position] = Decimal(freight or 0).quantize(Decimal("0.01"))
    return figures


@dataclass(frozen=True)
class CustomerWeek:
    """One customer's week beside their trailing weeks (counts and freight oldest first, the week last)."""

    customer_id: str
    name: str
    customer_class: str
    counts: list[int]
    freights: list[Decimal]
    # The agent who looks after the customer now (None: nobody).
    owner: str | None = None

    @property
    def count(self) -> int:
        return self.counts[-1]

    @property
    def freight(self) -> Decimal:
        return self.freights[-1]

    @property
    def trailing_total(self) -> int:
        return sum(self.counts[:-1])

    @property
    def trailing_mean(self) -> float:
        return self.trailing_total / max(len(self.counts) - 1, 1)

    @property
    def previous(self) -> int:
        return self.counts[-2] if len(self.counts) > 1 else 0

    @property
    def drop_share(self) -> float | None:
        """How far below the trailing mean the week fell (0.6: 60% fewer); None without a mean."""
        mean = self.trailing_mean
        return (mean - self.count) / mean if mean else None


def dropped(figures: CustomerWeek, *, drop_share: float, min_shipments: int) -> bool:
    """The week fell more than `drop_share` below a trailing mean resting on at least `min_shipments`."""
    if figures.trailing_total < max(min_shipments, 1):
        return False
    share = figures.drop_share
    return share is not None and share > drop_share


def customer_weeks(session: Session, week: Week, tz: ZoneInfo, *, weeks: int) -> list[CustomerWeek]:
    """Every customer with shipments in `week` or the `weeks` before it, with those weeks' figures."""
    span = [week.shift(-n) for n in range(weeks, -1, -1)]
    figures = weekly_figures(session, span, tz)
    customers = {
        c.id: c for c in session.scalars(select(Customer).where(Customer.id.in_(list(figures)))).all()
    }
    return [
        CustomerWeek(
            cid, customers[cid].name, customers[cid].customer_class, counts, freights, customers[cid].owner
        )
        for cid, (counts, freights) in sorted(figures.items())
        if cid in customers
    ]


@dataclass(frozen=True)
class Watch:
    """What one look at a week found: the customers checked, those that dropped, the flags new this time."""

    week: Week
    checked: list[CustomerWeek]
    dropped: list[CustomerWeek]
    new: list[str] = field(default_factory=list)
    dry_run: bool = False


def watch(
    session: Session,
    week: Week,
    *,
    tz: ZoneInfo,
    weeks: int,
    drop_share: float,
    min_shipments: int,
    actor: str = JOB_ACTOR,
    dry_run: bool = False,
) -> Watch:
    """Flag the customers whose `week` dropped (unless a dry run); a customer flagged for it already is
    left as it is. The caller commits."""
    checked = customer_weeks(session, week, tz, weeks=weeks)
    falling = [c for c in checked if dropped(c, drop_share=drop_share, min_shipments=min_shipments)]
    new: list[str] = []
    if not dry_run and falling:
        flagged = set(
            session.scalars(
                select(VolumeFlag.customer_id).where(
                    VolumeFlag.week == week.key, VolumeFlag.customer_id.in_([c.customer_id for c in falling])
                )
            )
        )
        for figures in falling:
            if figures.customer_id in flagged:
                continue
            try:
                # A savepoint each: another process (the CLI beside the job) may insert the same row.
                with session.begin_nested():
                    session.add(
                        VolumeFlag(
                            customer_id=figures.customer_id,
                            week=week.key,
                            week_count=figures.count,
                            week_freight=figures.freight,
                            trailing_weeks=weeks,
                            trailing_mean=round(figures.trailing_mean, 2),
                            drop_share=round(figures.drop_share or 0.0, 4),
                            status="open",
                            created_by=actor,
                        )
                    )
            except IntegrityError:
                continue
            new.append(figures.customer_id)
    return Watch(week, checked, falling, new, dry_run)


# -- the weekly shipment statistics (周期发货表格) ----------------------------------------------------


class AgainstWeekBefore:
    """The change against the week before, for a line with the week's `count` and the `previous` week's."""

    count: int
    previous: int

    @property
    def change(self) -> int:
        """Shipments more (or fewer) than the week before."""
        return self.count - self.previous

    @property
    def change_share(self) -> float | None:
        """The change against the week before as a share of it; None when that week had none."""
        return self.change / self.previous if self.previous else None


@dataclass(frozen=True)
class WeeklyRow(AgainstWeekBefore):
    """One customer's line of the weekly statistics."""

    customer_id: str
    name: str
    customer_class: str
    count: int
    freight: Decimal
    previous: int
    trailing_mean: float
    # The week's destination regions, most shipments first, at most TOP_REGIONS.
    regions: list[tuple[str, int]]
    # The agent who looks after the customer (None: nobody).
    owner: str | None = None

    @property
    def mean_change_share(self) -> float | None:
        """The week against the trailing mean, as a share of the mean; None without a mean."""
        mean = self.trailing_mean
        return (self.count - mean) / mean if mean else None


@dataclass(frozen=True)
class OwnerSubtotal(AgainstWeekBefore):
    """One agent's customers together (seed 1.3: each agent reports their own customers' week)."""

    owner: str | None
    customers: int
    count: int
    freight: Decimal
    previous: int
    # The week's destination regions of all their customers, most first, at most TOP_REGIONS.
    regions: list[tuple[str, int]]


@dataclass(frozen=True)
class WeeklyReport:
    """The week's shipments per customer, grouped by owner (owners by name, nobody's last; the busiest
    customer first within), beside the week before and the trailing mean."""

    week: Week
    weeks: int
    rows: list[WeeklyRow]
    # Every customer's shipments this week by region, most first.
    regions: list[tuple[str, int]]
    # Per owner, in the rows' order.
    owners: list[OwnerSubtotal] = field(default_factory=list)
    # The owner the report is narrowed to (None: every owner; ownership.UNOWNED: nobody's customers).
    owner: str | None = None

    def rows_of(self, owner: str | None) -> list[WeeklyRow]:
        """The lines of one owner's customers."""
        return [r for r in self.rows if r.owner == owner]

    @property
    def total(self) -> int:
        return sum(r.count for r in self.rows)

    @property
    def total_freight(self) -> Decimal:
        return sum((r.freight for r in self.rows), Decimal("0"))

    @property
    def previous_total(self) -> int:
        return sum(r.previous for r in self.rows)


def regions_by_customer(session: Session, week: Week, tz: ZoneInfo) -> dict[str, Counter[str]]:
    """Per customer: the week's shipments by destination region."""
    stmt = (
        select(Shipment.customer_id, Shipment.destination, func.count())
        .where(Shipment.created_at >= week.start(tz), Shipment.created_at < week.shift(1).start(tz))
        .group_by(Shipment.customer_id, Shipment.destination)
    )
    regions: dict[str, Counter[str]] = defaultdict(Counter)
    for cid, destination, count in session.execute(stmt):
        regions[cid][region_of(destination)] += int(count)
    return regions


def _ranked(counter: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counter.items(), key=lambda item: (-item[1], item[0]))


def weekly_report(
    session: Session, week: Week, tz: ZoneInfo, *, weeks: int, owner: str | None = None
) -> WeeklyReport:
    """Every customer who shipped in `week` or the `weeks` before it, grouped by owner, busiest first
    within; only `owner`'s customers when given (ownership.UNOWNED: the customers nobody owns)."""
    regions = regions_by_customer(session, week, tz)
    rows = [
        WeeklyRow(
            c.customer_id,
            c.name,
            c.customer_class,
            c.count,
            c.freight,
            c.previous,
            c.trailing_mean,
            _ranked(regions.get(c.customer_id, Counter()))[:TOP_REGIONS],
            c.owner,
        )
        for c in customer_weeks(session, week, tz, weeks=weeks)
        if owned(c.owner, owner)
    ]
    rows.sort(key=lambda r: (r.owner is None, r.owner or "", -r.count, -r.freight, r.customer_id))
    subtotals = []
    for whose in dict.fromkeys(r.owner for r in rows):
        mine = [r for r in rows if r.owner == whose]
        counted = sum((regions.get(r.customer_id, Counter()) for r in mine), Counter())
        subtotals.append(
            OwnerSubtotal(
                whose,
                len(mine),
                sum(r.count for r in mine),
                sum((r.freight for r in mine), Decimal("0")),
                sum(r.previous for r in mine),
                _ranked(counted)[:TOP_REGIONS],
            )
        )
    shown = {r.customer_id for r in rows}
    week_regions = sum((c for cid, c in regions.items() if cid in shown), Counter())
    return WeeklyReport(week, weeks, rows, _ranked(week_regions), subtotals, owner)


def percent(share: float | None) -> str:
    """A change as '+25.0%' or '-40.0%'; empty when there is nothing to compare with."""
    return "" if share is None else f"{share * 100:+.1f}%"


def region_text(regions: Sequence[tuple[str, int]]) -> str:
    """'Guangzhou 5, Kunming 2'."""
    return ", ".join(f"{name} {count}" for name, count in regions)


CSV_COLUMNS = (
    N_("Customer id"),
    N_("Customer"),
    N_("Class"),
    N_("Shipments"),
    N_("Freight (CNY)"),
    N_("Week before"),
    N_("Change"),
    N_("Change against the week before"),
    N_("Trailing mean"),
    N_("Against the trailing mean"),
    N_("Top regions"),
    N_("Owner"),
)


def report_rows(report: WeeklyReport) -> list[list[str]]:
    """The report's lines as the page shows them and the CSV holds them (numbers as text, not localised)."""
    return [
        [
            r.customer_id,
            r.name,
            r.customer_class,
            str(r.count),
            f"{r.freight:.2f}",
            str(r.previous),
            f"{r.change:+d}",
            percent(r.change_share),
            f"{r.trailing_mean:.1f}",
            percent(r.mean_change_share),
            region_text(r.regions),
            r.owner or "",
        ]
        for r in report.rows
    ]


def subtotal_row(subtotal: OwnerSubtotal) -> list[str]:
    """An owner's subtotal as the page shows it: customers, shipments, freight, week before, change."""
    return [
        str(subtotal.customers),
        str(subtotal.count),
        f"{subtotal.freight:.2f}",
        str(subtotal.previous),
        f"{subtotal.change:+d}",
        percent(subtotal.change_share),
        region_text(subtotal.regions),
    ]


def report_csv(report: WeeklyReport, language: str) -> str:
    """The weekly statistics as CSV, headers in the reader's language, starting with the byte-order mark."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out)
    writer.writerow([t(language, column) for column in CSV_COLUMNS])
    writer.writerows(report_rows(report))
    return out.getvalue()


# -- flags in the console -------------------------------------------------------------------------------


def flags_view(
    session: Session,
    tz: ZoneInfo,
    *,
    status: str = "open",
    limit: int = LIST_LIMIT,
    owner: str | None = None,
) -> list[dict[str, Any]]:
    """Flags of a status (open or handled), newest week first and the deepest drop first within it, each
    with its customer, its owner and the weekly counts behind it (trailing weeks and the flagged week, as
    the shipments stand now) for a sparkline; only `owner`'s customers when given."""
    stmt = (
        select(VolumeFlag, Customer)
        .join(Customer, Customer.id == VolumeFlag.customer_id)
        .where(VolumeFlag.status == status)
        .order_by(VolumeFlag.week.desc(), VolumeFlag.drop_share.desc(), VolumeFlag.id)
        .limit(limit)
    )
    narrowed = owned_condition(Customer.owner, owner)
    if narrowed is not None:
        stmt = stmt.where(narrowed)
    pairs = session.execute(stmt).tuples().all()
    spans: dict[tuple[str, int], list[str]] = defaultdict(list)
    for flag, _ in pairs:
        spans[(flag.week, flag.trailing_weeks)].append(flag.customer_id)
    counts: dict[tuple[str, str], tuple[list[str], list[int]]] = {}
    for (key, trailing), ids in spans.items():
        week = Week.parse(key)
        span = [week.shift(-n) for n in range(trailing, -1, -1)]
        figures = weekly_figures(session, span, tz, customer_ids=ids)
        labels = [w.key for w in span]
        for cid in ids:
            counts[(key, cid)] = (labels, figures.get(cid, ([0] * len(span), []))[0])
    rows = []
    for flag, customer in pairs:
        labels, values = counts[(flag.week, flag.customer_id)]
        rows.append(
            {
                "id": flag.id,
                "customer_id": customer.id,
                "name": customer.name,
                "class": customer.customer_class,
                "owner": customer.owner,
                "week": flag.week,
                "count": flag.week_count,
                "freight": flag.week_freight,
                "trailing_weeks": flag.trailing_weeks,
                "trailing_mean": flag.trailing_mean,
                "drop_share": flag.drop_share,
                "status": flag.status,
                "created_at": flag.created_at,
                "handled_by": flag.handled_by,
                "handled_at": flag.handled_at,
                "note": flag.note,
                "spark": {"key": str(flag.id), "labels": labels, "values": values},
            }
        )
    return rows


def open_flag(session: Session, customer_id: str) -> VolumeFlag | None:
    """The customer's newest open flag, for their page."""
    stmt = (
        select(VolumeFlag)
        .where(VolumeFlag.customer_id == customer_id, VolumeFlag.status == "open")
        .order_by(VolumeFlag.week.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()


def handle_flag(
    session: Session, flag_id: int, *, username: str, actor: str, agent_id: int | None, note: str
) -> VolumeFlag:
    """Close a flag with what the customer said (why the volume dropped, what they plan next); audited."""
    note = note.strip()
    if not note:
        raise InvalidInput(
            N_("Write what the customer said: why their volume dropped and what they plan next.")
        )
    if len(note) > NOTE_MAX:
        raise InvalidInput(N_("The note is too long (at most {limit} characters)."), limit=NOTE_MAX)
    flag = session.get(VolumeFlag, flag_id, with_for_update=True)
    if flag is None:
        raise NotFound(N_("No volume flag {flag}."), flag=flag_id)
    if flag.status == "handled":
        raise InvalidInput(N_("{who} handled this flag already."), who=flag.handled_by or "-")
    flag.status = "handled"
    flag.handled_by = username
    flag.handled_at = utcnow()
    flag.note = note
    record_audit_event(
        session,
        actor=actor,
        action=FLAG_HANDLED,
        agent_id=agent_id,
        data={"customer_id": flag.customer_id, "week": flag.week, "flag_id": flag.id, "note": note},
    )
    session.flush()
    return flag


# -- the weekly job -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WeeklyRun:
    """What one check of the weekly job did: `ran` is False when the week was claimed already."""

    week: str
    ran: bool
    result: Watch | None = None


def run_weekly(
    factory: sessionmaker[Session],
    *,
    tz: ZoneInfo,
    weeks: int,
    drop_share: float,
    min_shipments: int,
    now: datetime | None = None,
) -> WeeklyRun:
    """Look at the last complete week once, whichever process gets here first (claim and flags commit
    together, so a process dying mid-run leaves the week to the next check)."""
    now = now or utcnow()
    week = last_complete_week(now, tz)
    with session_scope(factory) as session:
        begin_write(session)
        claim = claim_period(session, JOB_NAME, week.key, now)
        if claim is None:
            return WeeklyRun(week.key, ran=False)
        result = watch(session, week, tz=tz, weeks=weeks, drop_share=drop_share, min_shipments=min_shipments)
        claim.finished_at = utcnow()
        claim.outcome = _outcome(result)[:500]
    logger.info("volume watch for %s: %s", week.key, _outcome(result))
    return WeeklyRun(week.key, ran=True, result=result)


def _outcome(result: Watch) -> str:
    return f"{len(result.checked)} customers, {len(result.dropped)} dropped, {len(result.new)} new flag(s)"


def weekly_job(factory: sessionmaker[Session], settings: Any) -> PeriodicCheck[WeeklyRun]:
    """The backend's weekly volume watch, checking every VOLUME_WATCH_CHECK_S whether its week is due."""
    return PeriodicCheck(
        lambda: run_weekly(
            factory,
            tz=settings.tz,
            weeks=settings.volume_watch_weeks,
            drop_share=settings.volume_drop_share,
            min_shipments=settings.volume_watch_min_shipments,
        ),
        interval_s=settings.volume_watch_check_s,
        name="volume watch",
    )


# -- the command line ----------------------------------------------------------------------------------


def watch_lines(result: Watch, *, drop_share: float, min_shipments: int) -> list[str]:
    """The watch as `python -m backend volume-watch` prints it."""
    week = result.week
    lines = [
        f"volume watch for {week.key} ({week.monday} to {week.sunday}): {len(result.checked)} customers with "
        f"shipments, a drop of more than {drop_share:.0%} below the trailing mean flags "
        f"(at least {min_shipments} shipments in the trailing weeks)",
    ]
    if not result.dropped:
        lines.append("no customer dropped")
    for c in result.dropped:
        state = "flagged" if c.customer_id in result.new else "already flagged"
        if result.dry_run:
            state = "would be flagged"
        lines.append(
            f"  {c.customer_id} {c.name}: {c.count} shipment(s) against a mean of {c.trailing_mean:.1f} "
            f"(-{c.drop_share or 0:.0%}), {state}"
        )
    if result.dry_run:
        lines.append("dry run: nothing was stored")
    return lines


def run_cli(url: str | None, *, week: str | None, dry_run: bool) -> list[str]:
    """`python -m backend volume-watch [--week YYYY-Www] [--dry-run]`: the last complete week by default."""
    from backend.db import database_session

    settings = get_settings()
    chosen = Week.parse(week) if week else last_complete_week(utcnow(), settings.tz)
    with database_session(url or settings.database_url) as session:
        result = watch(
            session,
            chosen,
            tz=settings.tz,
            weeks=settings.volume_watch_weeks,
            drop_share=settings.volume_drop_share,
            min_shipments=settings.volume_watch_min_shipments,
            actor=CLI_ACTOR,
            dry_run=dry_run,
        )
    return watch_lines(
        result, drop_share=settings.volume_drop_share, min_shipments=settings.volume_watch_min_shipments
    )
