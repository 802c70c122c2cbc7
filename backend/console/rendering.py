"""The console's templates and how a page is rendered: agent, language, CSRF token, security headers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from backend.console.language import reader_language, translator
from backend.console.vocabulary import labeller

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


def csrf_token(request: Request) -> str:
    """The CSRF token for this request's page (after current_agent_page or current_agent_api ran)."""
    return str(getattr(request.state, "csrf_token", "") or "")


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    """A console template with `agent` and `csrf_token` filled in, and the console's security headers."""
    agent = getattr(request.state, "console_agent", None)
    language = reader_language(request, agent)
    values = {
        "agent": agent,
        "csrf_token": csrf_token(request),
        "lang": language,
        "_": translator(language),
        "word": labeller(language),
    }
    values.update(context or {})
    response = templates.TemplateResponse(request, name, values, status_code=status_code)
    response.headers.update(PAGE_HEADERS)
    return response
