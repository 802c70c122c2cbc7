"""The monthly complaint report (客户投诉月报表): what supervisors read, as tables, trends and CSV files.

DOMAIN.md: counts by category, level, cause and status; time to first response and to resolution
against SLA; satisfaction; repeat complaints; top customers; and, since one deployment serves Chinese
and English, counts by the shipper's language. One table per topic, each a list of (label, value)
rows in ONE unit, so the page draws one chart per table with one unit on its value axis and the CSV
has the same numbers. The headline figures (complaints, response and resolution times, the share
resolved in time, the average satisfaction, repeats) are given for the month and the six before it.

Conversations of `make chat` (channel `cli`) are someone trying the bot in a terminal, not a shipper:
their tickets are counted nowhere here.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from backend.console import vocabulary as words
from backend.domain import PRACTICE_CHANNELS
from backend.i18n import N_, t
from backend.models import Customer, Shipment, Ticket
from backend.record_words import record_text
from backend.services.tickets import agreed_resolution_text, remedy_offered_text

# Actors whose first event on a ticket is the first human response (tickets from before
# first_responded_at was kept).
HUMAN_ACTORS = ("agent:", "supervisor:")
# The headline figures are shown for the report's month and this many months before it.
TREND_MONTHS = 6
# A spreadsheet opened by Excel on a Chinese Windows reads CSV without a byte-order mark as GBK.
BOM = "\ufeff"

# Units of the values; a chart's value axis carries exactly one of them.
COMPLAINTS = N_("complaints")
HOURS = N_("hours")
ANSWERS = N_("answers")
PERCENT = N_("% of resolved complaints")
SCORE = N_("average score (1 to 5)")
# Counts step by whole numbers on their axis (there is no 0.4 of a complaint).
COUNT_UNITS = frozenset({COMPLAINTS, ANSWERS})


@dataclass
class Table:
    """One topic of the report: rows of (label, value), all in one unit."""

    key: str
    title: str
    unit: str
    rows: Sequence[tuple[str, float | int]] = field(default_factory=list)
    # Labels that can be long (causes, customer names) read better down the side of a horizontal chart.
    long_labels: bool = False

    @property
    def counts(self) -> bool:
        """The values are counts (whole numbers)."""
        return self.unit in COUNT_UNITS


@dataclass
class Headline:
    """One headline figure for the report's month and the months before it, oldest first."""

    key: str
    title: str
    unit: str
    values: list[tuple[str, float | int | None]]

    @property
    def current(self) -> float | int | None:
        return self.values[-1][1]

    @property
    def counts(self) -> bool:
        return self.unit in COUNT_UNITS


@dataclass
class MonthlyReport:
    month: str
    complaints: int
    tables: list[Table]
    headlines: list[Headline] = field(default_factory=list)
    # The language the titles and units are written in.
    language: str | None = None

    def table(self, key: str) -> Table:
        return next(t for t in self.tables if t.key == key)

    def headline(self, key: str) -> Headline:
        return next(h for h in self.headlines if h.key == key)

    @property
    def months(self) -> list[str]:
        """The months of the headline figures, oldest first (the report's month last)."""
        return [month for month, _ in self.headlines[0].values] if self.headlines else [self.month]


def month_bounds(month: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The first instant of the month and of the next, in the carrier's time zone."""
    first = date.fromisoformat(f"{month}-01")
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return (
        datetime.combine(first, datetime.min.time(), tzinfo=tz),
        datetime.combine(following, datetime.min.time(), tzinfo=tz),
    )


def months_before(month: str, count: int) -> list[str]:
    """`count` months before `month`, then `month`: oldest first, across years ("2025-12", "2026-01")."""
    year, number = (int(part) for part in month.split("-"))
    index = year * 12 + number - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - count, index + 1)]


NOT_RECORDED = N_("not recorded")
NOT_ANALYSED = N_("not analysed")


def _cause(ticket: Ticket, shipment: Shipment | None, language: str | None) -> str:
    """The complaint's cause in the reader's words: the record's reason, read like the bot reads it."""
    if ticket.responsibility == "force_majeure":
        return words.label(words.RESPONSIBILITIES, "force_majeure", language)
    if shipment is not None and (shipment.delay_reason or shipment.exception_reason):
        # Whole: a chart wraps a long cause over lines rather than cutting it.
        stored = " ".join(str(shipment.delay_reason or shipment.exception_reason).split())
        return record_text(stored, language)
    return t(language, NOT_RECORDED)


