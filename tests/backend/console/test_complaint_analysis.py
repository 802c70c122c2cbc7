"""The bot's analysis of a complaint on the agent's conversation page and in its JSON: words, never facts.

The ticket keeps each finding as a phrase with its facts (JSON); what an agent reads is that phrase said
in a language (the console's page passes the agent's language to `complaint_summary`), never the
stored form.
"""

from __future__ import annotations

import html
import uuid
from datetime import datetime, timezone
from urllib.parse import quote

from sqlalchemy.orm import Session, sessionmaker

from backend.config import get_settings
from backend.db import session_scope
from backend.services import complaints as use_cases
from backend.services.tickets import BusinessCalendar
from tests.backend.console.clients import Console

ANGRY = "太过分了！！！花瓶碎了，你们这是什么垃圾快递，一群骗子"


def _escalated_complaint(factory: sessionmaker[Session]) -> tuple[str, use_cases.Outcome]:
    conversation_id = f"web:{uuid.uuid4()}"
    draft = use_cases.ComplaintDraft(
        key=f"complaint:{uuid.uuid4()}",
        conversation_id=conversation_id,
        category="damage",
        messages=(ANGRY,),
        waybill="EA100000065CN",
        description=ANGRY,
        extent="一个花瓶，外壳裂了",
        language="zh",
        stage="analyse",
    )
    calendar = BusinessCalendar.from_settings(get_settings())
    with session_scope(factory) as session:
        outcome = use_cases.escalate(
            session,
            draft,
            now=datetime.now(timezone.utc),
            calendar=calendar,
            reason="the customer asked for a person",
        )
    return conversation_id, outcome


def test_the_agent_reads_the_findings_as_words_not_stored_facts(
    people: dict[str, Console], db_factory: sessionmaker[Session]
) -> None:
    cid, outcome = _escalated_complaint(db_factory)
    alice = people["alice"]
    detail = alice.get(f"/console/api/conversations/{cid}").json()
    analysis = detail["tickets"][0]["complaint"]["analysis"]
    reasons = outcome.analysis.reasons
    assert outcome.analysis.escalate_reason is not None
    assert len(analysis["findings"]) == len(reasons)
    for shown, reason in zip(analysis["findings"], reasons, strict=True):
        assert shown in (reason.text("en"), reason.text("zh"))
    assert analysis["escalate_reason"] in (
        outcome.analysis.escalate_reason.text("en"),
        outcome.analysis.escalate_reason.text("zh"),
    )
    page = html.unescape(alice.get(f"/console/conversations/{quote(cid, safe='')}").text)
    for reason in reasons:
        assert reason.text("en") in page or reason.text("zh") in page
    assert "msgid" not in page and "'type': 'phrase'" not in page
