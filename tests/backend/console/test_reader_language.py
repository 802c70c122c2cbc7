"""The console's language: the agent's choice, else the browser's, else the carrier's (CONSOLE_LANGUAGE)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from backend.console.language import browser_language
from backend.db import session_scope
from backend.models import Agent
from tests.backend.console.clients import Console


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("en-GB,en;q=0.9", "en"),
        ("fr-FR,fr;q=0.9,en;q=0.5,zh;q=0.7", "zh"),  # by q-value, not by order
        ("de-DE", None),
        ("zh;q=0, en", "en"),  # q=0 means "not this one"
        ("zh;q=abc, en", "en"),
        ("", None),
        (None, None),
    ],
)
def test_the_browsers_language_is_read_by_its_q_values(header: str | None, language: str | None) -> None:
    assert browser_language(header) == language


def _queue_link(console: Console, **headers: str) -> str:
    html = console.client.get("/console", headers=headers).text
    for link in ("待办队列", "Queue"):
        if f'href="/console">{link}<' in html:
            return link
    return html


def test_an_agent_without_a_choice_reads_the_browsers_language_then_the_carriers(
    people: dict[str, Console], app: FastAPI
) -> None:
    alice = people["alice"]
    assert _queue_link(alice, **{"Accept-Language": "en-US,en;q=0.9"}) == "Queue"
    assert _queue_link(alice, **{"Accept-Language": "zh-CN,zh;q=0.9"}) == "待办队列"
    assert app.state.settings.console_language == "zh"
    assert _queue_link(alice, **{"Accept-Language": "de-DE"}) == "待办队列"


def test_the_agents_own_choice_wins_over_the_browser(
    people: dict[str, Console], db_factory: sessionmaker[Session]
) -> None:
    with session_scope(db_factory) as session:
        session.execute(update(Agent).where(Agent.username == people["alice"].username).values(language="en"))
    assert _queue_link(people["alice"], **{"Accept-Language": "zh-CN"}) == "Queue"
    assert _queue_link(people["bob"], **{"Accept-Language": "zh-CN"}) == "待办队列"
