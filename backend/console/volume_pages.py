"""The console's volume watch (/console/volume) and the weekly shipment statistics (/console/reports/...).

The customer's owner calls: an agent sees the flags and the weekly statistics of the customers they own,
a supervisor every owner's (the statistics grouped by owner, with subtotals) or one owner's with
`?owner=` (backend.console.owner_filter). Handling a flag asks for what the customer said, the seed's
care call: why did your volume drop recently, and what do you plan next?
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backend.api.deps import SessionDep, SettingsDep, refusals_return_to
from backend.console.deps import PageAgent, as_view, require_csrf
from backend.console.language import reader_language
from backend.console.owner_filter import owner_choices, owner_scope
from backend.console.pages import _csv_download as csv_download
from backend.console.rendering import render
from backend.console.svg_chart import bar_chart
from backend.errors import InvalidInput
from backend.i18n import N_, t
from backend.models import utcnow
from backend.services import volume_watch as vw
from backend.services.audit import actor_of

VOLUME_URL = "/console/volume"
WEEKLY_URL = "/console/reports/weekly-shipments"
# Customers drawn in the weekly chart (the busiest); the table and the CSV hold every one.
CHART_ROWS = 15

router = APIRouter(prefix="/console", tags=["console pages"], include_in_schema=False)


def return_to_volume(request: Request) -> None:
    """A refused form lands back on the volume page, with its sentence."""
    refusals_return_to(request, VOLUME_URL)


FLAG_FORM = [Depends(require_csrf), Depends(return_to_volume)]


@router.get("/volume", response_class=HTMLResponse)
def volume_page(
    request: Request,
    agent: PageAgent,
    session: SessionDep,
    settings: SettingsDep,
    show: str = Query("open"),
    owner: str | None = Query(None),
    error: str | None = None,
) -> HTMLResponse:
    """Flagged customers (one's own, or a supervisor's choice): this week against their trailing mean,
    the drop, a sparkline, the owner, the handled form."""
    show = show if show in vw.FLAG_STATUSES else "open"
    scope = owner_scope(session, agent, owner)
    rows = vw.flags_view(session, settings.tz, status=show, owner=scope)
    return render(
        request,
        "console/volume.html",
        {
            "rows": rows,
            "show": show,
            "owner": scope if agent.role == "supervisor" else None,
            "owners": owner_choices(session),
            "filter_url": VOLUME_URL,
            "keep": {"show": show},
            "sparks": [r["spark"] for r in rows],
            "error": error,
            "drop_share": settings.volume_drop_share,
            "weeks": settings.volume_watch_weeks,
            "min_shipments": settings.volume_watch_min_shipments,
        },
    )


@router.post("/volume/{flag_id}/handled", dependencies=FLAG_FORM)
def handle_flag_form(
    flag_id: int, agent: PageAgent, session: SessionDep, note: Annotated[str, Form()] = ""
) -> RedirectResponse:
    """Close a flag with what the customer said; audited."""
    vw.handle_flag(
        session,
        flag_id,
        username=agent.username,
        actor=actor_of(as_view(agent)),
        agent_id=agent.id,
        note=note,
    )
    return RedirectResponse(VOLUME_URL, status_code=status.HTTP_303_SEE_OTHER)


# -- the weekly shipment statistics -------------------------------------------------------------------


def _week(request: Request, week: str | None) -> vw.Week:
    tz = request.app.state.settings.tz
    if not week:
        return vw.last_complete_week(utcnow(), tz)
    try:
        return vw.Week.parse(week)
    except vw.BadWeek as error:
        raise InvalidInput(N_("The week must look like 2026-W48.")) from error


@router.get("/reports/weekly-shipments", response_class=HTMLResponse)
def weekly_shipments_page(
    request: Request,
    agent: PageAgent,
    session: SessionDep,
    settings: SettingsDep,
    week: str | None = Query(None),
    owner: str | None = Query(None),
) -> HTMLResponse:
    """The week's shipments per customer (volume, freight, regions, change) grouped by owner with
    subtotals, a chart, a CSV link: an agent's own customers (what they hand the manager), every
    owner's or one owner's for a supervisor."""
    chosen = _week(request, week)
    scope = owner_scope(session, agent, owner)
    report = vw.weekly_report(session, chosen, settings.tz, weeks=settings.volume_watch_weeks, owner=scope)
    language = reader_language(request, agent)
    busiest = report.rows[:CHART_ROWS]
    chart = {
        "labels": [r.name for r in busiest],
        "values": [r.count for r in busiest],
        "previous": [r.previous for r in busiest],
        "week_label": chosen.key,
        "previous_label": chosen.shift(-1).key,
        "unit": t(language, "shipments"),
    }
    return render(
        request,
        "console/weekly_shipments.html",
        {
            "report": report,
            "lines": vw.report_rows(report),
            "subtotals": [(s, vw.subtotal_row(s)) for s in report.owners],
            # Each owner's shipments this week, side by side (the manager's view of the agents' books).
            "owner_chart": bar_chart(
                [s.owner or t(language, "no owner") for s in report.owners],
                [s.count for s in report.owners],
                width=max(420, 110 * len(report.owners)),
            ),
            "owner": scope if agent.role == "supervisor" else None,
            "owners": owner_choices(session),
            "filter_url": WEEKLY_URL,
            "keep": {"week": chosen.key},
            "query": urlencode(
                {"week": chosen.key, **({"owner": scope} if scope and agent.role == "supervisor" else {})}
            ),
            "chart": chart,
            "customers": sum(1 for r in report.rows if r.count),
            "previous_week": chosen.shift(-1).key,
            "next_week": chosen.shift(1).key,
        },
    )


@router.get("/reports/weekly-shipments.csv")
def weekly_shipments_csv(
    request: Request,
    agent: PageAgent,
    session: SessionDep,
    settings: SettingsDep,
    week: str | None = Query(None),
    owner: str | None = Query(None),
) -> Response:
    """The same lines as CSV, with each customer's owner (Excel on a Chinese Windows reads it as UTF-8:
    it starts with the BOM)."""
    chosen = _week(request, week)
    scope = owner_scope(session, agent, owner)
    report = vw.weekly_report(session, chosen, settings.tz, weeks=settings.volume_watch_weeks, owner=scope)
    text = vw.report_csv(report, reader_language(request, agent))
    return csv_download(text, f"weekly-shipments-{chosen.key}.csv")
