"""Console login and logout, and the dependencies every console route uses: who is logged in, roles, CSRF.

Contract (other tools rely on these names): the session cookie `console_session` (HttpOnly,
SameSite=Strict, Secure in production) plus the header `X-CSRF-Token` on calls that change state; pages
carry `<meta name="csrf-token">` and forms a hidden `csrf_token` field. Anonymous: 401 on the JSON API,
a redirect to /console/login on pages; a missing or wrong CSRF token: 403; an agent on a supervisor
route: 403.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

import jinja2
from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session, sessionmaker

from backend.api.deps import get_app_settings, get_session_factory
from backend.config import Settings
from backend.db import session_scope
from backend.models import Agent, ConsoleSession, utcnow
from backend.security import throttle
from backend.security.accounts import DEMO_USERNAMES, get_agent
from backend.security.passwords import hash_password, needs_rehash, spend_verify_time, verify_password
from backend.security.sessions import (
    CSRF_FIELD,
    CSRF_HEADER,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    SessionPolicy,
    check_login_csrf,
    end_session,
    load_session,
    login_csrf_token,
    new_login_nonce,
    start_session,
    tokens_match,
)
from backend.services.audit import record_audit_event

LOGIN_PATH = "/console/login"
LOGOUT_PATH = "/console/logout"
HOME_PATH = "/console"
# Paths answered with JSON: an anonymous caller there gets 401, not a redirect to the login page.
API_PREFIXES = ("/console/api/", "/api/")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
THROTTLE_ACTOR = "system:login_throttle"
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
# Console pages are never framed (clickjacking), cached, or sent as a referrer elsewhere.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}

templates = Jinja2Templates(
    env=jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES_DIR), autoescape=True)
)
router = APIRouter(tags=["console auth"], include_in_schema=False)

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


def _secure(settings: Settings) -> bool:
    # Local runs are plain http on 127.0.0.1, where a Secure cookie would never come back.
    return settings.app_env == "production"


def _login_key(request: Request, settings: Settings) -> bytes:
    """The HMAC key of the login form's CSRF token: from the configured secret, else made per process."""
    secret = settings.console_secret
    if secret:
        return hashlib.sha256(b"console-login-form\x00" + secret.encode()).digest()
    # Development without WEB_SESSION_SECRET or SESSION_SECRET: a login form lives as long as the process.
    key: bytes | None = getattr(request.app.state, "console_login_key", None)
    if key is None:
        key = secrets.token_bytes(32)
        request.app.state.console_login_key = key
    return key


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIXES)


def _login_redirect(request: Request) -> HTTPException:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return HTTPException(
        status_code=status.HTTP_303_SEE_OTHER,
        detail="Log in to the console first.",
        headers={"Location": f"{LOGIN_PATH}?next={quote(target, safe='')}"},
    )


def _unauthorised() -> HTTPException:
    return HTTPException(status_code=status.HTTP_401_UNAUTHORIZED, detail="Log in to the console first.")


def _anonymous(request: Request) -> HTTPException:
    """401 on the JSON API, a redirect to the login page on pages."""
    return _unauthorised() if _is_api(request) else _login_redirect(request)


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a console path on this site, never another site or the login itself."""
    if not target or "\\" in target or target.startswith("//"):
        return HOME_PATH
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return HOME_PATH
    if not (parts.path == HOME_PATH or parts.path.startswith(HOME_PATH + "/")) or parts.path == LOGIN_PATH:
        return HOME_PATH
    return target


# -- dependencies ------------------------------------------------------------------------------------


def get_console_session(
    request: Request, factory: FactoryDep, settings: SettingsDep
) -> ConsoleSession | None:
    """The live console session of this request's cookie, or None (resolved once per request).

    Its own short transaction, committed at once: the request's other transactions (the hub's, in
    worker threads) must not wait behind a lock this one holds on SQLite.
    """
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    with session_scope(factory) as db:
        row = load_session(db, token, policy=session_policy(settings))
    if row is not None:
        request.state.console_session = row
        request.state.console_agent = row.agent
        request.state.csrf_token = row.csrf_token
    return row


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
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail="Only supervisors may do this.")
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
        raise HTTPException(
            status_code=status.HTTP_403_FORBIDDEN,
            detail="The CSRF token is missing or wrong; reload the page and try again.",
        )


def csrf_token(request: Request) -> str:
    """The CSRF token for this request's page (after current_agent_page or current_agent_api ran)."""
    return str(getattr(request.state, "csrf_token", "") or "")


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    """A console template with `agent` and `csrf_token` filled in, and the console's security headers."""
    values = {"agent": getattr(request.state, "console_agent", None), "csrf_token": csrf_token(request)}
    values.update(context or {})
    response = templates.TemplateResponse(request, name, values, status_code=status_code)
    response.headers.update(PAGE_HEADERS)
    return response


