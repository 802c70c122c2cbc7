"""Customer owners in the console: the supervisors' Owners page (assign, transfer, balance), "My customers"
for agents, and the "away" toggle that sends one's customers' escalations straight to the queue."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select

from backend.api.deps import SessionDep, refusals_return_to
from backend.console.deps import PageAgent, as_view, require_csrf, require_supervisor_page
from backend.console.rendering import render
from backend.errors import InvalidInput
from backend.i18n import N_
from backend.models import Agent, Customer
from backend.services import ownership
from backend.services.audit import actor_of

OWNERS_URL = "/console/owners"
MINE_URL = "/console/my-customers"

router = APIRouter(prefix="/console", tags=["console pages"], include_in_schema=False)


def return_to_owners(request: Request) -> None:
    """A refused owners form lands back on the page, with its sentence."""
    refusals_return_to(request, OWNERS_URL)


PAGE = [Depends(require_supervisor_page)]
FORM = [Depends(require_csrf), Depends(require_supervisor_page), Depends(return_to_owners)]


@router.get("/owners", response_class=HTMLResponse, dependencies=PAGE)
def owners_page(
    request: Request,
    agent: PageAgent,
    session: SessionDep,
    preview: bool = False,
    moved: int | None = None,
    error: str | None = None,
) -> HTMLResponse:
    """Every agent with their customers (count, 12-month volume, classes), the assign form, and the balance:
    with `preview`, the moves it would make, to apply or leave."""
    plan = ownership.plan_balance(session) if preview else None
    return render(
        request,
        "console/owners.html",
        {
            "rows": ownership.owners_view(session),
            "agents": ownership.eligible_agents(session),
            "customers": list(session.scalars(select(Customer).order_by(Customer.id))),
            "names": dict(session.execute(select(Agent.username, Agent.display_name)).tuples().all()),
            "plan": plan,
            "moved": moved,
            "error": error,
        },
    )


@router.post("/owners/assign", dependencies=FORM)
def assign_form(
    agent: PageAgent,
    session: SessionDep,
    customer_id: Annotated[str, Form()] = "",
    owner: Annotated[str, Form()] = "",
) -> RedirectResponse:
    """Assign or transfer a customer to an agent, or remove its owner (owner left empty); audited."""
    if not customer_id:
        raise InvalidInput(N_("Choose a customer."))
    ownership.set_owner(session, customer_id, owner or None, actor=actor_of(as_view(agent)))
    return RedirectResponse(OWNERS_URL, status_code=status.HTTP_303_SEE_OTHER)


@router.post("/owners/balance", dependencies=FORM)
def balance_form(agent: PageAgent, session: SessionDep) -> RedirectResponse:
    """Apply the balance (the page showed its moves first); each move an audited transfer."""
    plan = ownership.balance(session, actor=actor_of(as_view(agent)))
    return RedirectResponse(f"{OWNERS_URL}?moved={len(plan.moves)}", status_code=status.HTTP_303_SEE_OTHER)


@router.get("/my-customers", response_class=HTMLResponse)
def my_customers_page(request: Request, agent: PageAgent, session: SessionDep) -> HTMLResponse:
    """The customers this agent looks after, largest volume first, and the away toggle."""
    return render(
        request, "console/my_customers.html", {"customers": ownership.my_customers(session, agent.username)}
    )


def _back(url: str) -> str:
    # Only the console's own pages: a form field must not send the agent anywhere else.
    return url if url.startswith("/console") and "//" not in url and "\\" not in url else MINE_URL


@router.post("/away", dependencies=[Depends(require_csrf)])
def away_form(
    agent: PageAgent,
    session: SessionDep,
    away: Annotated[str, Form()] = "",
    return_to: Annotated[str, Form()] = MINE_URL,
) -> RedirectResponse:
    """Away (escalations of one's customers go to the queue at once) or back at the desk."""
    ownership.set_away(session, agent.username, away == "true")
    return RedirectResponse(_back(return_to), status_code=status.HTTP_303_SEE_OTHER)
