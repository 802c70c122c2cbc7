"""The monthly complaint report (客户投诉月报表): what supervisors read, as tables and as CSV.

DOMAIN.md: counts by category, level, cause and status; time to first response and to resolution
against SLA; satisfaction; repeat complaints; top customers; and, since one deployment serves Chinese
and English, counts by the shipper's language. One table per topic, each a list of
(label, value) rows, so the page draws one chart per table and the CSV has the same numbers.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from statistics import median
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from backend.models import Customer, Shipment, Ticket

# Actors whose first event on a ticket is the first human response.
HUMAN_ACTORS = ("agent:", "supervisor:")
# How the report names the shipper's language (ticket.language); tickets before it was kept were English.
LANGUAGE_LABELS = {"zh": "中文 (Chinese)", "en": "English"}


@dataclass
class Table:
    """One topic of the report: rows of (label, value), with the unit of the values."""

    key: str
    title: str
    unit: str
    rows: Sequence[tuple[str, float | int]] = field(default_factory=list)


@dataclass
class MonthlyReport:
    month: str
    complaints: int
    tables: list[Table]

    def table(self, key: str) -> Table:
        return next(t for t in self.tables if t.key == key)


def month_bounds(month: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The first instant of the month and of the next, in the carrier's time zone."""
    first = date.fromisoformat(f"{month}-01")
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return (
        datetime.combine(first, datetime.min.time(), tzinfo=tz),
        datetime.combine(following, datetime.min.time(), tzinfo=tz),
    )


def _cause(ticket: Ticket, shipment: Shipment | None) -> str:
    if ticket.responsibility == "force_majeure":
        return "force majeure"
    if shipment is not None and (shipment.delay_reason or shipment.exception_reason):
        return str(shipment.delay_reason or shipment.exception_reason)[:80]
    return "not recorded"


def _language(ticket: Ticket) -> str:
    code = ticket.language or "en"
    return LANGUAGE_LABELS.get(code, code)


def _first_response(ticket: Ticket) -> datetime | None:
    for event in ticket.events:
        if event.actor.startswith(HUMAN_ACTORS):
            return event.at
    return None


def _hours(delta: timedelta) -> float:
    return round(delta.total_seconds() / 3600, 1)


def monthly_report(session: Session, month: str, *, tz: ZoneInfo) -> MonthlyReport:
    """The report of the complaints opened in `month` (YYYY-MM, the carrier's calendar)."""
    start, end = month_bounds(month, tz)
    tickets = list(
        session.scalars(
            select(Ticket)
            .where(Ticket.kind == "complaint", Ticket.created_at >= start, Ticket.created_at < end)
            .options(selectinload(Ticket.events))
            .order_by(Ticket.created_at)
        )
    )
    waybills = {t.waybill for t in tickets if t.waybill}
    shipments = (
        {s.waybill: s for s in session.scalars(select(Shipment).where(Shipment.waybill.in_(waybills)))}
        if waybills
        else {}
    )
    customers = {c.id: c for c in session.scalars(select(Customer))}

    def counted(key: str, title: str, labels: list[str]) -> Table:
        return Table(key, title, "complaints", Counter(labels).most_common())

    first_hours = [_hours(first - t.created_at) for t in tickets if (first := _first_response(t)) is not None]
    resolution_hours = [_hours(t.resolved_at - t.created_at) for t in tickets if t.resolved_at]
    with_deadline = [t for t in tickets if t.sla_due_at and t.resolved_at]
    met = sum(1 for t in with_deadline if t.resolved_at and t.sla_due_at and t.resolved_at <= t.sla_due_at)
    ratings = [t.satisfaction for t in tickets if t.satisfaction]
    by_waybill = Counter(t.waybill for t in tickets if t.waybill)
    by_customer = Counter(t.customer_id for t in tickets if t.customer_id)

    tables = [
        counted("category", "By category", [t.category or "other" for t in tickets]),
        counted("level", "By level", [t.level or "not analysed" for t in tickets]),
        counted("language", "By language", [_language(t) for t in tickets]),
        counted("cause", "By cause", [_cause(t, shipments.get(t.waybill or "")) for t in tickets]),
        counted("responsibility", "By responsibility", [t.responsibility or "undetermined" for t in tickets]),
        counted("status", "By status", [t.status for t in tickets]),
        Table(
            "timing",
            "Response and resolution (hours) against SLA",
            "hours / share",
            [
                ("first response, median hours", median(first_hours) if first_hours else 0),
                ("resolution, median hours", median(resolution_hours) if resolution_hours else 0),
                ("resolved within SLA, %", round(100 * met / len(with_deadline)) if with_deadline else 0),
                ("resolved after SLA", len(with_deadline) - met),
                ("not yet resolved", sum(1 for t in tickets if not t.resolved_at)),
            ],
        ),
        Table(
            "satisfaction",
            "Satisfaction (follow-up answers, 1 to 5)",
            "answers",
            [(str(score), ratings.count(score)) for score in range(1, 6)]
            + [("average", round(sum(ratings) / len(ratings), 2) if ratings else 0)],
        ),
        Table(
            "repeat",
            "Repeat complaints (same waybill)",
            "complaints",
            [(waybill, count) for waybill, count in by_waybill.most_common() if count > 1],
        ),
        Table(
            "customers",
            "Top customers by complaints",
            "complaints",
            [
                (f"{customers[c].name} ({customers[c].customer_class})" if c in customers else c, count)
                for c, count in by_customer.most_common(10)
            ],
        ),
    ]
    return MonthlyReport(month=month, complaints=len(tickets), tables=tables)


def _cell(text: str) -> str:
    """A spreadsheet reads a cell that starts with = + - or @ as a formula: keep names as text."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def report_csv(report: MonthlyReport, table: str | None = None) -> str:
    """The report (or one table of it) as CSV: table, label, value, unit."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["month", "table", "label", "value", "unit"])
    for current in report.tables:
        if table and current.key != table:
            continue
        for label, value in current.rows:
            writer.writerow([report.month, current.key, _cell(label), value, current.unit])
    return out.getvalue()