# -- login and logout --------------------------------------------------------------------------------


def _login_form(
    request: Request,
    settings: Settings,
    *,
    status_code: int = 200,
    error: str | None = None,
    username: str = "",
    next_path: str = "",
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """The login page, with a CSRF token tied to a nonce cookie."""
    nonce = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    if not 16 <= len(nonce) <= 100:
        nonce = new_login_nonce()
    request.state.csrf_token = login_csrf_token(_login_key(request, settings), nonce)
    response = render(
        request,
        "console/login.html",
        {"agent": None, "error": error, "username": username, "next": safe_next(next_path)},
        status_code=status_code,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        nonce,
        path=LOGIN_PATH,
        httponly=True,
        samesite="strict",
        secure=_secure(settings),
    )
    response.headers.update(headers or {})
    return response


@router.get(LOGIN_PATH, response_class=HTMLResponse)
def login_page(
    request: Request, settings: SettingsDep, console: ConsoleSessionDep, next: str = ""
) -> Response:
    """The login form (or straight on, when already logged in)."""
    if console is not None:
        return RedirectResponse(safe_next(next), status_code=status.HTTP_303_SEE_OTHER)
    return _login_form(request, settings, next_path=next)


def _check_password(
    factory: sessionmaker[Session], username: str, password: str, production: bool
) -> int | None:
    """The id of the active account this name and password open, else None (as slowly either way)."""
    with session_scope(factory) as db:
        agent = get_agent(db, username)
        usable = agent is not None and agent.active and not (production and agent.username in DEMO_USERNAMES)
        if agent is None or not usable:
            spend_verify_time(password)
            return None
        return agent.id if verify_password(password, agent.password_hash) else None


def _log_in(
    factory: sessionmaker[Session],
    *,
    agent_id: int,
    password: str,
    attempt: throttle.Attempt,
    request: Request,
    policy: SessionPolicy,
    old_token: str | None,
) -> str:
    """Record the success, open a session (ending the one the browser had) and audit the login."""
    with session_scope(factory) as db:
        throttle.finish_attempt(db, attempt, success=True)
        agent = db.get(Agent, agent_id)
        assert agent is not None
        if needs_rehash(agent.password_hash):
            agent.password_hash = hash_password(password)
        if old_token:
            # A fresh token at every login: a token planted before it (session fixation) is worth nothing.
            previous = load_session(db, old_token, policy=policy)
            if previous is not None:
                end_session(db, previous)
        token, row = start_session(
            db,
            agent=agent,
            client_ip=_client_ip(request),
            user_agent=request.headers.get("user-agent"),
            policy=policy,
        )
        record_audit_event(
            db,
            actor=agent.actor,
            action="login",
            agent_id=agent.id,
            client_ip=_client_ip(request),
            data={"session": row.id[:12]},
        )
        return token


def _audit_lockouts(factory: sessionmaker[Session], attempt: throttle.Attempt, client_ip: str) -> None:
    with session_scope(factory) as db:
        for lock in attempt.would_lock:
            record_audit_event(
                db,
                actor=THROTTLE_ACTOR,
                action="login_locked",
                client_ip=client_ip,
                data={
                    "scope": lock.scope,
                    "key": lock.key,
                    "until": lock.until.isoformat(),
                    "failures": lock.failures,
                },
            )


@router.post(LOGIN_PATH, response_class=HTMLResponse)
async def login(
    request: Request,
    settings: SettingsDep,
    factory: FactoryDep,
    policy: Annotated[throttle.ThrottlePolicy, Depends(get_throttle_policy)],
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    """Check the form's CSRF token, the throttle, then the password; on success set the session cookie."""
    name = throttle.normalise_username(username)
    if not check_login_csrf(
        _login_key(request, settings), request.cookies.get(LOGIN_CSRF_COOKIE), csrf_token
    ):
        return _login_form(
            request,
            settings,
            status_code=status.HTTP_403_FORBIDDEN,
            error="The form had expired. Please log in again.",
            username=name,
            next_path=next,
        )
    if not name or not password:
        return _login_form(
            request,
            settings,
            status_code=status.HTTP_401_UNAUTHORIZED,
            error="Enter your name and your password.",
            username=name,
            next_path=next,
        )
    client_ip = _client_ip(request)

    def begin() -> throttle.Attempt:
        with session_scope(factory) as db:
            return throttle.begin_attempt(db, username=name, client_ip=client_ip, policy=policy)

    attempt = await run_in_threadpool(begin)
    if attempt.locked is not None:
        retry = attempt.locked.retry_after_s(utcnow())
        minutes = -(-retry // 60)
        return _login_form(
            request,
            settings,
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
            error=f"Too many failed logins. Please wait {minutes} minute{'s' * (minutes > 1)} and try again.",
            username=name,
            next_path=next,
            headers={"Retry-After": str(retry)},
        )
    agent_id = await run_in_threadpool(
        _check_password, factory, name, password, settings.app_env == "production"
    )
    if agent_id is None:
        if attempt.would_lock:
            await run_in_threadpool(_audit_lockouts, factory, attempt, client_ip)
        # Slows a guesser down; asyncio.sleep holds no worker thread meanwhile.
        await asyncio.sleep(attempt.delay_s)
        error = "Wrong name or password."
        if attempt.would_lock:
            error += " Too many failed logins: logging in is paused for a few minutes."
        return _login_form(
            request,
            settings,
            status_code=status.HTTP_401_UNAUTHORIZED,
            error=error,
            username=name,
            next_path=next,
        )
    token = await run_in_threadpool(
        lambda: _log_in(
            factory,
            agent_id=agent_id,
            password=password,
            attempt=attempt,
            request=request,
            policy=session_policy(settings),
            old_token=request.cookies.get(SESSION_COOKIE),
        )
    )
    response = RedirectResponse(safe_next(next), status_code=status.HTTP_303_SEE_OTHER)
    response.set_cookie(
        SESSION_COOKIE, token, path="/", httponly=True, samesite="strict", secure=_secure(settings)
    )
    response.delete_cookie(
        LOGIN_CSRF_COOKIE, path=LOGIN_PATH, httponly=True, samesite="strict", secure=_secure(settings)
    )
    return response


@router.post(LOGOUT_PATH, dependencies=[Depends(require_csrf)])
def logout(
    request: Request, settings: SettingsDep, factory: FactoryDep, console: ConsoleSessionDep
) -> Response:
    """End the session (audited) and go back to the login page."""
    if console is not None:
        with session_scope(factory) as db:
            row = db.get(ConsoleSession, console.id)
            if row is not None:
                end_session(db, row)
                record_audit_event(
                    db,
                    actor=console.agent.actor,
                    action="logout",
                    agent_id=console.agent_id,
                    client_ip=_client_ip(request),
                    data={"session": row.id[:12]},
                )
    response = RedirectResponse(LOGIN_PATH, status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=_secure(settings)
    )
    return response
