"""The supervisors' Webhooks page: endpoints (secret shown once), test events and the delivery log.

Every change to an endpoint is audited (audit_event: webhook_endpoint_created, _deactivated, _activated,
_deleted, _pinged) with its URL, never its secret. The secret appears in exactly one response: the page
the creating POST returns (no redirect, so it is in no URL, no session and no later page).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from backend.api.deps import SessionDep, refusals_return_to
from backend.console.deps import PageAgent, as_view, require_csrf, require_supervisor_page
from backend.console.rendering import render
from backend.db import session_scope
from backend.errors import InvalidInput, NotFound
from backend.i18n import N_
from backend.models import WEBHOOK_DELIVERY_STATUSES, Agent, WebhookEndpoint
from backend.services import webhooks
from backend.services.audit import actor_of, record_audit_event

WEBHOOKS_URL = "/console/webhooks"
PER_PAGE = 50

router = APIRouter(prefix="/console", tags=["console pages"], include_in_schema=False)


def return_to_webhooks(request: Request) -> None:
    """A refused webhook form lands back on the page, with its sentence."""
    refusals_return_to(request, WEBHOOKS_URL)


PAGE = [Depends(require_supervisor_page)]
FORM = [Depends(require_csrf), Depends(require_supervisor_page), Depends(return_to_webhooks)]


def _page(
    request: Request,
    session: Session,
    *,
    status_filter: str | None = None,
    endpoint_filter: int | None = None,
    page: int = 1,
    error: str | None = None,
    new_secret: str | None = None,
    new_endpoint: int | None = None,
) -> HTMLResponse:
    status_filter = status_filter if status_filter in WEBHOOK_DELIVERY_STATUSES else None
    endpoints = webhooks.list_endpoints(session)
    rows, total = webhooks.list_deliveries(
        session, status=status_filter, endpoint_id=endpoint_filter, page=page, per_page=PER_PAGE
    )
    return render(
        request,
        "console/webhooks.html",
        {
            "endpoints": endpoints,
            "urls": {e.id: e.url for e in endpoints},
            "deliveries": rows,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // PER_PAGE)),
            "status_filter": status_filter or "",
            "endpoint_filter": endpoint_filter or "",
            "statuses": WEBHOOK_DELIVERY_STATUSES,
            "event_types": webhooks.EVENT_TYPES,
            "error": error,
            "new_secret": new_secret,
            "new_endpoint": new_endpoint,
        },
    )


@router.get("/webhooks", response_class=HTMLResponse, dependencies=PAGE)
def webhooks_page(
    request: Request,
    agent: PageAgent,
    session: SessionDep,
    status_filter: Annotated[str | None, Query(alias="status")] = None,
    endpoint: Annotated[str | None, Query()] = None,
    page: int = 1,
    error: str | None = None,
) -> HTMLResponse:
    """Endpoints and the delivery log (newest first, filtered by status and endpoint, 50 a page)."""
    chosen = int(endpoint) if endpoint and endpoint.isdigit() else None
    return _page(
        request, session, status_filter=status_filter, endpoint_filter=chosen, page=max(page, 1), error=error
    )


def _audit(session: Session, agent: Agent, action: str, endpoint_id: int, url: str) -> None:
    record_audit_event(
        session, actor=actor_of(as_view(agent)), action=action, data={"endpoint": endpoint_id, "url": url}
    )


@router.post("/webhooks", response_class=HTMLResponse, dependencies=FORM)
def create_form(
    request: Request,
    agent: PageAgent,
    url: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    events: Annotated[list[str] | None, Form()] = None,
) -> HTMLResponse:
    """Add an endpoint; the answer is the page with its secret, the one time anybody sees it."""
    with session_scope(request.app.state.session_factory) as session:
        try:
            endpoint, secret = webhooks.create_endpoint(
                session,
                url=url,
                description=description,
                events=events or [],
                created_by=actor_of(as_view(agent)),
            )
        except webhooks.InvalidEndpoint as refused:
            if str(refused) == "events":
                raise InvalidInput(N_("Choose at least one event.")) from refused
            raise InvalidInput(
                N_("The URL must start with {http} or {https} and name a host."),
                http="http://",
                https="https://",
            ) from refused
        record_audit_event(
            session,
            actor=actor_of(as_view(agent)),
            action="webhook_endpoint_created",
            data={"endpoint": endpoint.id, "url": endpoint.url, "events": endpoint.events.split()},
        )
        return _page(request, session, new_secret=secret, new_endpoint=endpoint.id)


def _change(request: Request, agent: Agent, endpoint_id: int, action: str) -> RedirectResponse:
    with session_scope(request.app.state.session_factory) as session:
        if action == "delete":
            endpoint = webhooks.delete_endpoint(session, endpoint_id)
        elif action == "ping":
            endpoint = session.get(WebhookEndpoint, endpoint_id)
            if endpoint is not None:
                webhooks.send_ping(session, endpoint_id)
        else:
            endpoint = webhooks.set_active(session, endpoint_id, action == "activate")
        if endpoint is None:
            raise NotFound(N_("No webhook endpoint {endpoint}."), endpoint=endpoint_id)
        done = {"delete": "deleted", "ping": "pinged", "activate": "activated", "deactivate": "deactivated"}
        _audit(session, agent, f"webhook_endpoint_{done[action]}", endpoint_id, endpoint.url)
    return RedirectResponse(WEBHOOKS_URL, status_code=status.HTTP_303_SEE_OTHER)


@router.post("/webhooks/{endpoint_id}/{action}", dependencies=FORM)
def change_form(endpoint_id: int, action: str, request: Request, agent: PageAgent) -> RedirectResponse:
    """Deactivate, activate, delete, or send a test event (`ping`)."""
    if action not in ("deactivate", "activate", "delete", "ping"):
        raise NotFound(N_("No such change."))
    return _change(request, agent, endpoint_id, action)