def _language(ticket: Ticket, language: str | None) -> str:
    # Tickets from before the shipper's language was kept were English.
    return words.label(words.LANGUAGES, ticket.language or "en", language)


def _first_response(ticket: Ticket) -> datetime | None:
    if ticket.first_responded_at is not None:
        return ticket.first_responded_at
    for event in ticket.events:
        if event.actor.startswith(HUMAN_ACTORS):
            return event.at
    return None


def _hours(delta: timedelta) -> float:
    return round(delta.total_seconds() / 3600, 1)


def _median(values: list[float]) -> float | None:
    return round(median(values), 1) if values else None


def _shipper_tickets(session: Session, start: datetime, end: datetime, *, kind: str | None) -> list[Ticket]:
    """Tickets opened in [start, end), practice conversations left out, oldest first."""
    query = (
        select(Ticket)
        .where(
            Ticket.created_at >= start,
            Ticket.created_at < end,
            or_(Ticket.channel.is_(None), Ticket.channel.not_in(PRACTICE_CHANNELS)),
        )
        .options(selectinload(Ticket.events))
        .order_by(Ticket.created_at, Ticket.id)
    )
    if kind is not None:
        query = query.where(Ticket.kind == kind)
    return list(session.scalars(query))


def _shipments(session: Session, tickets: list[Ticket]) -> dict[str, Shipment]:
    """The tickets' shipments by waybill (their delay or exception reason is the complaint's cause)."""
    waybills = {t.waybill for t in tickets if t.waybill}
    if not waybills:
        return {}
    return {s.waybill: s for s in session.scalars(select(Shipment).where(Shipment.waybill.in_(waybills)))}


@dataclass(frozen=True)
class _Figures:
    """What one month's complaints add up to (the headline figures)."""

    complaints: int
    first_response_hours: float | None
    resolution_hours: float | None
    resolved_in_time_percent: int | None
    satisfaction_average: float | None
    repeats: int


def _figures(tickets: list[Ticket]) -> _Figures:
    first = [_hours(moment - t.created_at) for t in tickets if (moment := _first_response(t)) is not None]
    resolution = [_hours(t.resolved_at - t.created_at) for t in tickets if t.resolved_at]
    with_target = [t for t in tickets if t.resolved_at and t.resolution_due_at]
    in_time = sum(
        1
        for t in with_target
        if t.resolved_at and t.resolution_due_at and t.resolved_at <= t.resolution_due_at
    )
    ratings = [t.satisfaction for t in tickets if t.satisfaction]
    by_waybill = Counter(t.waybill for t in tickets if t.waybill)
    return _Figures(
        complaints=len(tickets),
        first_response_hours=_median(first),
        resolution_hours=_median(resolution),
        resolved_in_time_percent=round(100 * in_time / len(with_target)) if with_target else None,
        satisfaction_average=round(sum(ratings) / len(ratings), 2) if ratings else None,
        repeats=sum(count for count in by_waybill.values() if count > 1),
    )


# The headline figures: key, title, unit, and how to read it from a month's figures.
HEADLINES: tuple[tuple[str, str, str, str], ...] = (
    ("complaints", N_("Complaints"), COMPLAINTS, "complaints"),
    ("first_response", N_("First response, median"), HOURS, "first_response_hours"),
    ("resolution", N_("Resolution, median"), HOURS, "resolution_hours"),
    ("resolved_in_time", N_("Resolved within the resolution target"), PERCENT, "resolved_in_time_percent"),
    ("satisfaction", N_("Satisfaction, average"), SCORE, "satisfaction_average"),
    ("repeat", N_("Repeat complaints (same waybill)"), COMPLAINTS, "repeats"),
)


