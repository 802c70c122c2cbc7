"""The language an agent reads the console in: their own choice, else their browser's, else the carrier's.

Every console page, fragment, error page and download is written in this language, from the same
gettext catalogs and Babel formats as the bot's messages (backend.i18n): templates say `{{ _("Queue") }}`
or `{{ _("Due {time}", time=...) }}`, and the same msgid reads in Chinese from messages.po.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from backend.i18n import t
from backend.language import LANGUAGES, language_from_hint


def browser_language(accept_language: str | None) -> str | None:
    """The first of our languages the browser asks for (Accept-Language, by its q-values), or None."""
    if not accept_language:
        return None
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        language = language_from_hint(tag)
        if language and quality > 0:
            ranked.append((-quality, position, language))
    return min(ranked)[2] if ranked else None


def chosen_language(request: Request) -> str | None:
    """A language picked on a page before logging in (the switch's `?lang=zh` link), or None."""
    value = request.query_params.get("lang")
    return value if value in LANGUAGES else None


def reader_language(request: Request, agent: Any = None) -> str:
    """The console's language for this request: the agent's choice (else one picked on the page), the
    browser's, the carrier's default."""
    if agent is None:
        agent = getattr(request.state, "console_agent", None)
    chosen = getattr(agent, "language", None)
    if chosen in LANGUAGES:
        return str(chosen)
    picked = chosen_language(request)
    if picked:
        return picked
    browser = browser_language(request.headers.get("accept-language"))
    return browser or request.app.state.settings.console_language


def translator(language: str) -> Any:
    """`_` for templates: `_(msgid, **values)` in the reader's language."""

    def gettext(msgid: str, **values: Any) -> str:
        return t(language, msgid, **values)

    return gettext
