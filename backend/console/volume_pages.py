"""The console's volume watch (/console/volume) and the weekly shipment statistics (/console/reports/...).

Flags are read and handled by any agent for now: the customer's owner is meant to call (issue 20's
ownership narrows the list to one's own customers when it lands). Handling a flag asks for what the
customer said, the seed's care call: why did your volume drop recently, and what do you plan next?
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse

from backend.api.deps import SessionDep, SettingsDep, refusals_return_to
from backend.console.deps import PageAgent, as_view, require_csrf
from backend.console.rendering import render
from backend.services import volume_watch as vw
from backend.services.audit import actor_of

VOLUME_URL = "/console/volume"

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
    error: str | None = None,
) -> HTMLResponse:
    """Flagged customers: this week against their trailing mean, the drop, a sparkline, the handled form."""
    show = show if show in vw.FLAG_STATUSES else "open"
    rows = vw.flags_view(session, settings.tz, status=show)
    return render(
        request,
        "console/volume.html",
        {
            "rows": rows,
            "show": show,
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
