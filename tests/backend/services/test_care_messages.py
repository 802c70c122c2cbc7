"""Follow-up by message: which targets get the script, claimed once across processes, never in quiet hours,
never over an agent's head, once per period; unanswered ones become unreachable when the period ends."""

from __future__ import annotations

import random
import threading
import uuid
from datetime import date, datetime, time, timedelta, timezone
from time import monotonic, sleep

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.models import AuditEvent, CareCampaign, CareTarget, Conversation, Customer, utcnow
from backend.services import care_messages as care
from backend.services import care_watch
from backend.services import conversations as conv
from backend.services.notices import Policy, QuietHours
from tests.backend.factories import CARRIER_TZ, forgets_customers_like, settings_for
from tests.backend.hub import conftest as hub_fixtures
from tests.backend.hub.world import FakeChannel, World, user

# The hub's own test world: a fake Rasa over HTTP, a fake channel, a hub per call.
fake_rasa, world = hub_fixtures.fake_rasa, hub_fixtures.world
NIGHT = Policy(tz=CARRIER_TZ, quiet=QuietHours(time(21), time(8)))
ALWAYS = Policy(tz=CARRIER_TZ, quiet=None)


# Their customers (ids CM…) and campaigns leave the shared database after each test.
_forget_customers = forgets_customers_like("CM")


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time on the carrier's clock, as UTC."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=CARRIER_TZ).astimezone(timezone.utc)


def a_day() -> date:
    """A Wednesday in a year of its own: this test's month and week hold no other test's targets. Never
    the last day of a month: the tests look at the next morning too, which must be in the same period."""
    while True:
        day = date.fromisocalendar(random.randrange(2200, 2900), random.randrange(2, 50), 3)
        if (day + timedelta(days=1)).month == day.month:
            return day


def a_target(
    factory: sessionmaker[Session],
    day: date,
    *,
    chat: str | None = "telegram",
    state: str = "bot",
    channel: str = "message",
    period: str | None = None,
) -> tuple[int, str | None]:
    """A fresh customer on a message campaign's list for `day`'s month: (target id, their chat's id)."""
    customer_id = f"CM{uuid.uuid4().hex[:10]}"
    cid = f"{chat}:{user()}" if chat else None
    with session_scope(factory) as session:
        session.add(Customer(id=customer_id, name=f"Care Test {customer_id}", customer_class="A"))
        session.flush()
        if cid is not None:
            conversation = conv.ensure_conversation(session, cid)
            conversation.customer_id = customer_id
            if state == "agent":
                conv.claim_conversation(session, conversation_id=cid, agent="alice")
        return on_message_campaign(session, customer_id, day, channel=channel, period=period), cid


def on_message_campaign(
    session: Session, customer_id: str, day: date, *, channel: str = "message", period: str | None = None
) -> int:
    """The customer on a new campaign's list for `day`'s month (or `period`): the target's id."""
    campaign = CareCampaign(
        name="A-class monthly care", channel=channel, period="month", classes="A", starts_on=day,
        created_by="supervisor:test",
    )  # fmt: skip
    session.add(campaign)
    session.flush()
    target = CareTarget(
        campaign_id=campaign.id,
        customer_id=customer_id,
        period=period or f"{day.year}-{day.month:02d}",
        required=True,
    )
    session.add(target)
    session.flush()
    return target.id


def target_row(factory: sessionmaker[Session], target_id: int) -> CareTarget:
    with session_scope(factory) as session:
        target = session.get(CareTarget, target_id)
        assert target is not None
        session.expunge(target)
        return target


def due_ids(factory: sessionmaker[Session], policy: Policy, now: datetime) -> list[int]:
    with session_scope(factory) as session:
        return [d.target_id for d in care.due_now(session, policy=policy, now=now)]


def test_of_two_processes_claiming_one_target_exactly_one_wins(db_factory: sessionmaker[Session]) -> None:
    day = a_day()
    target_id, cid = a_target(db_factory, day)
    assert cid is not None
    results: dict[str, bool] = {}
    first = db_factory()
    try:
        results["first"] = care.claim(first, target_id=target_id, conversation_id=cid)

        def second() -> None:
            # Waits on the first's uncommitted claim (row lock, or SQLite's write lock), then finds it taken.
            with session_scope(db_factory) as session:
                results["second"] = care.claim(session, target_id=target_id, conversation_id=cid)

        other = threading.Thread(target=second)
        other.start()
        other.join(0.3)
        first.commit()
        other.join(10)
    finally:
        first.close()
    assert results == {"first": True, "second": False}
    target = target_row(db_factory, target_id)
    assert (target.status, target.conversation_id) == ("sent", cid) and target.sent_at is not None
    with session_scope(db_factory) as session:
        asked = session.scalars(
            select(AuditEvent).where(AuditEvent.conversation_id == cid, AuditEvent.action == care.ASKED)
        ).all()
        assert [a.data for a in asked] == [{"target_id": target_id, "step": care.RATING}]


