"""The SLA countdown on the conversation page: time left to the deadline worked against, red past it."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from backend.console.conversation_words import ConversationWords
from backend.db import session_scope
from backend.models import utcnow
from backend.services.tickets import get_ticket
from tests.backend.console.clients import Console
from tests.backend.factories import escalated

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=timezone.utc)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_the_countdown_reads_in_each_language() -> None:
    zh, en = (ConversationWords.for_reader(lang, SHANGHAI, NOW) for lang in ("zh", "en"))
    due = NOW + timedelta(hours=2, minutes=5, seconds=30)
    assert (zh.countdown(due, NOW), en.countdown(due, NOW)) == ("剩余2小时5分钟", "2 h 5 min left")
    late = NOW - timedelta(minutes=15)
    assert (zh.countdown(late, NOW), en.countdown(late, NOW)) == ("已超时15分钟", "15 min overdue")
    assert zh.overdue(late, NOW) and not zh.overdue(due, NOW)


def test_the_page_counts_down_to_the_first_response_then_to_the_resolution(
    people: dict[str, Console], db_factory: sessionmaker[Session]
) -> None:
    cid, number = escalated(db_factory)
    with session_scope(db_factory) as session:
        ticket = get_ticket(session, number)
        assert ticket is not None
        ticket.sla_due_at = utcnow() - timedelta(minutes=20, seconds=30)
        ticket.resolution_due_at = utcnow() + timedelta(hours=30, minutes=10, seconds=30)
    alice = people["alice"]
    page = alice.get(f"/console/conversations/{cid}", headers={"Accept-Language": "zh-CN"}).text
    first = re.search(r'<p class="countdown( breached)?" data-due="[^"]+"(.*?)</p>', page, re.S)
    assert first and first.group(1) == " breached"  # nobody answered within the first-response target
    assert "首次响应" in first.group(2) and re.search(r"已超时2\d分钟", first.group(2))
    assert 'data-left="剩余{time}"' in page  # the live count's words, in the reader's language
    alice.post(f"/console/api/conversations/{cid}/claim")
    alice.post(f"/console/api/conversations/{cid}/messages", {"text": "Hello"})  # the first response
    page = alice.get(f"/console/conversations/{cid}", headers={"Accept-Language": "en"}).text
    then = re.search(r'<p class="countdown( breached)?" data-due="[^"]+"(.*?)</p>', page, re.S)
    assert then and then.group(1) is None
    assert "Resolution target" in then.group(2) and re.search(r"30 h (9|10) min left", then.group(2))
