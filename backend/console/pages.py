"""The console's pages: the queue, approvals, the monthly report (a conversation's are in conversation_pages).

Forms post to the routes here (with the CSRF field) and land back on the page they came from (post,
redirect, get); they call the same use cases as the JSON API, and a refusal lands back there too, with
its sentence (the app's one exception handler does that for every form that says where it returns).
Live parts are htmx fragments pushed as server-sent events: a new queue table when anything changes,
each new transcript line as it is stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request, status
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response, StreamingResponse

from backend.api.deps import SessionDep, SettingsDep, refusals_return_to
from backend.config import PROJECT_ROOT
from backend.console import vocabulary as words
from backend.console.deps import (
    PageAgent,
    as_view,
    hub_of,
    require_csrf,
    require_supervisor_page,
    still_logged_in,
)
from backend.console.language import reader_language
from backend.console.rendering import fragment, local_time
from backend.console.rendering import render as render_page
from backend.domain import CUSTOMER_CLASSES
from backend.errors import InvalidInput, NotFound
from backend.hub.broker import AGENTS_TOPIC
from backend.i18n import N_
from backend.language import LANGUAGES
from backend.services import agent_work as work
from backend.services import care
from backend.services import console as reads
from backend.services import customer_classes as classes
from backend.services.audit import actor_of
from backend.services.reports import monthly_report, report_csv, tickets_csv
from backend.services.search import QueueFilter, find_conversations
from backend.services.volume_watch import open_flag

# Front-end libraries come from npm (`npm ci`), served as files; nothing is fetched from a CDN.
VENDOR_FILES = {
    "htmx.min.js": PROJECT_ROOT / "node_modules" / "htmx.org" / "dist" / "htmx.min.js",
    "htmx-sse.js": PROJECT_ROOT / "node_modules" / "htmx-ext-sse" / "dist" / "sse.min.js",
    "chart.umd.js": PROJECT_ROOT / "node_modules" / "chart.js" / "dist" / "chart.umd.js",
}
KEEPALIVE_S = 15.0
# A live stream asks again at least this often whether its login still holds (and before every event),
# so a logged-out or deactivated agent stops receiving shippers' words within seconds.
LOGIN_RECHECK_S = 3.0
# The live queue is drawn again at most this often per agent, and always once after the last change.
QUEUE_RENDER_EVERY_S = 0.5
APPROVALS_URL = "/console/approvals"

router = APIRouter(prefix="/console", tags=["console pages"], include_in_schema=False)


def local(moment: str | datetime | None, request: Request) -> str:
    """A stored UTC time on the carrier's clock, in the reader's language ('today at 14:05', '昨天 09:30')."""
    return local_time(moment, request, reader_language(request))


def render(request: Request, name: str, **context: Any) -> HTMLResponse:
    """A console page (times on the carrier's clock, words in the reader's language)."""
    return render_page(request, name, context)


@router.get("/static/vendor/{name}")
def vendor(name: str) -> FileResponse:
    """htmx, its SSE extension and Chart.js from node_modules."""
    path = VENDOR_FILES.get(name)
    if path is None or not path.exists():
        raise NotFound(N_("Run `npm ci` (make run does) to install it."))
    return FileResponse(path, media_type="text/javascript")


FilterDep = Annotated[QueueFilter, Depends(QueueFilter.of)]


@router.get("", response_class=HTMLResponse)
def queue_page(request: Request, agent: PageAgent, session: SessionDep, wanted: FilterDep) -> HTMLResponse:
    """The queue: waiting conversations and the agent's own, live; or what the search and filters find."""
    rows = find_conversations(session, wanted, agent=agent.username)
    language = reader_language(request, agent)
    return render(
        request,
        "console/queue.html",
        rows=rows,
        wanted=wanted,
        query_string=request.url.query,
        options={
            "language": words.choices(words.LANGUAGES, language),
            "priority": [
                (code, f"{code} {label}") for code, label in words.choices(words.PRIORITIES, language)
            ],
            "status": words.choices(words.TICKET_STATUSES, language),
        },
    )


def customer_url(customer_id: str) -> str:
    """The customer's page."""
    return f"/console/customers/{quote(customer_id, safe='')}"


@router.get("/customers/{customer_id}", response_class=HTMLResponse)
def customer_page(
    customer_id: str, request: Request, agent: PageAgent, session: SessionDep, error: str | None = None
) -> HTMLResponse:
    """One customer: class, masked phone, every conversation and every ticket, newest first; for a
    supervisor also what the class rests on, the pin form and the class history."""
    customer = reads.customer_view(session, customer_id)
    if customer is None:
        raise NotFound(N_("No customer {customer}."), customer=customer_id)
    standing = classes.class_view(session, customer_id) if agent.role == "supervisor" else None
    flag = open_flag(session, customer_id)  # i20v: an open volume drop, for a care call
    return render(
        request,
        "console/customer.html",
        customer=customer,
        standing=standing,
        error=error,
        volume_flag=flag,
        follow_ups=care.follow_ups(session, customer_id),  # i20a: the follow-up record (回访记录表)
    )