def test_quiet_hours_defer_the_script_to_the_morning(db_factory: sessionmaker[Session]) -> None:
    day = a_day()
    target_id, _ = a_target(db_factory, day)
    assert target_id not in due_ids(db_factory, NIGHT, local(day, 22, 30))
    assert target_id not in due_ids(db_factory, NIGHT, local(day + timedelta(days=1), 7, 59))
    assert target_id in due_ids(db_factory, NIGHT, local(day + timedelta(days=1), 8, 0))
    assert target_row(db_factory, target_id).status == "due"  # found due is not sent: the hub claims it


def test_a_chat_an_agent_holds_is_skipped_and_tried_later(db_factory: sessionmaker[Session]) -> None:
    day = a_day()
    target_id, cid = a_target(db_factory, day, state="agent")
    assert cid is not None
    assert target_id not in due_ids(db_factory, ALWAYS, local(day, 10))
    with session_scope(db_factory) as session:
        conv.take_back_for_bot(session, conversation_id=cid)
    assert target_id in due_ids(db_factory, ALWAYS, local(day, 10, 1))


def test_a_customer_without_a_chat_stays_due_with_a_note_for_the_phone(
    db_factory: sessionmaker[Session],
) -> None:
    day = a_day()
    target_id, _ = a_target(db_factory, day, chat=None)
    assert target_id not in due_ids(db_factory, ALWAYS, local(day, 10))
    target = target_row(db_factory, target_id)
    assert (target.status, target.note) == ("due", care.NO_CHANNEL_NOTE)


def test_only_message_campaigns_of_the_running_period_are_sent(db_factory: sessionmaker[Session]) -> None:
    day = a_day()
    phone, _ = a_target(db_factory, day, channel="phone")
    last_month, _ = a_target(db_factory, day, period=f"{day.year - 1}-12")
    this_week, _ = a_target(db_factory, day, period=f"{day.isocalendar()[0]}-W{day.isocalendar()[1]:02d}")
    found = due_ids(db_factory, ALWAYS, local(day, 10))
    assert this_week in found and phone not in found and last_month not in found


def test_once_per_period_and_unanswered_ones_become_unreachable_when_it_ends(
    db_factory: sessionmaker[Session],
) -> None:
    day = a_day()
    target_id, cid = a_target(db_factory, day)
    assert cid is not None
    with session_scope(db_factory) as session:
        assert care.claim(session, target_id=target_id, conversation_id=cid, now=local(day, 10))
    with session_scope(db_factory) as session:
        assert not care.claim(session, target_id=target_id, conversation_id=cid)
    assert target_id not in due_ids(db_factory, ALWAYS, local(day, 11))
    month_end = care.period_end(f"{day.year}-{day.month:02d}", CARRIER_TZ)
    with session_scope(db_factory) as session:
        care.expire(session, tz=CARRIER_TZ, now=month_end - timedelta(seconds=1))
    assert target_row(db_factory, target_id).status == "sent"
    with session_scope(db_factory) as session:
        assert care.expire(session, tz=CARRIER_TZ, now=month_end) >= 1
    target = target_row(db_factory, target_id)
    assert (target.status, target.note) == ("unreachable", care.NO_ANSWER_NOTE)


def test_the_verified_telegram_contact_is_preferred_over_a_newer_widget_chat(
    db_factory: sessionmaker[Session],
) -> None:
    day = a_day()
    target_id, web = a_target(db_factory, day, chat="web")
    telegram = f"telegram:{user()}"
    with session_scope(db_factory) as session:
        customer_id = target_row(db_factory, target_id).customer_id
        conversation = conv.ensure_conversation(session, telegram)
        conversation.verified_customer_id = customer_id
        conversation.updated_at = utcnow() - timedelta(days=30)
    with session_scope(db_factory) as session:
        chat = care.chat_for(session, customer_id)
        assert chat is not None and chat.id == telegram
        session.get(Conversation, telegram).verified_customer_id = None  # type: ignore[union-attr]
    with session_scope(db_factory) as session:
        chat = care.chat_for(session, customer_id)
        assert chat is not None and chat.id == web


