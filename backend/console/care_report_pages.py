"""The monthly follow-up report (回访总结报告) in the console: /console/reports/follow-up, its CSV files,
and the "done" button of an open action.

Agents read it narrowed to their own customers, supervisors whole or for one owner
(backend.console.owner_filter). The page's record table and the CSV hold the same lines, as do the
coverage table and the coverage CSV (backend.services.care_report).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backend.api.deps import SessionDep, SettingsDep
from backend.console.deps import PageAgent, as_view, require_csrf
from backend.console.language import reader_language
from backend.console.owner_filter import owner_choices, owner_scope
from backend.console.pages import _csv_download as csv_download
from backend.console.rendering import render
from backend.console.svg_chart import bar_chart
from backend.errors import DomainError
from backend.services import care_report as cr
from backend.services.audit import actor_of

REPORT_URL = "/console/reports/follow-up"
MONTH = re.compile(r"\d{4}-\d{2}")

router = APIRouter(prefix="/console", tags=["console pages"], include_in_schema=False)


def _month(request: Request, month: str | None) -> str:
    if not month:
        return datetime.now(request.app.state.settings.tz).strftime("%Y-%m")
    return cr.parse_month(month)


def _query(month: str, owner: str | None) -> str:
    return urlencode({"month": month, **({"owner": owner} if owner else {})})


@dataclass(frozen=True)
class Asked:
    """What a report's URL asks for: the month (default this one) and whose customers (owner_scope)."""

    month: str
    owner: str | None

    @classmethod
    def of(
        cls,
        request: Request,
        agent: PageAgent,
        session: SessionDep,
        month: str | None = Query(None),
        owner: str | None = Query(None),
    ) -> Asked:
        return cls(_month(request, month), owner_scope(session, agent, owner))


AskedDep = Annotated[Asked, Depends(Asked.of)]


@router.get("/reports/follow-up", response_class=HTMLResponse)
def follow_up_page(
    request: Request,
    agent: PageAgent,
    session: SessionDep,
    settings: SettingsDep,
    asked: AskedDep,
    error: str | None = None,
) -> HTMLResponse:
    """Coverage, satisfaction, suggestions by theme, drops explained, open actions, the month's records."""
    chosen, scope = asked.month, asked.owner
    report = cr.follow_up_report(session, chosen, tz=settings.tz, owner=scope)
    language = reader_language(request, agent)
    spread = report.satisfaction.distribution
    return render(
        request,
        "console/follow_up_report.html",
        {
            "report": report,
            "owner": scope if agent.role == "supervisor" else None,
            "owners": owner_choices(session),
            "keep": {"month": chosen},
            "filter_url": REPORT_URL,
            "query": _query(chosen, scope if agent.role == "supervisor" else None),
            "coverage_lines": cr.coverage_lines(report.coverage, language=language),
            "record_columns": cr.RECORD_COLUMNS,
            "record_lines": cr.record_lines(report.records, tz=settings.tz, language=language),
            "channels": cr.FOLLOW_UP_CHANNELS,
            "chart": bar_chart([str(n) for n in spread], list(spread.values())),
            "previous_month": cr.previous_month(chosen),
            "next_month": cr.following_month(chosen),
            "error": error,
        },
    )


@router.get("/reports/follow-up.csv")
@router.get("/reports/follow-up-coverage.csv")
def follow_up_csv(
    request: Request, agent: PageAgent, session: SessionDep, settings: SettingsDep, asked: AskedDep
) -> Response:
    """The month's follow-up records, one row each with every field (the page's record table), or the
    coverage per campaign and period (the page's coverage table), narrowed as the page is."""
    chosen, scope = asked.month, asked.owner
    language = reader_language(request, agent)
    if request.url.path.endswith("-coverage.csv"):
        found = cr.coverage(session, chosen, owner=scope)
        text = cr.csv_text(cr.COVERAGE_COLUMNS, cr.coverage_lines(found, language=language), language)
        return csv_download(text, f"follow-up-coverage-{chosen}.csv")
    rows = cr.records(session, chosen, tz=settings.tz, owner=scope)
    text = cr.csv_text(cr.RECORD_COLUMNS, cr.record_lines(rows, tz=settings.tz, language=language), language)
    return csv_download(text, f"follow-up-{chosen}.csv")


@router.post("/reports/follow-up/actions/{record_id}/done", dependencies=[Depends(require_csrf)])
def step_done_form(
    record_id: int,
    request: Request,
    agent: PageAgent,
    session: SessionDep,
    month: Annotated[str, Form()] = "",
    owner: Annotated[str, Form()] = "",
) -> RedirectResponse:
    """Mark a follow-up's next step done (the customer's owner or a supervisor); audited. Back to the
    report's month either way, a refusal with its sentence."""
    back = f"{REPORT_URL}?{_query(month, owner)}" if MONTH.fullmatch(month) else REPORT_URL
    try:
        cr.mark_step_done(
            session,
            record_id,
            username=agent.username,
            role=agent.role,
            actor=actor_of(as_view(agent)),
            agent_id=agent.id,
        )
    except DomainError as refusal:
        glue = "&" if "?" in back else "?"
        back += f"{glue}error={quote(refusal.text(reader_language(request, agent)))}"
    return RedirectResponse(back, status_code=status.HTTP_303_SEE_OTHER)
