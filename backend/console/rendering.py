"""The console's templates and how a page is rendered: agent, language, CSRF token, security headers."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from backend.console.language import reader_language, translator
from backend.console.vocabulary import handoff_reason, labeller
from backend.i18n import moment_text, money_text

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
# Console pages are never framed (clickjacking), cached, or sent as a referrer elsewhere.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    # Scripts only from our own files (htmx, its SSE extension, Chart.js and ours are all served from
    # here; the report's data sits in JSON script blocks, which are never run). Inline styles stay
    # allowed: htmx adds its indicator styles and the report sizes its long charts with a style attribute.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}

templates = Jinja2Templates(
    env=jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES_DIR), autoescape=True)
)


def csrf_token(request: Request) -> str:
    """The CSRF token for this request's page (after current_agent_page or current_agent_api ran)."""
    return str(getattr(request.state, "csrf_token", "") or "")


def local_time(moment: str | datetime | None, request: Request, language: str) -> str:
    """A stored UTC time on the carrier's clock, in the reader's words: 'today at 14:05', '昨天 09:30'."""
    if moment is None or moment == "":
        return ""
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    tz = request.app.state.settings.tz
    return moment_text(value, tz, datetime.now(tz).date(), language)


def page_values(request: Request) -> dict[str, Any]:
    """What every console template may use: agent, CSRF token, `lang`, `_`, `word`, `local`, `money`."""
    agent = getattr(request.state, "console_agent", None)
    language = reader_language(request, agent)
    return {
        "agent": agent,
        "csrf_token": csrf_token(request),
        "lang": language,
        "_": translator(language),
        "word": labeller(language),
        "local": lambda moment: local_time(moment, request, language),
        "reason": lambda text: handoff_reason(text, language),
        "money": lambda amount: money_text(amount, language) if amount not in (None, "") else "",
    }


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    """A console template with `agent` and `csrf_token` filled in, and the console's security headers."""
    values = page_values(request)
    values.update(context or {})
    response = templates.TemplateResponse(request, name, values, status_code=status_code)
    response.headers.update(PAGE_HEADERS)
    return response


def fragment(request: Request, name: str, **context: Any) -> str:
    """A template's HTML alone (an SSE update), with the same values and language as a page."""
    values = page_values(request)
    values.update(context)
    return templates.get_template(name).render(values)


def render_error(request: Request, message: str, *, status_code: int) -> HTMLResponse:
    """The console's error page: the refusal's sentence (already in the reader's language) and a way on."""
    return render(request, "console/error.html", {"message": message}, status_code=status_code)