def test_period_ends_on_the_carriers_clock() -> None:
    assert care.period_end("2026-12", CARRIER_TZ) == datetime(2026, 12, 31, 16, tzinfo=timezone.utc)
    assert care.period_end("2026-W49", CARRIER_TZ) == datetime(2026, 12, 6, 16, tzinfo=timezone.utc)
    assert care.period_end("2026-Q4", CARRIER_TZ) == datetime(2026, 12, 31, 16, tzinfo=timezone.utc)
    assert care.period_end("2026-Q1", CARRIER_TZ) == datetime(2026, 3, 31, 16, tzinfo=timezone.utc)
    assert care.current_periods(date(2026, 12, 4)) == ("2026-W49", "2026-12", "2026-Q4")


def test_the_job_sends_due_scripts_through_the_hub_only_outside_quiet_hours(world: World) -> None:
    world.channel = FakeChannel(name="telegram")
    day = a_day()
    target_id, cid = a_target(world.factory, day)
    assert cid is not None
    sent = world.run(lambda hub: care_watch.run_once(hub, world.factory, NIGHT, now=local(day, 23)))
    assert target_id not in sent and world.channel.texts(cid.split(":", 1)[1]) == []
    sent = world.run(lambda hub: care_watch.run_once(hub, world.factory, NIGHT, now=local(day, 9)))
    assert target_id in sent
    [script] = world.channel.texts(cid.split(":", 1)[1])
    assert "Are you satisfied with our service?" in script and "Care Test CM" in script
    # The next run finds it sent: once per period.
    again = world.run(lambda hub: care_watch.run_once(hub, world.factory, NIGHT, now=local(day, 9, 5)))
    assert target_id not in again and len(world.channel.texts(cid.split(":", 1)[1])) == 1


def test_a_negative_check_interval_is_refused_and_zero_turns_the_job_off() -> None:
    with pytest.raises(ValidationError, match="care_message_check_s"):
        settings_for("sqlite://", care_message_check_s=-1)
    assert settings_for("sqlite://", care_message_check_s=0).care_message_check_s == 0
    assert settings_for("sqlite://").care_message_check_s == 60


@pytest.mark.parametrize("interval", [0.05, 0])
def test_the_backend_runs_the_job_and_stops_it_and_zero_turns_it_off(
    interval: float, db_url: str, db_factory: sessionmaker[Session], seeded_today: date
) -> None:
    from fastapi.testclient import TestClient

    from backend.main import create_app

    target_id, cid = a_target(db_factory, datetime.now(CARRIER_TZ).date(), chat="web")
    assert cid is not None
    app = create_app(settings_for(db_url, care_message_check_s=interval, quiet_hours="off"))
    with TestClient(app):
        job = app.state.care_messages
        deadline = monotonic() + (20 if interval else 1)
        while target_row(db_factory, target_id).status == "due" and monotonic() < deadline:
            sleep(0.05)
        running = job._task is not None
    assert job._task is None  # stopped with the app
    with session_scope(db_factory) as session:
        lines = [(m.sender, m.buttons) for m in conv.list_messages(session, conversation_id=cid)]
    if interval:
        assert running and target_row(db_factory, target_id).status == "sent"
        assert lines == [("bot", [{"title": str(n), "payload": str(n)} for n in range(1, 6)])]
    else:
        assert not running and target_row(db_factory, target_id).status == "due" and lines == []


def test_a_campaign_for_a_class_customers_reaches_every_one_on_its_channel_once(world: World) -> None:
    """The issue's test: each customer of one campaign hears the script on their own chat, once."""
    day = a_day()
    first, first_chat = a_target(world.factory, day, chat="web")
    with session_scope(world.factory) as session:
        campaign_id = session.get(CareTarget, first).campaign_id  # type: ignore[union-attr]
        chats = {first: first_chat}
        for chat in ("web", "telegram", "telegram"):
            customer_id, cid = f"CM{uuid.uuid4().hex[:10]}", f"{chat}:{user()}"
            session.add(Customer(id=customer_id, name=f"Care Test {customer_id}", customer_class="A"))
            session.flush()
            conv.ensure_conversation(session, cid).verified_customer_id = customer_id
            target = CareTarget(
                campaign_id=campaign_id, customer_id=customer_id, period=f"{day.year}-{day.month:02d}"
            )
            session.add(target)
            session.flush()
            chats[target.id] = cid
    sent = world.run(lambda hub: care_watch.run_once(hub, world.factory, NIGHT, now=local(day, 10)))
    assert set(chats) <= set(sent)
    again = world.run(lambda hub: care_watch.run_once(hub, world.factory, NIGHT, now=local(day, 11)))
    assert not set(chats) & set(again)
    with session_scope(world.factory) as session:
        for target_id, cid in chats.items():
            target = session.get(CareTarget, target_id)
            assert target is not None and (target.status, target.conversation_id) == ("sent", cid)
            scripts = [m for m in conv.list_messages(session, conversation_id=cid) if m.sender == "bot"]
            assert len(scripts) == 1 and "Are you satisfied with our service?" in scripts[0].text