@router.get("/customer-classes", response_class=HTMLResponse, dependencies=[Depends(require_supervisor_page)])
def customer_classes_page(request: Request, agent: PageAgent, session: SessionDep) -> HTMLResponse:
    """Supervisors: customers by revenue with their computed, pinned and effective class."""
    return render(request, "console/customer_classes.html", rows=classes.ranking_view(session))


def return_to_customer_page(request: Request, customer_id: str) -> None:
    """A refused pin lands back on the customer's page with its sentence."""
    refusals_return_to(request, customer_url(customer_id))


PIN_FORM = [Depends(require_csrf), Depends(require_supervisor_page), Depends(return_to_customer_page)]


@router.post("/customers/{customer_id}/class", dependencies=PIN_FORM)
def pin_class_form(
    customer_id: str,
    agent: PageAgent,
    session: SessionDep,
    settings: SettingsDep,
    customer_class: Annotated[str, Form()] = "",
) -> RedirectResponse:
    """A supervisor pins the customer's class (A, B or C) or removes the pin ("none"); audited."""
    if customer_class not in (*CUSTOMER_CLASSES, "none"):
        raise InvalidInput(N_("Choose class A, B or C, or remove the pin."))
    try:
        classes.pin(
            session,
            customer_id=customer_id,
            customer_class=None if customer_class == "none" else customer_class,
            actor=actor_of(as_view(agent)),
            agent_id=agent.id,
            a_share=settings.customer_class_a_share,
            b_share=settings.customer_class_b_share,
        )
    except classes.UnknownCustomer as error:
        raise NotFound(N_("No customer {customer}."), customer=customer_id) from error
    return RedirectResponse(customer_url(customer_id), status_code=status.HTTP_303_SEE_OTHER)


@router.get("/approvals", response_class=HTMLResponse, dependencies=[Depends(require_supervisor_page)])
def approvals_page(
    request: Request, agent: PageAgent, session: SessionDep, error: str | None = None
) -> HTMLResponse:
    """Compensation requests waiting for a supervisor, oldest first, and the latest decisions."""
    return render(request, "console/approvals.html", approvals=reads.approvals(session), error=error)


def return_to_decision_page(request: Request, return_to: Annotated[str, Form()] = APPROVALS_URL) -> None:
    """A refused decision lands back where it was made: the approvals list or the conversation."""
    refusals_return_to(request, _console_page(return_to))


def _console_page(url: str) -> str:
    # Only the console's own pages: a form field must not send the supervisor anywhere else.
    return url if url.startswith("/console/") and "//" not in url and "\\" not in url else APPROVALS_URL


DECISION_FORM = [Depends(require_csrf), Depends(require_supervisor_page), Depends(return_to_decision_page)]


@router.post("/approvals/{request_id}/{decision}", dependencies=DECISION_FORM)
async def decide_form(
    request_id: int,
    decision: str,
    request: Request,
    agent: PageAgent,
    amount_cny: Annotated[str, Form()] = "",
    return_to: Annotated[str, Form()] = APPROVALS_URL,
) -> RedirectResponse:
    """The approve and reject buttons without JavaScript: decide, then back to the page they were on."""
    if decision not in ("approve", "reject"):
        raise NotFound(N_("Approve or reject."))
    await work.decide(
        hub_of(request), request_id, as_view(agent), approve=decision == "approve", amount_cny=amount_cny
    )
    return RedirectResponse(_console_page(return_to), status_code=status.HTTP_303_SEE_OTHER)


# -- the agent's language ---------------------------------------------------------------------------


def _back_to_page(url: str) -> str:
    # Only the console's own pages: a form field must not send the agent anywhere else.
    return url if url.startswith("/console") and "//" not in url and "\\" not in url else "/console"


@router.post("/language", dependencies=[Depends(require_csrf)])
def language_form(
    request: Request,
    agent: PageAgent,
    session: SessionDep,
    language: Annotated[str, Form()] = "",
    return_to: Annotated[str, Form()] = "/console",
) -> RedirectResponse:
    """The header's 中文 / English switch: the agent's language from now on, then back to the page."""
    if language not in LANGUAGES:
        raise InvalidInput(N_("Choose Chinese or English."))
    stored = session.get(type(agent), agent.id)
    if stored is not None:
        stored.language = language
    return RedirectResponse(_back_to_page(return_to), status_code=status.HTTP_303_SEE_OTHER)


# -- live updates ------------------------------------------------------------------------------------


def sse(event: str, html: str) -> str:
    """One server-sent event; every line of the fragment is its own data line."""
    lines = "".join(f"data: {line}\n" for line in html.splitlines() or [""])
    return f"event: {event}\n{lines}\n"


