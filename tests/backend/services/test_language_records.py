"""The shipper's language on the records: conversations, what the bot is told, tickets, console, report."""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.models import Conversation, Ticket, utcnow
from backend.services import conversations as conv
from backend.services.complaints import ComplaintDraft, offer_remedy
from backend.services.reports import monthly_report, report_csv
from backend.services.tickets import BusinessCalendar, ticket_to_dict
from tests.backend.factories import a_ticket

CARRIER_TZ = ZoneInfo("Asia/Shanghai")

ALWAYS_OPEN = BusinessCalendar(start_hour=0, end_hour=24, weekdays=frozenset(range(7)), holidays=())


# -- tickets ----------------------------------------------------------------------------------------------


def test_a_ticket_takes_the_language_given_or_the_conversations(db_session: Session) -> None:
    cid = f"web:{uuid.uuid4()}"
    conv.record_message(db_session, conversation_id=cid, direction="in", sender="shipper", text="还没到")
    db_session.get(Conversation, cid).language = "zh"  # type: ignore[union-attr]

    def opened(key: str, **kwargs: object) -> Ticket:
        return a_ticket(
            db_session,
            idempotency_key=f"{key}:{cid}",
            kind="handoff",
            status="escalated",
            **kwargs,
        )

    assert opened("given", conversation_id=cid, language="en").language == "en"
    assert opened("hint", conversation_id=None, language="zh-Hans").language == "zh"
    assert opened("conversation", conversation_id=cid).language == "zh"
    assert opened("unknown", conversation_id=cid, language="fr").language == "zh"
    assert opened("nothing", conversation_id=None).language == "en"
    data = ticket_to_dict(opened("api", conversation_id=cid, language="zh"))
    assert data["language"] == "zh"
    assert tuple(data).index("language") > tuple(data).index("sla_due_at")  # after ARCHITECTURE.md's keys


def test_a_complaint_ticket_is_in_the_drafts_language(db_session: Session) -> None:
    cid = f"web:{uuid.uuid4()}"
    conv.record_message(db_session, conversation_id=cid, direction="in", sender="shipper", text="x")
    draft = ComplaintDraft(
        key=f"complaint:{cid}",
        conversation_id=cid,
        category="delay",
        messages=("我的快递EA100000034CN说好前天到，现在还卡在武汉",),
        waybill="EA100000034CN",
        description="我的快递EA100000034CN说好前天到，现在还卡在武汉",
        language="zh",
    )
    assert ComplaintDraft(key="k", conversation_id=cid, category="delay").language == "en"
    outcome = offer_remedy(db_session, draft, now=utcnow(), calendar=ALWAYS_OPEN)
    ticket = db_session.query(Ticket).filter_by(number=outcome.ticket_number).one()
    assert (ticket.language, ticket.category) == ("zh", "delay")


# -- the monthly report -----------------------------------------------------------------------------------


def test_the_monthly_report_counts_complaints_per_language(db_factory: sessionmaker[Session]) -> None:
    month = "2031-03"  # a month no other test writes to
    when = datetime(2031, 3, 10, 2, 0, tzinfo=CARRIER_TZ)
    with session_scope(db_factory) as session:
        for language in ("zh", "zh", "en", None):
            a_ticket(
                session,
                now=when,
                category="delay",
                language=language,
            )
        report = monthly_report(session, month, tz=CARRIER_TZ)
    assert dict(report.table("language").rows) == {"Chinese": 2, "English": 2}
    assert f"{month},By language,Chinese,2,complaints" in report_csv(report, "language").splitlines()
