"""The shipper's language in the console: a badge per conversation and per ticket."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.models import Conversation
from tests.backend.console.clients import Console
from tests.backend.factories import escalated


def test_the_console_shows_each_conversations_language(
    people: dict[str, Console],
    db_factory: sessionmaker[Session],
) -> None:
    chinese, _ = escalated(db_factory, priority="P1")
    english, _ = escalated(db_factory, priority="P1")
    with session_scope(db_factory) as session:
        session.get(Conversation, chinese).language = "zh"  # type: ignore[union-attr]
        session.get(Conversation, english).language = "en"  # type: ignore[union-attr]
    rows = {r["id"]: r for r in people["alice"].get("/console/api/queue").json()["conversations"]}
    assert (rows[chinese]["language"], rows[english]["language"]) == ("zh", "en")
    # The ticket was opened before the conversation had a language: it is an English one.
    assert rows[chinese]["ticket"]["language"] == "en"
    detail = people["alice"].get(f"/console/api/conversations/{chinese}").json()
    assert detail["language"] == "zh" and detail["tickets"][0]["language"] == "en"
    # The badge says the shipper's language in the reader's: Chinese / English, 中文 / 英文.
    queue_page = people["alice"].get("/console").text
    assert 'class="badge lang lang-zh"' in queue_page and ">Chinese</span>" in queue_page
    assert ">English</span>" in queue_page
    chinese_page = people["alice"].get("/console", headers={"Accept-Language": "zh-CN"}).text
    assert ">中文</span>" in chinese_page and ">英文</span>" in chinese_page
    page = people["alice"].get(f"/console/conversations/{chinese}").text
    assert ">Chinese</span>" in page and "lang-en" not in page
