"""Shared dependencies: settings, a session per request, the HTTP client, token auth; refusals to HTTP."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator
from typing import Annotated, Any
from urllib.parse import quote

import httpx
from fastapi import Depends, HTTPException, Request, status
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from backend.config import Settings
from backend.db import session_scope
from backend.errors import Conflict, DomainError, InvalidInput, NotAllowed, NotFound, NotLoggedIn
from backend.models import INTEGRATION_SCOPES
from backend.services.integration_tokens import find_active_token

_bearer = HTTPBearer(auto_error=False)
# The HTTP status of each kind of refusal; a bare DomainError is a bad request.
DOMAIN_ERROR_STATUS: tuple[tuple[type[DomainError], int], ...] = (
    (NotLoggedIn, status.HTTP_401_UNAUTHORIZED),
    (NotFound, status.HTTP_404_NOT_FOUND),
    (NotAllowed, status.HTTP_403_FORBIDDEN),
    (Conflict, status.HTTP_409_CONFLICT),
    (InvalidInput, status.HTTP_422_UNPROCESSABLE_ENTITY),
)


def get_app_settings(request: Request) -> Settings:
    """The settings the app was started with."""
    settings: Settings = request.app.state.settings
    return settings


def get_session_factory(request: Request) -> sessionmaker[Session]:
    """The process's session factory, made in the lifespan."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    return factory


def get_session(factory: Annotated[sessionmaker[Session], Depends(get_session_factory)]) -> Iterator[Session]:
    """One short transaction per request."""
    with session_scope(factory) as session:
        yield session


def get_http_client(request: Request) -> httpx.AsyncClient:
    """The shared client for calls to Rasa and the action server."""
    client: httpx.AsyncClient = request.app.state.http_client
    return client


def require_token(
    settings: Annotated[Settings, Depends(get_app_settings)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Accept only `Authorization: Bearer <API_TOKEN>`; with no token configured, accept nobody."""
    expected = settings.api_token
    given = credentials.credentials if credentials and credentials.scheme.lower() == "bearer" else None
    if not expected or given is None or not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="A valid API token is required.",
            headers={"WWW-Authenticate": "Bearer"},
        )


# The carrier's systems on /api/v1: their own named tokens with scopes (backend.services.integration_tokens).
integration_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="IntegrationToken",
    description=(
        "A token made with `python -m backend create-token NAME --scope SCOPE`; scopes: "
        + ", ".join(f"`{s}`" for s in INTEGRATION_SCOPES)
        + "."
    ),
)


def _unauthorised(detail: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"}
    )


def _scoped_token(session: Session, credentials: HTTPAuthorizationCredentials | None, scope: str) -> bool:
    """True for a live integration token holding `scope`; 403 for a live one without it; False otherwise."""
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        return False
    record = find_active_token(session, credentials.credentials)
    if record is None:
        return False
    if scope not in record.scope_list:
        raise HTTPException(
            status_code=status.HTTP_403_FORBIDDEN,
            detail=f"This token does not have the {scope} scope.",
        )
    return True


def require_scope(scope: str) -> Callable[..., None]:
    """A dependency: a live integration token with `scope` (401 without one, 403 when it lacks the scope)."""
    if scope not in INTEGRATION_SCOPES:
        raise ValueError(f"unknown scope {scope!r}")

    def dependency(
        session: Annotated[Session, Depends(get_session)],
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(integration_bearer)],
    ) -> None:
        if not _scoped_token(session, credentials, scope):
            raise _unauthorised("A valid integration token is required.")

    return dependency


def require_token_or_scope(scope: str) -> Callable[..., None]:
    """A dependency for the older reads: the API_TOKEN as before, or an integration token with `scope`."""

    def dependency(
        settings: Annotated[Settings, Depends(get_app_settings)],
        session: Annotated[Session, Depends(get_session)],
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> None:
        expected = settings.api_token
        given = credentials.credentials if credentials and credentials.scheme.lower() == "bearer" else None
        if expected and given is not None and hmac.compare_digest(given.encode(), expected.encode()):
            return
        if not _scoped_token(session, credentials, scope):
            raise _unauthorised("A valid API token is required.")

    return dependency


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
HttpClientDep = Annotated[httpx.AsyncClient, Depends(get_http_client)]


def refusals_return_to(request: Request, url: str) -> None:
    """A page's form: when its use case refuses, land back on `url` with the refusal's sentence."""
    request.state.refusals_return_to = url


CONSOLE_PREFIX = "/console"
CONSOLE_API_PREFIX = "/console/api/"


async def domain_error_handler(request: Request, error: Exception) -> Response:
    """The one mapping of a domain error to HTTP: a JSON body on the API, the form's page for forms.

    The API under /api answers in English (its callers are programs); the console answers in the
    reader's language: a refused form lands back on its page with the sentence, a console page shows
    an error page, the console's JSON API a translated `detail`.
    """
    assert isinstance(error, DomainError)
    code = next((code for kind, code in DOMAIN_ERROR_STATUS if isinstance(error, kind)), 400)
    path = request.url.path
    console = path == CONSOLE_PREFIX or path.startswith(CONSOLE_PREFIX + "/")
    detail = error.detail
    if console:
        # Imported here: the console's modules depend on this one.
        from backend.console.language import reader_language

        detail = error.text(reader_language(request))
    page: str | None = getattr(request.state, "refusals_return_to", None)
    if page is not None:
        return RedirectResponse(f"{page}?error={quote(detail)}", status_code=status.HTTP_303_SEE_OTHER)
    if console and not path.startswith(CONSOLE_API_PREFIX):
        from backend.console.rendering import render_error

        return render_error(request, detail, status_code=code)
    body: dict[str, Any] = {"detail": detail}
    if isinstance(error, Conflict) and error.owner is not None:
        body["owner"] = error.owner
    return JSONResponse(body, status_code=code)