def monthly_report(
    session: Session, month: str, *, tz: ZoneInfo, language: str | None = None
) -> MonthlyReport:
    """The report of the complaints opened in `month` (YYYY-MM, the carrier's calendar)."""
    months = months_before(month, TREND_MONTHS)
    start, end = month_bounds(month, tz)
    earliest = month_bounds(months[0], tz)[0]
    by_month: dict[str, list[Ticket]] = defaultdict(list)
    for ticket in _shipper_tickets(session, earliest, end, kind="complaint"):
        by_month[ticket.created_at.astimezone(tz).strftime("%Y-%m")].append(ticket)
    tickets = by_month[month]
    shipments = _shipments(session, tickets)
    customers = {c.id: c for c in session.scalars(select(Customer))}

    def say(msgid: str) -> str:
        return t(language, msgid)

    def say_with(msgid: str, **values: Any) -> str:
        return t(language, msgid, **values)

    def counted(key: str, title: str, labels: list[str], *, long_labels: bool = False) -> Table:
        return Table(key, say(title), say(COMPLAINTS), Counter(labels).most_common(), long_labels)

    figures = _figures(tickets)
    answered_in_time = answered_late = resolved_in_time = resolved_late = 0
    for ticket in tickets:
        answered = _first_response(ticket) or ticket.resolved_at
        if answered is not None and ticket.sla_due_at is not None:
            answered_in_time += answered <= ticket.sla_due_at
            answered_late += answered > ticket.sla_due_at
        if ticket.resolved_at is not None and ticket.resolution_due_at is not None:
            resolved_in_time += ticket.resolved_at <= ticket.resolution_due_at
            resolved_late += ticket.resolved_at > ticket.resolution_due_at
    ratings = [t.satisfaction for t in tickets if t.satisfaction]
    by_waybill = Counter(t.waybill for t in tickets if t.waybill)
    by_customer = Counter(t.customer_id for t in tickets if t.customer_id)

    def word(table: Any, code: str | None) -> str:
        return words.label(table, code, language)

    tables = [
        counted(
            "category", N_("By category"), [word(words.CATEGORIES, t.category or "other") for t in tickets]
        ),
        counted(
            "level",
            N_("By level"),
            [word(words.LEVELS, t.level) if t.level else say(NOT_ANALYSED) for t in tickets],
        ),
        counted("language", N_("By language"), [_language(t, language) for t in tickets]),
        counted(
            "cause",
            N_("By cause"),
            [_cause(t, shipments.get(t.waybill or ""), language) for t in tickets],
            long_labels=True,
        ),
        counted(
            "responsibility",
            N_("By responsibility"),
            [word(words.RESPONSIBILITIES, t.responsibility or "undetermined") for t in tickets],
        ),
        counted("status", N_("By status"), [word(words.TICKET_STATUSES, t.status) for t in tickets]),
        Table(
            "timing",
            say(N_("Time to first response and to resolution (median)")),
            say(HOURS),
            [
                (say(N_("first response")), figures.first_response_hours or 0),
                (say(N_("resolution")), figures.resolution_hours or 0),
            ],
        ),
        Table(
            "sla",
            say(N_("Against the SLA targets")),
            say(COMPLAINTS),
            [
                (say(N_("first response in time")), answered_in_time),
                (say(N_("first response late")), answered_late),
                (say(N_("resolved in time")), resolved_in_time),
                (say(N_("resolved late")), resolved_late),
                (say(N_("not yet resolved")), sum(1 for t in tickets if not t.resolved_at)),
            ],
            long_labels=True,
        ),
        Table(
            "satisfaction",
            say(N_("Satisfaction (follow-up answers, 1 to 5)")),
            say(ANSWERS),
            [(str(score), ratings.count(score)) for score in range(1, 6)],
        ),
        Table(
            "repeat",
            say(N_("Repeat complaints (same waybill)")),
            say(COMPLAINTS),
            [(waybill, count) for waybill, count in by_waybill.most_common() if count > 1],
            long_labels=True,
        ),
        Table(
            "customers",
            say(N_("Top customers by complaints")),
            say(COMPLAINTS),
            [
                (
                    say_with(
                        N_("{name} (class {grade})"),
                        name=customers[c].name,
                        grade=customers[c].customer_class,
                    )
                    if c in customers
                    else c,
                    count,
                )
                for c, count in by_customer.most_common(10)
            ],
            long_labels=True,
        ),
    ]
    trend = {m: figures if m == month else _figures(by_month[m]) for m in months}
    headlines = [
        Headline(key, say(title), say(unit), [(m, getattr(trend[m], attribute)) for m in months])
        for key, title, unit, attribute in HEADLINES
    ]
    return MonthlyReport(
        month=month, complaints=len(tickets), tables=tables, headlines=headlines, language=language
    )


def _cell(value: Any) -> Any:
    """A spreadsheet reads a cell that starts with = + - or @ as a formula: keep text as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _csv(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    """CSV text that starts with the UTF-8 byte-order mark, so Excel reads Chinese as Chinese."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if value is None else _cell(value) for value in row])
    return out.getvalue()


# The report's CSV: its header (msgids) and the name of the headline figures' "table".
REPORT_COLUMNS = (N_("Month"), N_("Table"), N_("Label"), N_("Value"), N_("Unit"))
TREND_TABLE = N_("Headline figures")


