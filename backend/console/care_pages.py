"""Care campaigns in the console: the supervisors' campaigns with coverage (/console/care), one campaign's
period list with who is missing (/console/care/{id}), and every agent's call list with the seed's script
and the result form (/console/care/calls). Forms land back on their page with the refusal's sentence."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select

from backend.api.deps import SessionDep, SettingsDep, refusals_return_to
from backend.console.deps import PageAgent, as_view, require_csrf, require_supervisor_page
from backend.console.language import reader_language
from backend.console.rendering import render
from backend.errors import NotFound
from backend.i18n import N_
from backend.models import CARE_TARGET_STATUSES, Agent, utcnow
from backend.services import care, ownership
from backend.services.audit import actor_of
from backend.services.notices import parse_quiet_hours

CARE_URL = "/console/care"
CALLS_URL = "/console/care/calls"

# The words for the codes the pages show (templates call `care_word(code)`).
WORDS = {
    "due": N_("to call"),
    "sent": N_("sent"),
    "answered": N_("answered"),
    "unreachable": N_("not reached"),
    "skipped": N_("skipped"),
    "message": N_("by message"),
    "phone": N_("by phone"),
    "week": N_("weekly"),
    "month": N_("monthly"),
    "quarter": N_("quarterly"),
    "active": N_("running"),
    "closed": N_("closed"),
}

router = APIRouter(prefix="/console", tags=["console pages"], include_in_schema=False)


def return_to_care(request: Request) -> None:
    """A refused campaign form lands back on the campaigns page, with its sentence."""
    refusals_return_to(request, CARE_URL)


def return_to_calls(request: Request) -> None:
    """A refused call form lands back on the call list, with its sentence."""
    refusals_return_to(request, CALLS_URL)


PAGE = [Depends(require_supervisor_page)]
CAMPAIGN_FORM = [Depends(require_csrf), Depends(require_supervisor_page), Depends(return_to_care)]
CALL_FORM = [Depends(require_csrf), Depends(return_to_calls)]


def _words(request: Request) -> dict[str, Any]:
    """`care_word` for the templates, in the reader's language."""
    from backend.console.language import translator

    say = translator(reader_language(request))
    return {"care_word": lambda code: say(WORDS[code]) if code in WORDS else code}


def _names(session: SessionDep) -> dict[str, str]:
    return dict(session.execute(select(Agent.username, Agent.display_name)).tuples().all())


@router.get("/care", response_class=HTMLResponse, dependencies=PAGE)
def care_page(
    request: Request, agent: PageAgent, session: SessionDep, settings: SettingsDep, error: str | None = None
) -> HTMLResponse:
    """Every campaign with this period's coverage, the definition form, the close buttons."""
    now = utcnow()
    return render(
        request,
        "console/care.html",
        {
            "rows": care.campaigns_view(session, now, settings.tz),
            "agents": ownership.eligible_agents(session),
            "names": _names(session),
            "today": now.astimezone(settings.tz).date().isoformat(),
            "error": error,
            **_words(request),
        },
    )


def _day(text: str, *, required: bool) -> date | None:
    text = text.strip()
    if not text:
        if required:
            raise care.CareRefused(N_("Give the day the campaign starts."))
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise care.CareRefused(N_("A day must look like 2026-12-01.")) from error


