"""The console routes' dependencies: who is logged in, roles, CSRF, the hub, and where a refused form returns.

Contract (other tools rely on these names): the session cookie `console_session` plus the header
`X-CSRF-Token` on calls that change state (forms: a hidden `csrf_token` field). Anonymous: 401 on the
JSON API, a redirect to /console/login on pages; a missing or wrong CSRF token: 403; an agent on a
supervisor route: 403.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from urllib.parse import quote

from anyio import to_thread
from fastapi import Depends, HTTPException, Request, status
from sqlalchemy.orm import Session, sessionmaker

from backend.api.deps import get_app_settings, get_session_factory
from backend.config import Settings
from backend.errors import NotAllowed, NotLoggedIn
from backend.hub import Hub
from backend.i18n import N_
from backend.models import Agent, ConsoleSession
from backend.security import throttle
from backend.security.login import find_session
from backend.security.sessions import CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE, SessionPolicy, tokens_match
from backend.services.agent_work import AgentView

LOGIN_PATH = "/console/login"
# Paths answered with JSON: an anonymous caller there gets 401, not a redirect to the login page.
API_PREFIXES = ("/console/api/", "/api/")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

SettingsDep = Annotated[Settings, Depends(get_app_settings)]
FactoryDep = Annotated[sessionmaker[Session], Depends(get_session_factory)]


def session_policy(settings: Settings) -> SessionPolicy:
    """How long console logins last, from the settings."""
    return SessionPolicy(
        idle=timedelta(minutes=settings.console_idle_minutes),
        lifetime=timedelta(hours=settings.console_session_hours),
    )


def get_throttle_policy() -> throttle.ThrottlePolicy:
    """The login throttle's rules (tests override this dependency)."""
    return throttle.ThrottlePolicy()


def hub_of(request: Request) -> Hub:
    """The app's hub, made in the lifespan."""
    hub: Hub = request.app.state.hub
    return hub


def as_view(agent: Agent) -> AgentView:
    """The logged-in account as the use cases see it."""
    return AgentView(username=agent.username, role=agent.role)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIXES)


def _login_redirect(request: Request) -> HTTPException:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return HTTPException(
        status_code=status.HTTP_303_SEE_OTHER,
        detail=LOG_IN_FIRST,
        headers={"Location": f"{LOGIN_PATH}?next={quote(target, safe='')}"},
    )


# Refusals the console words in the reader's language (backend.errors; the app's handler answers them).
LOG_IN_FIRST = N_("Log in to the console first.")
SUPERVISORS_ONLY = N_("Only supervisors may do this.")
CSRF_REFUSED = N_("This page has expired (its security token is missing or wrong); reload it and try again.")


def _unauthorised() -> NotLoggedIn:
    return NotLoggedIn(LOG_IN_FIRST)


def _anonymous(request: Request) -> Exception:
    """401 on the JSON API, a redirect to the login page on pages."""
    return _unauthorised() if _is_api(request) else _login_redirect(request)


def get_console_session(
    request: Request, factory: FactoryDep, settings: SettingsDep
) -> ConsoleSession | None:
    """The live console session of this request's cookie, or None (resolved once per request)."""
    row = find_session(factory, request.cookies.get(SESSION_COOKIE), policy=session_policy(settings))
    if row is not None:
        request.state.console_session = row
        request.state.console_agent = row.agent
        request.state.csrf_token = row.csrf_token
    return row


async def still_logged_in(request: Request) -> bool:
    """Whether this request's console session is still live: a live stream asks again while it runs.

    Only looks (no last_seen_at refresh): an open stream must not keep an idle login alive.
    """
    settings: Settings = request.app.state.settings
    factory: sessionmaker[Session] = request.app.state.session_factory
    token = request.cookies.get(SESSION_COOKIE)
    row = await to_thread.run_sync(
        lambda: find_session(factory, token, policy=session_policy(settings), touch=False)
    )
    return row is not None


ConsoleSessionDep = Annotated[ConsoleSession | None, Depends(get_console_session)]


def current_agent_api(console: ConsoleSessionDep) -> Agent:
    """The logged-in agent or supervisor; 401 for anyone else (JSON routes)."""
    if console is None:
        raise _unauthorised()
    return console.agent


def current_agent_page(request: Request, console: ConsoleSessionDep) -> Agent:
    """The logged-in agent or supervisor; anyone else is sent to the login page (HTML routes)."""
    if console is None:
        raise _login_redirect(request)
    return console.agent


def require_supervisor(request: Request, console: ConsoleSessionDep) -> Agent:
    """A logged-in supervisor; 403 for an agent (anonymous: 401 on the API, the login page on pages)."""
    if console is None:
        raise _anonymous(request)
    if console.agent.role != "supervisor":
        raise NotAllowed(SUPERVISORS_ONLY)
    return console.agent


def require_supervisor_page(request: Request, console: ConsoleSessionDep) -> Agent:
    """As require_supervisor, but anonymous visitors always go to the login page."""
    if console is None:
        raise _login_redirect(request)
    return require_supervisor(request, console)


async def require_csrf(request: Request, console: ConsoleSessionDep) -> None:
    """Calls that change state must carry the session's CSRF token (X-CSRF-Token, or the form's csrf_token).

    Safe methods (GET, HEAD, OPTIONS) pass, so this can guard a whole router.
    """
    if request.method in SAFE_METHODS:
        return
    if console is None:
        raise _anonymous(request)
    given = request.headers.get(CSRF_HEADER)
    content_type = request.headers.get("content-type", "")
    if not given and content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        # Starlette keeps the parsed form on the request, so the route can still read its fields.
        value = (await request.form()).get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not tokens_match(console.csrf_token, given):
        raise NotAllowed(CSRF_REFUSED)


PageAgent = Annotated[Agent, Depends(current_agent_page)]
