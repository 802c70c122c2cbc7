"""The shipper's language on the records: conversations, what the bot is told, tickets, console, report."""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from backend.db import make_engine, session_scope
from backend.hub import Inbound
from backend.migrate import upgrade
from backend.models import Conversation, Ticket, utcnow
from backend.services import conversations as conv
from backend.services.complaints import ComplaintDraft, offer_remedy
from backend.services.reports import monthly_report, report_csv
from backend.services.tickets import BusinessCalendar, open_ticket, ticket_to_dict
from tests.backend.console import test_console
from tests.backend.console.test_console import Console, escalated
from tests.backend.hub import test_hub
from tests.backend.hub.test_hub import World, user

# The fixtures of the hub's and the console's tests, shared rather than copied.
fake_rasa, world = test_hub.fake_rasa, test_hub.world
app, people = test_console.app, test_console.people

CARRIER_TZ = ZoneInfo("Asia/Shanghai")

ALWAYS_OPEN = BusinessCalendar(start_hour=0, end_hour=24, weekdays=frozenset(range(7)), holidays=())


def language_of(factory: sessionmaker[Session], cid: str) -> str | None:
    with session_scope(factory) as session:
        conversation = session.get(Conversation, cid)
        return conversation.language if conversation else None


# -- the hub ----------------------------------------------------------------------------------------------


def test_every_message_sets_the_conversations_language_and_the_bot_is_told(world: World) -> None:
    external = user()
    cid = f"fake:{external}"
    steps = [
        ("where is my parcel", "en"),
        ("我的快递到哪了", "zh"),
        ("EA100000034CN", "zh"),  # no words: the conversation keeps its language
        ("EA100000034CN到哪了", "zh"),  # Chinese with a Latin waybill is Chinese
        ("ＥＡ１０００００００３４ＣＮ", "zh"),  # full-width, still no words
        ("ok thanks, and the other one?", "en"),  # the shipper switched back
        ("👍", "en"),
    ]
    for message, expected in steps:
        world.receive(Inbound(channel="fake", external_id=external, text=message))
        assert language_of(world.factory, cid) == expected, message
        assert world.rasa.received[-1]["metadata"]["language"] == expected, message
        assert world.rasa.received[-1]["metadata"]["channel"] == "fake"


@pytest.mark.parametrize(
    ("hint", "expected"), [("zh-hans", "zh"), ("zh_CN", "zh"), ("en-GB", "en"), ("fr", "en"), (None, "en")]
)
def test_telegrams_language_code_decides_a_first_message_without_words(
    world: World, hint: str | None, expected: str
) -> None:
    external = user()
    world.receive(Inbound(channel="fake", external_id=external, text="EA100000034CN", language_hint=hint))
    assert language_of(world.factory, f"fake:{external}") == expected
    assert world.rasa.received[-1]["metadata"]["language"] == expected


def test_the_text_outweighs_the_hint(world: World) -> None:
    external = user()
    world.receive(Inbound(channel="fake", external_id=external, text="where is it", language_hint="zh-hans"))
    assert language_of(world.factory, f"fake:{external}") == "en"
    world.receive(Inbound(channel="fake", external_id=external, text="还没到", language_hint="en"))
    assert language_of(world.factory, f"fake:{external}") == "zh"


def test_a_pressed_button_keeps_the_language(world: World) -> None:
    external = user()
    world.rasa.replies = [{"text": "要登记投诉吗？", "buttons": [{"title": "好的", "payload": "/affirm"}]}]
    [offer] = world.receive(Inbound(channel="fake", external_id=external, text="我的快递还没到")).replies
    world.rasa.replies = [{"text": "好"}]
    world.receive(Inbound(channel="fake", external_id=external, button=(offer.message_id, 0)))
    last = world.rasa.received[-1]
    assert (last["message"], last["metadata"]["button"]) == ("/affirm", True)
    assert last["metadata"]["language"] == "zh"


def test_the_widget_passes_the_browsers_language_as_a_hint() -> None:
    from backend.channels.web.live import _inbound

    text = _inbound("web:abc", {"type": "text", "text": "EA100000034CN", "language": "zh-CN"})
    button = _inbound("web:abc", {"type": "button", "message_id": 1, "index": 0, "language": "en-GB"})
    assert text is not None and text.language_hint == "zh-CN"
    assert button is not None and button.language_hint == "en-GB"
    bare = _inbound("web:abc", {"type": "text", "text": "hi", "language": 42})
    assert bare is not None and bare.language_hint is None


# -- tickets ----------------------------------------------------------------------------------------------


def test_a_ticket_takes_the_language_given_or_the_conversations(db_session: Session) -> None:
    cid = f"web:{uuid.uuid4()}"
    conv.record_message(db_session, conversation_id=cid, direction="in", sender="shipper", text="还没到")
    db_session.get(Conversation, cid).language = "zh"  # type: ignore[union-attr]

    def opened(key: str, **kwargs: object) -> Ticket:
        return open_ticket(
            db_session,
            idempotency_key=f"{key}:{cid}",
            kind="handoff",
            status="escalated",
            actor="bot",
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


# -- the console ------------------------------------------------------------------------------------------


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
    queue_page = people["alice"].get("/console").text
    assert 'class="badge lang lang-zh"' in queue_page and ">中文</span>" in queue_page
    assert ">EN</span>" in queue_page
    page = people["alice"].get(f"/console/conversations/{chinese}").text
    assert ">中文</span>" in page and ">EN</span>" not in page


# -- the monthly report -----------------------------------------------------------------------------------


def test_the_monthly_report_counts_complaints_per_language(db_factory: sessionmaker[Session]) -> None:
    month = "2031-03"  # a month no other test writes to
    when = datetime(2031, 3, 10, 2, 0, tzinfo=CARRIER_TZ)
    with session_scope(db_factory) as session:
        for index, language in enumerate(("zh", "zh", "en", None)):
            open_ticket(
                session,
                idempotency_key=f"report-language:{uuid.uuid4()}:{index}",
                conversation_id=None,
                kind="complaint",
                status="open",
                actor="bot",
                now=when,
                category="delay",
                language=language,
            )
        report = monthly_report(session, month, tz=CARRIER_TZ)
    assert dict(report.table("language").rows) == {"中文 (Chinese)": 2, "English": 2}
    assert f"{month},language,中文 (Chinese),2,complaints" in report_csv(report, "language").splitlines()


# -- the migration ----------------------------------------------------------------------------------------


def test_the_migration_folds_old_hints_and_marks_old_tickets_english(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/old.db"
    upgrade(url, "0004")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for cid, language in (("telegram:1", "zh-hans"), ("telegram:2", "en-GB"), ("web:3", None)):
                conn.execute(
                    text(
                        "INSERT INTO conversation (id, channel, external_id, state, language, created_at, "
                        "updated_at) VALUES (:id, 'x', 'y', 'bot', :language, :now, :now)"
                    ),
                    {"id": cid, "language": language, "now": utcnow()},
                )
            conn.execute(
                text(
                    "INSERT INTO ticket (number, idempotency_key, version, kind, status, created_at, "
                    "updated_at) VALUES ('T-202611-00001', 'k', 1, 'complaint', 'open', :now, :now)"
                ),
                {"now": utcnow()},
            )
        upgrade(url)
        with engine.connect() as conn:
            languages = dict(conn.execute(text("SELECT id, language FROM conversation")).all())
            ticket_language = conn.execute(text("SELECT language FROM ticket")).scalar_one()
        assert languages == {"telegram:1": "zh", "telegram:2": "en", "web:3": "en"}
        assert ticket_language == "en"
    finally:
        engine.dispose()
