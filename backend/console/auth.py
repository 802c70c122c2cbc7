"""Console login and logout routes: they read the form, call backend.security.login, and answer in HTTP.

Contract (other tools rely on these names): the session cookie `console_session` (HttpOnly,
SameSite=Strict, Secure in production); the login form carries a hidden `csrf_token` field tied to a
nonce cookie (`console_login_csrf`). The dependencies every console route uses are in
backend.console.deps, the templates in backend.console.rendering.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Annotated
from urllib.parse import urlsplit

from anyio import to_thread
from fastapi import APIRouter, Depends, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session, sessionmaker

from backend.config import Settings
from backend.console.deps import (
    LOGIN_PATH,
    ConsoleSessionDep,
    FactoryDep,
    SettingsDep,
    get_throttle_policy,
    require_csrf,
    session_policy,
)
from backend.console.language import chosen_language, reader_language
from backend.console.rendering import render
from backend.db import session_scope
from backend.i18n import N_, sentences, t
from backend.security import throttle
from backend.security.accounts import get_agent
from backend.security.addresses import client_address
from backend.security.login import Locked, LoggedIn, LoginRequest, log_in, log_out
from backend.security.sessions import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    check_login_csrf,
    login_csrf_token,
    new_login_nonce,
)

LOGOUT_PATH = "/console/logout"
HOME_PATH = "/console"
# What the login form says when it refuses (msgids: the page is in the reader's language).
FORM_EXPIRED = N_("The form had expired. Please log in again.")
FIELDS_MISSING = N_("Enter your name and your password.")
LOCKED_ONE_MINUTE = N_("Too many failed logins. Please wait a minute and try again.")
LOCKED_MINUTES = N_("Too many failed logins. Please wait {minutes} minutes and try again.")
WRONG_LOGIN = N_("Wrong name or password.")
NOW_LOCKED = N_("Too many failed logins: logging in is paused for a few minutes.")

router = APIRouter(tags=["console auth"], include_in_schema=False)


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
    settings: Settings = request.app.state.settings
    return client_address(request, settings.proxy_networks)


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
        {
            "agent": None,
            "error": error,
            "username": username,
            "next": safe_next(next_path),
            "chosen_language": chosen_language(request),
        },
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


def _keep_language(factory: sessionmaker[Session], username: str, language: str) -> None:
    with session_scope(factory) as session:
        agent = get_agent(session, username)
        if agent is not None:
            agent.language = language


@router.get(LOGIN_PATH, response_class=HTMLResponse)
def login_page(
    request: Request, settings: SettingsDep, console: ConsoleSessionDep, next: str = ""
) -> Response:
    """The login form (or straight on, when already logged in)."""
    if console is not None:
        return RedirectResponse(safe_next(next), status_code=status.HTTP_303_SEE_OTHER)
    return _login_form(request, settings, next_path=next)


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
    """Check the form's CSRF token and fields, then log in; on success set the session cookie."""
    name = throttle.normalise_username(username)
    if not check_login_csrf(
        _login_key(request, settings), request.cookies.get(LOGIN_CSRF_COOKIE), csrf_token
    ):
        return _login_form(
            request,
            settings,
            status_code=status.HTTP_403_FORBIDDEN,
            error=t(reader_language(request), FORM_EXPIRED),
            username=name,
            next_path=next,
        )
    if not name or not password:
        return _login_form(
            request,
            settings,
            status_code=status.HTTP_401_UNAUTHORIZED,
            error=t(reader_language(request), FIELDS_MISSING),
            username=name,
            next_path=next,
        )
    outcome = await log_in(
        factory,
        LoginRequest(
            username=name,
            password=password,
            client_ip=_client_ip(request),
            user_agent=request.headers.get("user-agent"),
            old_token=request.cookies.get(SESSION_COOKIE),
        ),
        production=settings.app_env == "production",
        throttle_policy=policy,
        session_policy=session_policy(settings),
    )
    if isinstance(outcome, Locked):
        retry = outcome.retry_after_s
        minutes = -(-retry // 60)
        return _login_form(
            request,
            settings,
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
            error=t(
                reader_language(request),
                LOCKED_MINUTES if minutes > 1 else LOCKED_ONE_MINUTE,
                minutes=minutes,
            ),
            username=name,
            next_path=next,
            headers={"Retry-After": str(retry)},
        )
    if not isinstance(outcome, LoggedIn):
        language = reader_language(request)
        error = t(language, WRONG_LOGIN)
        if outcome.now_locked:
            error = sentences(language, [error, t(language, NOW_LOCKED)])
        return _login_form(
            request,
            settings,
            status_code=status.HTTP_401_UNAUTHORIZED,
            error=error,
            username=name,
            next_path=next,
        )
    picked = chosen_language(request)
    if picked:
        # The language picked on the login page is the agent's choice from now on (the header's switch
        # changes it again).
        await to_thread.run_sync(_keep_language, factory, name, picked)
    response = RedirectResponse(safe_next(next), status_code=status.HTTP_303_SEE_OTHER)
    response.set_cookie(
        SESSION_COOKIE, outcome.token, path="/", httponly=True, samesite="strict", secure=_secure(settings)
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
        log_out(factory, session_id=console.id, client_ip=_client_ip(request))
    response = RedirectResponse(LOGIN_PATH, status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=_secure(settings)
    )
    return response