def report_csv(report: MonthlyReport, table: str | None = None) -> str:
    """The report (or one table of it) as CSV: month, table, label, value, unit (then the trend), all in
    the report's language."""
    rows: list[list[Any]] = [
        [report.month, current.title, label, value, current.unit]
        for current in report.tables
        if not table or current.key == table
        for label, value in current.rows
    ]
    if not table:
        # The headline figures of every month shown, as one more table with the month in the first column.
        trend = t(report.language, TREND_TABLE)
        rows += [
            [month, trend, headline.title, value, headline.unit]
            for headline in report.headlines
            for month, value in headline.values
        ]
    return _csv([t(report.language, column) for column in REPORT_COLUMNS], rows)


def _local(moment: datetime | None, tz: ZoneInfo) -> str | None:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M") if moment else None


def _money(amount: Decimal | None) -> str | None:
    return f"{amount:.2f}" if amount is not None else None


# The tickets file: a header (msgid) and how to read the value from a ticket.
TICKET_COLUMNS: tuple[str, ...] = (
    N_("Ticket number"),
    N_("Kind"),
    N_("Opened"),
    N_("Channel"),
    N_("Conversation"),
    N_("Shipper's language"),
    N_("Customer ID"),
    N_("Customer"),
    N_("Customer class"),
    N_("Waybill"),
    N_("Category"),
    N_("Level"),
    N_("Priority"),
    N_("Responsibility"),
    N_("Cause"),
    N_("Status"),
    N_("Summary"),
    N_("Shipper's account"),
    N_("When it happened"),
    N_("Extent"),
    N_("Declared value (CNY)"),
    N_("Customer wants"),
    N_("Remedy offered"),
    N_("Agreed resolution"),
    N_("Compensation (CNY)"),
    N_("Stage reached"),
    N_("Recorded by"),
    N_("First response due"),
    N_("First response"),
    N_("Hours to first response"),
    N_("Resolution due"),
    N_("Resolved"),
    N_("Hours to resolution"),
    N_("Satisfaction (1 to 5)"),
    N_("Satisfaction comment"),
)


def tickets_csv(session: Session, month: str, *, tz: ZoneInfo, language: str | None = None) -> str:
    """Every ticket opened in `month` (complaints, requests for a person, service requests), one row each."""
    start, end = month_bounds(month, tz)
    tickets = _shipper_tickets(session, start, end, kind=None)
    customers = {c.id: c for c in session.scalars(select(Customer))}
    shipments = _shipments(session, tickets)

    def word(table: Any, code: str | None) -> str | None:
        return words.label(table, code, language) or None

    def row(ticket: Ticket) -> list[Any]:
        customer = customers.get(ticket.customer_id or "")
        first = _first_response(ticket)
        cause = _cause(ticket, shipments.get(ticket.waybill or ""), language)
        return [
            ticket.number,
            word(words.TICKET_KINDS, ticket.kind),
            _local(ticket.created_at, tz),
            word(words.CHANNELS, ticket.channel),
            ticket.conversation_id,
            _language(ticket, language),
            ticket.customer_id,
            customer.name if customer else None,
            customer.customer_class if customer else None,
            ticket.waybill,
            word(words.CATEGORIES, ticket.category),
            word(words.LEVELS, ticket.level),
            ticket.priority,
            word(words.RESPONSIBILITIES, ticket.responsibility),
            cause if ticket.kind == "complaint" else None,
            word(words.TICKET_STATUSES, ticket.status),
            ticket.summary,
            ticket.description,
            ticket.incident_when,
            ticket.extent,
            _money(ticket.declared_value),
            ticket.customer_wants,
            # The bot's remedies in the CSV's language (an agent's own words as typed).
            remedy_offered_text(ticket, language),
            agreed_resolution_text(ticket, language),
            _money(ticket.compensation_cny),
            word(words.COMPLAINT_STAGES, ticket.stage_reached),
            ticket.recorded_by,
            _local(ticket.sla_due_at, tz),
            _local(first, tz),
            _hours(first - ticket.created_at) if first else None,
            _local(ticket.resolution_due_at, tz),
            _local(ticket.resolved_at, tz),
            _hours(ticket.resolved_at - ticket.created_at) if ticket.resolved_at else None,
            ticket.satisfaction,
            ticket.satisfaction_comment,
        ]

    return _csv([t(language, header) for header in TICKET_COLUMNS], (row(ticket) for ticket in tickets))
