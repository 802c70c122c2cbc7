"""The console as the tests use it: an app with probe routes and a fast throttle, clients that log in."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.console.deps import (
    current_agent_api,
    current_agent_page,
    get_throttle_policy,
    require_csrf,
    require_supervisor,
)
from backend.console.rendering import render
from backend.main import create_app
from backend.models import Agent
from backend.security import throttle
from tests.backend.factories import settings_for

WEB_SECRET = "a-real-web-session-secret-0123456789"
FAST = throttle.ThrottlePolicy(delay_step_s=0.001, max_delay_s=0.005)
CSRF_INPUT = re.compile(r'<input type="hidden" name="(csrf[^"]*)" value="([^"]+)">')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]*)">')

# A supervisor-only route and friends, only for the tests: what the console's dependencies let through.
probe = APIRouter()
ApiAgent = Annotated[Agent, Depends(current_agent_api)]
PageAgent = Annotated[Agent, Depends(current_agent_page)]


@probe.get("/console/api/probe/me")
def me(agent: ApiAgent) -> dict[str, str]:
    return {"username": agent.username, "role": agent.role}


@probe.post("/console/api/probe/change", dependencies=[Depends(require_csrf)])
def change(agent: ApiAgent) -> dict[str, str]:
    return {"changed_by": agent.username}


@probe.post("/console/api/probe/supervise", dependencies=[Depends(require_csrf), Depends(require_supervisor)])
def supervise(agent: ApiAgent) -> dict[str, str]:
    return {"supervised_by": agent.username}


@probe.get("/console/probe/page", response_class=HTMLResponse)
def page(request: Request, agent: PageAgent) -> HTMLResponse:
    return render(request, "console/base.html")


@probe.post("/console/probe/form", dependencies=[Depends(require_csrf)])
def form(agent: PageAgent, note: Annotated[str, Form()] = "") -> dict[str, str]:
    return {"note": note}


@probe.get("/console/probe/reports", response_class=HTMLResponse, dependencies=[Depends(require_supervisor)])
def reports(request: Request, agent: PageAgent) -> HTMLResponse:
    return render(request, "console/base.html")


def from_address(app: ASGIApp, ip: str) -> ASGIApp:
    """The app as seen from one client address (the throttle counts per address)."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope = {**scope, "client": (ip, 40000)}
        await app(scope, receive, send)

    return wrapped


def fresh_ip() -> str:
    value = uuid.uuid4().int
    return f"10.{value % 250}.{(value >> 8) % 250}.{(value >> 16) % 250 + 1}"


def build_app(db_url: str, **overrides: Any) -> FastAPI:
    values: dict[str, Any] = {"web_session_secret": WEB_SECRET, "sla_watch_interval_s": 0}
    values.update(overrides)
    app = create_app(settings_for(db_url, **values))
    app.include_router(probe)
    app.dependency_overrides[get_throttle_policy] = lambda: FAST
    return app


def client_for(app: FastAPI, **kwargs: Any) -> TestClient:
    """A client of `app` from an address of its own (so no other test's failures count against it)."""
    return TestClient(from_address(app, fresh_ip()), follow_redirects=False, **kwargs)


def login_form(client: TestClient, path: str = "/console/login") -> tuple[str, str]:
    """GET the login page; returns (field name, token) of its hidden CSRF field."""
    page = client.get(path)
    assert page.status_code == 200
    found = CSRF_INPUT.search(page.text)
    assert found, page.text
    return found.group(1), found.group(2)


def post_login(client: TestClient, username: str, password: str, **extra: str) -> Any:
    field, token = login_form(client)
    return client.post(
        "/console/login", data={"username": username, "password": password, field: token, **extra}
    )


def log_in(client: TestClient, account: tuple[str, str]) -> str:
    """Log in; returns the CSRF token of the session (read from a console page's meta tag)."""
    response = post_login(client, *account)
    assert response.status_code == 303, response.text
    page = client.get("/console/probe/page")
    assert page.status_code == 200
    found = CSRF_META.search(page.text)
    assert found and found.group(1)
    return found.group(1)


class Console:
    """One logged-in person: a client with the session cookie and the CSRF header for changes."""

    def __init__(self, client: TestClient, csrf: str, username: str) -> None:
        self.client, self.csrf, self.username = client, csrf, username

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, **kwargs)

    def post(self, path: str, json: dict[str, Any] | None = None) -> Any:
        return self.client.post(path, json=json or {}, headers={"X-CSRF-Token": self.csrf})