def _whole(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdigit():
        raise care.CareRefused(N_("Not contacted for how many days: a whole number from 1 to 3650."))
    return int(text)


@router.post("/care", dependencies=CAMPAIGN_FORM)
def define_form(
    agent: PageAgent,
    session: SessionDep,
    settings: SettingsDep,
    name: Annotated[str, Form()] = "",
    channel: Annotated[str, Form()] = "",
    period: Annotated[str, Form()] = "",
    classes: Annotated[list[str] | None, Form()] = None,
    owner: Annotated[str, Form()] = "",
    volume_drop: Annotated[str, Form()] = "",
    not_contacted_days: Annotated[str, Form()] = "",
    starts_on: Annotated[str, Form()] = "",
    ends_on: Annotated[str, Form()] = "",
) -> RedirectResponse:
    """Define a campaign (audited); a running one has its current period's list drawn at once."""
    campaign = care.define_campaign(
        session,
        actor=actor_of(as_view(agent)),
        name=name,
        channel=channel,
        period=period,
        classes=classes or [],
        owner=owner or None,
        volume_drop=volume_drop in ("on", "true", "1"),
        not_contacted_days=_whole(not_contacted_days),
        starts_on=_day(starts_on, required=True) or date.min,
        ends_on=_day(ends_on, required=False),
    )
    now = utcnow()
    if care.is_running(campaign, now.astimezone(settings.tz).date()):
        care.open_period(
            session, campaign, now, tz=settings.tz, large_volume=settings.care_large_volume_shipments
        )
    return RedirectResponse(f"{CARE_URL}/{campaign.id}", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/care/{campaign_id}/close", dependencies=CAMPAIGN_FORM)
def close_form(campaign_id: int, agent: PageAgent, session: SessionDep) -> RedirectResponse:
    """Close a campaign: no new periods, no more calls; audited."""
    care.close_campaign(session, campaign_id, actor=actor_of(as_view(agent)))
    return RedirectResponse(CARE_URL, status_code=status.HTTP_303_SEE_OTHER)


# -- the call list (every agent) -----------------------------------------------------------------------


@router.get("/care/calls", response_class=HTMLResponse)
def calls_page(
    request: Request,
    agent: PageAgent,
    session: SessionDep,
    settings: SettingsDep,
    who: Annotated[str | None, Query(alias="agent")] = None,
    error: str | None = None,
) -> HTMLResponse:
    """The phone calls still due this period: an agent's own; a supervisor's choice of agent, or all."""
    # An agent's list is their own whatever the address says.
    chosen = (who or None) if agent.role == "supervisor" else agent.username
    now = utcnow()
    quiet = parse_quiet_hours(settings.quiet_hours)
    return render(
        request,
        "console/care_calls.html",
        {
            "rows": care.call_list(session, agent=chosen, now=now, tz=settings.tz),
            "chosen": chosen,
            "agents": ownership.eligible_agents(session),
            "names": _names(session),
            "quiet": quiet,
            "quiet_until": care.quiet_until(quiet, now, settings.tz),
            "error": error,
            "saved": request.query_params.get("saved"),
            **_words(request),
        },
    )


def _satisfaction(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if text not in ("1", "2", "3", "4", "5"):
        raise care.CareRefused(N_("Satisfaction is 1 (very unhappy) to 5 (very satisfied)."))
    return int(text)


@router.post("/care/calls/{target_id}", dependencies=CALL_FORM)
def call_form(
    target_id: int,
    request: Request,
    agent: PageAgent,
    session: SessionDep,
    settings: SettingsDep,
    reached: Annotated[str, Form()] = "",
    satisfaction: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
    suggestions: Annotated[str, Form()] = "",
    volume_reason: Annotated[str, Form()] = "",
    plans: Annotated[str, Form()] = "",
    next_step: Annotated[str, Form()] = "",
) -> RedirectResponse:
    """A call's result: a follow-up record, the customer answered or not reached (to call again); audited."""
    if reached not in ("yes", "no"):
        raise care.CareRefused(N_("Say whether the customer was reached."))
    care.record_call(
        session,
        target_id=target_id,
        agent=as_view(agent),
        reached=reached == "yes",
        satisfaction=_satisfaction(satisfaction) if reached == "yes" else None,
        comment=comment,
        suggestions=suggestions,
        volume_reason=volume_reason,
        plans=plans,
        next_step=next_step,
        language=reader_language(request, agent),
        tz=settings.tz,
    )
    return RedirectResponse(f"{CALLS_URL}?saved={target_id}", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/care/calls/{target_id}/skip", dependencies=CALL_FORM)
def skip_form(
    target_id: int,
    agent: PageAgent,
    session: SessionDep,
    settings: SettingsDep,
    reason: Annotated[str, Form()] = "",
) -> RedirectResponse:
    """Leave a customer out of this period's calls, with why; audited."""
    care.skip_target(session, target_id=target_id, agent=as_view(agent), reason=reason, tz=settings.tz)
    return RedirectResponse(CALLS_URL, status_code=status.HTTP_303_SEE_OTHER)


# -- one campaign (supervisors) ---------------------------------------------------------------------------


@router.get("/care/{campaign_id}", response_class=HTMLResponse, dependencies=PAGE)
def campaign_page(
    campaign_id: int,
    request: Request,
    agent: PageAgent,
    session: SessionDep,
    settings: SettingsDep,
    period: str | None = Query(None),
    error: str | None = None,
) -> HTMLResponse:
    """One campaign's list for this period (or `period`): who, owner, class, status, last follow-up, the
    coverage and the required customers not answered yet."""
    campaign = care.get_campaign(session, campaign_id)
    now = utcnow()
    current = care.period_of(campaign, now, settings.tz).key
    chosen = care.parse_period(campaign.period, period).key if period else current
    known = care.periods_of(session, campaign)
    if period and chosen not in known and chosen != current:
        raise NotFound(N_("The campaign has no list for {period}."), period=chosen)
    return render(
        request,
        "console/care_campaign.html",
        {
            "campaign": campaign,
            "period": chosen,
            "current": current,
            "periods": sorted(set(known) | {current}, reverse=True),
            "rows": care.targets_view(session, campaign, chosen),
            "coverage": care.coverage(session, campaign, chosen),
            "statuses": CARE_TARGET_STATUSES,
            "names": _names(session),
            "error": error,
            **_words(request),
        },
    )
