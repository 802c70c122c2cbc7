"""The analysis of a complaint stored as facts and read in the reader's language (issue 16).

Every demo complaint is analysed once against the seeded record and its findings are read in Chinese
and in English: a Chinese reader meets no English word but waybills, ticket numbers, units and the
shipper's own (quoted) words, an English reader no Chinese but the shipper's quoted words. Stored on
the ticket and read back from the database, the findings say the same.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.orm import Session

from backend.complaints.analysis import Analysis, ComplaintFacts, analyse
from backend.complaints.findings import from_json, said, to_json
from backend.complaints.signals import read_complaint
from backend.config import carrier_today, get_settings
from backend.language import CHINESE_CHARACTER
from backend.services import complaints as use_cases
from backend.services.console import complaint_summary
from backend.services.shipments import get_shipment
from backend.services.tickets import BusinessCalendar, get_ticket, list_ticket_events, record_ticket_event
from tests.backend.complaints.demo import DEMO
from tests.text_checks import latin_words

# The shipper's own words, quoted in either language's quotation marks: never translated.
QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"")

# Complaints in the shipper's words beyond DEMO_DATA's: Chinese and English, angry, with an extent.
MORE = [
    (
        "EA100000065CN",
        "太过分了！！！花瓶碎了，你们这是什么垃圾快递，一群骗子",
        "damage",
        {"extent": "一个花瓶，外壳裂了", "photo_status": "later", "customer_wants": "compensation"},
    ),
    (
        "EA100000051CN",
        "WHERE IS MY PARCEL!!! YOU IDIOTS LOST IT, this is ridiculous",
        "loss",
        {"extent": "the whole box", "declared_value": Decimal("3000")},
    ),
    ("EA100000034CN", "快递说好前天到，现在还卡在武汉，到底怎么回事？我要退款", "delay", {}),
    (
        "EA100000079CN",
        "It says delivered but I never got it, someone signed in my name",
        "wrong_delivery",
        {},
    ),
]
COMPLAINTS = [(row[0], row[1], row[2], row[3]) for row in DEMO] + MORE


def _analysed(session: Session, waybill: str, text: str, category: str, facts: dict[str, Any]) -> Analysis:
    view = get_shipment(session, waybill, today=carrier_today())
    assert view is not None, waybill
    calendar = BusinessCalendar.from_settings(get_settings())
    return analyse(
        view,
        ComplaintFacts(category, text, **facts),
        now=datetime.now(timezone.utc),
        signals=read_complaint([text]),
        calendar=calendar,
    )


def _everything(analysis: Analysis) -> list[Any]:
    said_once = [*analysis.reasons]
    if analysis.escalate_reason is not None:
        said_once.append(analysis.escalate_reason)
    return said_once


def _chinese_leftovers(text: str) -> list[str]:
    return latin_words(QUOTED.sub(" ", text))


@pytest.mark.parametrize(("waybill", "text", "category", "facts"), COMPLAINTS, ids=[c[0] for c in COMPLAINTS])
def test_one_analysis_reads_in_chinese_and_in_english(
    db_session: Session, waybill: str, text: str, category: str, facts: dict[str, Any]
) -> None:
    analysis = _analysed(db_session, waybill, text, category, facts)
    for finding in _everything(analysis):
        chinese, english = finding.text("zh"), finding.text("en")
        assert CHINESE_CHARACTER.search(chinese), chinese
        assert _chinese_leftovers(chinese) == [], chinese
        assert not CHINESE_CHARACTER.search(QUOTED.sub(" ", english)), english
        # Stored as JSON and read back: the same finding, the same words in both languages.
        stored = json.loads(json.dumps(to_json(finding)))
        assert from_json(stored) == finding
        assert said(stored, "zh") == chinese and said(stored, "en") == english


def test_the_shippers_words_are_quoted_never_translated(db_session: Session) -> None:
    waybill, text, category, facts = MORE[0]
    analysis = _analysed(db_session, waybill, text, category, facts)
    english = [reason.text("en") for reason in analysis.reasons]
    chinese = [reason.text("zh") for reason in analysis.reasons]
    assert 'Extent: "一个花瓶，外壳裂了"' in english
    assert "损失范围：“一个花瓶，外壳裂了”" in chinese
    assert "Customer wants: compensation" in english and "客户诉求：赔偿" in chinese
    anger = next(r for r in analysis.reasons if r.msgid.startswith("Strong, repeated anger"))
    assert "太过分" in anger.text("en") and anger.text("zh").startswith("强烈且反复的愤怒（")


def test_an_english_shippers_words_stay_english_in_the_chinese_reading(db_session: Session) -> None:
    waybill, text, category, facts = MORE[1]
    analysis = _analysed(db_session, waybill, text, category, facts)
    chinese = " ".join(reason.text("zh") for reason in analysis.reasons)
    assert "“the whole box”" in chinese and "“idiots”" in chinese
    assert _chinese_leftovers(chinese) == []


def _draft(waybill: str, text: str, category: str, facts: dict[str, Any], language: str) -> Any:
    return use_cases.ComplaintDraft(
        key=f"complaint:{uuid.uuid4()}",
        conversation_id=f"web:{uuid.uuid4()}",
        category=category,
        messages=(text,),
        waybill=waybill,
        description=text,
        language=language,
        **facts,
    )


def test_findings_stored_on_the_ticket_read_back_in_the_agents_language(db_session: Session) -> None:
    waybill, text, category, facts = MORE[0]
    calendar = BusinessCalendar.from_settings(get_settings())
    draft = _draft(waybill, text, category, facts, "zh")
    outcome = use_cases.offer_remedy(db_session, draft, now=datetime.now(timezone.utc), calendar=calendar)
    db_session.commit()
    ticket = get_ticket(db_session, outcome.ticket_number)
    assert ticket is not None
    events = list_ticket_events(db_session, ticket.number)
    chinese = complaint_summary(ticket, events, language="zh")["analysis"]
    english = complaint_summary(ticket, events)["analysis"]
    assert chinese["findings"] == [reason.text("zh") for reason in outcome.analysis.reasons]
    assert english["findings"] == [reason.text("en") for reason in outcome.analysis.reasons]
    assert "损失范围：“一个花瓶，外壳裂了”" in chinese["findings"]
    assert chinese["escalate_reason"] is not None and chinese["escalate_reason"].startswith("重大投诉：")
    assert english["escalate_reason"].startswith("Serious complaint: ")
    for line in [*chinese["findings"], chinese["escalate_reason"]]:
        assert _chinese_leftovers(line) == [], line


def test_findings_stored_as_plain_strings_still_read(db_session: Session) -> None:
    """Tickets analysed before the findings were phrases keep their English sentences."""
    waybill, text, category, facts = DEMO[0][0], DEMO[0][1], DEMO[0][2], DEMO[0][3]
    calendar = BusinessCalendar.from_settings(get_settings())
    draft = _draft(waybill, text, category, facts, "en")
    outcome = use_cases.offer_remedy(db_session, draft, now=datetime.now(timezone.utc), calendar=calendar)
    ticket = get_ticket(db_session, outcome.ticket_number)
    assert ticket is not None
    # Event rows are append-only; the console reads the latest analysis, so an old-style one goes last.
    record_ticket_event(
        db_session,
        number=ticket.number,
        actor="bot",
        action="analysed",
        data={
            "findings": ["Promised 2026-11-16; 2 days late", "Extent: 一台咖啡机，外壳裂了"],
            "responsibility": "carrier",
            "escalate_reason": None,
            "remedies": ["We'll refund the full freight of 180.00 CNY."],
        },
    )
    events = list_ticket_events(db_session, ticket.number)
    for language in ("zh", "en"):
        summary = complaint_summary(ticket, events, language=language)["analysis"]
        assert summary["findings"] == ["Promised 2026-11-16; 2 days late", "Extent: 一台咖啡机，外壳裂了"]
        assert summary["escalate_reason"] is None
