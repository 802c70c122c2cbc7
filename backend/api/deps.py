"""Shared dependencies: settings, a session per request, the outbound HTTP client and token auth."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Annotated

import httpx
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from backend.config import Settings
from backend.db import session_scope

_bearer = HTTPBearer(auto_error=False)


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


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
HttpClientDep = Annotated[httpx.AsyncClient, Depends(get_http_client)]