async def _events(request: Request, topic: str, *, coalesce_s: float = 0.0) -> AsyncIterator[dict[str, Any]]:
    """The topic's events, a keepalive now and then; ends when the browser leaves or the login ends.

    The login is checked when the stream opens (the route's dependency), before each event is handed
    on, and every LOGIN_RECHECK_S while nothing happens. With `coalesce_s`, events are handed on at
    most once per that many seconds, as one {"type": "changed"} for all that arrived meanwhile: a
    burst ends with one that comes after its last event.
    """
    loop = asyncio.get_running_loop()
    quiet_since = last_yield = loop.time() - coalesce_s
    async with hub_of(request).broker.subscribe(topic) as queue:
        while not await request.is_disconnected():
            try:
                event: dict[str, Any] | None = await asyncio.wait_for(queue.get(), timeout=LOGIN_RECHECK_S)
            except asyncio.TimeoutError:
                event = None
            if event is not None and coalesce_s:
                await asyncio.sleep(max(0.0, last_yield + coalesce_s - loop.time()))
                count = 1
                while not queue.empty():
                    queue.get_nowait()
                    count += 1
                event = {"type": "changed", "events": count}
            if not await still_logged_in(request):
                return
            if event is not None:
                quiet_since = last_yield = loop.time()
                yield event
            elif loop.time() - quiet_since >= KEEPALIVE_S:
                quiet_since = loop.time()
                yield {"type": "keepalive"}


@router.get("/events/queue")
async def queue_events(request: Request, agent: PageAgent, wanted: FilterDep) -> StreamingResponse:
    """The queue table (with the page's search and filters), re-rendered whenever a conversation changes."""
    factory = request.app.state.session_factory

    def rows_html() -> str:
        with factory() as session:
            rows = find_conversations(session, wanted, agent=agent.username)
        return fragment(request, "console/_queue_rows.html", rows=rows, wanted=wanted)

    async def stream() -> AsyncIterator[str]:
        # A burst (a typhoon's worth of messages) re-runs the queue's query a few times, not once per
        # message for every agent watching.
        async for event in _events(request, AGENTS_TOPIC, coalesce_s=QUEUE_RENDER_EVERY_S):
            if event["type"] == "keepalive":
                yield ": keepalive\n\n"
            else:
                yield sse("queue", await asyncio.to_thread(rows_html))

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


# -- the monthly report ------------------------------------------------------------------------------


def _month(request: Request, month: str | None) -> str:
    if month is None:
        return datetime.now(request.app.state.settings.tz).strftime("%Y-%m")
    try:
        datetime.strptime(month, "%Y-%m")
    except ValueError as error:
        raise InvalidInput(N_("The month must look like 2026-11.")) from error
    return month


def _csv_download(text: str, name: str) -> Response:
    # The text starts with the byte-order mark (reports.BOM): Excel on a Chinese Windows reads it as UTF-8.
    return Response(
        text.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/reports", response_class=HTMLResponse, dependencies=[Depends(require_supervisor_page)])
def reports_page(
    request: Request,
    agent: PageAgent,
    session: SessionDep,
    settings: SettingsDep,
    month: str | None = Query(None),
) -> HTMLResponse:
    """The monthly complaint report: the headline figures beside six months, a chart per table."""
    report = monthly_report(
        session, _month(request, month), tz=settings.tz, language=reader_language(request, agent)
    )
    charts = [
        {
            "key": t.key,
            "labels": [r[0] for r in t.rows],
            "values": [r[1] for r in t.rows],
            "unit": t.unit,
            "counts": t.counts,
            "horizontal": t.long_labels,
        }
        for t in report.tables
    ]
    trends = [
        {
            "key": h.key,
            "title": h.title,
            "labels": [m for m, _ in h.values],
            "values": [v for _, v in h.values],
            "unit": h.unit,
            "counts": h.counts,
        }
        for h in report.headlines
    ]
    return render(request, "console/reports.html", report=report, charts=charts, trends=trends)


@router.get("/reports.csv", dependencies=[Depends(require_supervisor_page)])
def reports_csv(
    request: Request,
    agent: PageAgent,
    session: SessionDep,
    settings: SettingsDep,
    month: str | None = Query(None),
    table: str | None = Query(None),
) -> Response:
    """The same report as CSV, whole (with the headline figures' months) or one table."""
    report = monthly_report(
        session, _month(request, month), tz=settings.tz, language=reader_language(request, agent)
    )
    if table is not None and table not in {t.key for t in report.tables}:
        raise NotFound(N_("The report has no table {table}."), table=table)
    return _csv_download(
        report_csv(report, table), f"complaints-{report.month}{'-' + table if table else ''}.csv"
    )


@router.get("/reports/tickets.csv", dependencies=[Depends(require_supervisor_page)])
def reports_tickets_csv(
    request: Request,
    agent: PageAgent,
    session: SessionDep,
    settings: SettingsDep,
    month: str | None = Query(None),
) -> Response:
    """Every ticket opened in the month, one row each with its fields."""
    chosen = _month(request, month)
    text = tickets_csv(session, chosen, tz=settings.tz, language=reader_language(request, agent))
    return _csv_download(text, f"tickets-{chosen}.csv")
