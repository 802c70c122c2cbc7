"""The queue's search box and filters over HTTP: the page, its live updates' address and the JSON API."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.services.tickets import get_ticket
from tests.backend.console.clients import Console
from tests.backend.factories import escalated


def test_the_queue_page_finds_by_ticket_number_and_shows_resolved_ones_when_asked(
    people: dict[str, Console], db_factory: sessionmaker[Session]
) -> None:
    waiting, waiting_number = escalated(db_factory, priority="P2")
    done, done_number = escalated(db_factory, priority="P3")
    with session_scope(db_factory) as session:
        ticket = get_ticket(session, done_number)
        assert ticket is not None
        ticket.status = "resolved"
    alice = people["alice"]
    live = alice.get("/console").text
    assert waiting_number in live and done_number not in live

    found = alice.get("/console", params={"q": done_number.lower()}, headers={"Accept-Language": "zh-CN"})
    assert done_number in found.text and waiting_number not in found.text
    assert "已解决" in found.text and "正在搜索全部会话" in found.text
    # The live updates ask for the same view.
    assert f'sse-connect="/console/events/queue?q={done_number.lower()}"' in found.text

    resolved = alice.get("/console", params={"status": "resolved"}).text
    assert done_number in resolved and waiting_number not in resolved
    assert "Back to the live queue" in resolved

    nothing = alice.get("/console", params={"q": "EZ999999999CN"}).text
    assert "Nothing matches this search." in nothing

    api = alice.get("/console/api/queue", params={"q": waiting_number, "unassigned": "true"}).json()
    assert [row["id"] for row in api["conversations"]] == [waiting]
    assert done in {
        r["id"]
        for r in alice.get("/console/api/queue", params={"status": "resolved"}).json()["conversations"]
    }
