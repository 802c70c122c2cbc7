"""Proactive notices: a scan reaches the shippers who asked, once per kind, never in quiet hours, never
past an agent or an opt-out, however many watchers run."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from time import monotonic, sleep
from typing import Any, TypeVar

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.config import Settings
from backend.db import session_scope
from backend.models import Notice, NoticeDelivery, Shipment, utcnow
from backend.services import conversations as conv
from backend.services import notice_watch, notices
from backend.services.integration import load_shipment, record_event, upsert_customer, upsert_shipment
from backend.services.notice_watch import prepare, run_once
from backend.services.notices import Claimed, Policy, QuietHours, parse_quiet_hours
from backend.waybill import make_waybill
from tests.backend.factories import CARRIER_TZ
from tests.backend.hub import conftest as hub_fixtures
from tests.backend.hub.world import World, user

T = TypeVar("T")
NIGHT = Policy(tz=CARRIER_TZ, quiet=QuietHours(time(21), time(8)), inquiry_days=14)
CUSTOMER = "NTC001"
# The hub's own test world: a fake Rasa over HTTP, a fake channel, a hub per call.
fake_rasa, world = hub_fixtures.fake_rasa, hub_fixtures.world
ALWAYS = Policy(tz=CARRIER_TZ, quiet=None, inquiry_days=14)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time on the carrier's clock, as UTC."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=CARRIER_TZ).astimezone(timezone.utc)


def new_shipment(factory: sessionmaker[Session], *, promised: date, status: str = "in_transit") -> str:
    """A fresh shipment of this file's own customer (the demo customers' shipment lists stay as seeded)."""
    waybill = make_waybill("NT", random.randrange(10_000_000, 99_999_999))
    with session_scope(factory) as session:
        upsert_customer(
            session, customer_id=CUSTOMER, name="Notice Test Traders", customer_class="C", phone=None
        )
        upsert_shipment(
            session,
            waybill=waybill,
            values={
                "customer_id": CUSTOMER,
                "origin": "Nanning",
                "destination": "Wuhan",
                "status": status,
                "promised_date": promised,
                "delivered_at": None,
                "signed_by": None,
                "signer_is_recipient": None,
                "delay_reason": None,
                "exception_reason": None,
                "force_majeure": False,
                "declared_value": None,
                "declared_weight_kg": None,
                "charged_weight_kg": None,
                "quoted_amount": None,
                "charged_amount": None,
                "freight_amount": None,
                "goods_description": None,
                "pickup_due_at": None,
                "courier_note": None,
            },
        )
    return waybill


def scan(
    factory: sessionmaker[Session],
    waybill: str,
    status: str,
    *,
    at: datetime,
    event_id: str | None = None,
    location: str = "Wuhan hub",
    reason: str | None = None,
) -> bool:
    """A scan as the integration API stores it; True when it was new."""
    with session_scope(factory) as session:
        shipment = load_shipment(session, waybill)
        assert shipment is not None
        if reason is not None:
            shipment.exception_reason = reason
        outcome = record_event(
            session,
            shipment=shipment,
            event_id=event_id or f"ev-{user()}",
            occurred_at=at,
            code=status.upper(),
            location=location,
            description=f"{status} at {location}",
            status=status,
        )
        return outcome.created


def shipper(
    factory: sessionmaker[Session], waybill: str, *, at: datetime, language: str = "en", state: str = "bot"
) -> str:
    """A conversation on the fake channel that asked the bot about `waybill` at `at`."""
    cid = f"fake:{user()}"
    with session_scope(factory) as session:
        conversation = conv.ensure_conversation(session, cid)
        conversation.language, conversation.state = language, state
    with session_scope(factory) as session:
        assert notices.record_inquiry(session, conversation_id=cid, waybill=waybill, now=at)
    return cid


def watch(world: World, policy: Policy, now: datetime) -> list[Claimed]:
    return world.run(lambda hub: run_once(hub, world.factory, policy, now=now))


def delivered_to(world: World, cid: str) -> list[str]:
    return world.channel.texts(cid.partition(":")[2])


def deliveries(factory: sessionmaker[Session], cid: str) -> list[NoticeDelivery]:
    with session_scope(factory) as session:
        return notices.deliveries_for(session, cid)


def notices_of(factory: sessionmaker[Session], waybill: str) -> list[str]:
    with session_scope(factory) as session:
        return sorted(
            session.scalars(
                select(Notice.kind)
                .join(Shipment, Shipment.id == Notice.shipment_id)
                .where(Shipment.waybill == waybill)
            )
        )


def test_a_held_scan_reaches_the_shipper_who_asked_once_in_their_language(
    world: World, seeded_today: date
) -> None:
    day = seeded_today
    waybill = new_shipment(world.factory, promised=day + timedelta(days=3))
    english = shipper(world.factory, waybill, at=local(day, 9))
    chinese = shipper(world.factory, waybill, at=local(day, 9, 5), language="zh")
    bystander = shipper(world.factory, make_waybill("NT", 12345678), at=local(day, 9))
    watch(world, ALWAYS, local(day, 9, 30))  # whatever was there before this test
    assert scan(world.factory, waybill, "held", at=local(day, 10), reason="capacity shortage")
    watch(world, ALWAYS, local(day, 10, 1))
    [en] = delivered_to(world, english)
    assert en.startswith(f"Update on your shipment {waybill}: it is held at Wuhan hub since ")
    assert "Reason: capacity shortage." in en and en.endswith('Reply "stop updates" to stop these messages.')
    [zh] = delivered_to(world, chinese)
    assert zh.startswith(f"您的运单 {waybill} 有新动态：") and "武汉转运中心" in zh and "回复“退订”" in zh
    assert delivered_to(world, bystander) == []
    # In the transcript as the bot's line, like any other.
    transcript = world.run(lambda hub: hub.transcript(english))
    assert [(m["sender"], m["text"]) for m in transcript] == [("bot", en)]

    # A second identical scan (a new event id, the same news) and a replay of the first say nothing.
    assert scan(world.factory, waybill, "held", at=local(day, 11))
    watch(world, ALWAYS, local(day, 11, 1))
    assert len(delivered_to(world, english)) == 1
    assert notices_of(world.factory, waybill) == ["held"]


def test_a_replayed_event_sends_nothing(world: World, seeded_today: date) -> None:
    day = seeded_today
    waybill = new_shipment(world.factory, promised=day + timedelta(days=2))
    cid = shipper(world.factory, waybill, at=local(day, 9))
    assert scan(world.factory, waybill, "out_for_delivery", at=local(day, 10), event_id=f"ofd-{waybill}")
    watch(world, ALWAYS, local(day, 10, 1))
    assert len(delivered_to(world, cid)) == 1
    assert not scan(world.factory, waybill, "out_for_delivery", at=local(day, 10), event_id=f"ofd-{waybill}")
    watch(world, ALWAYS, local(day, 10, 2))
    assert len(delivered_to(world, cid)) == 1
    # A new kind is news again: delivered, with who signed.
    with session_scope(world.factory) as session:
        shipment = load_shipment(session, waybill)
        assert shipment is not None
        shipment.signed_by = "Li Wei"
    scan(world.factory, waybill, "delivered", at=local(day, 14, 5))
    watch(world, ALWAYS, local(day, 14, 6))
    assert delivered_to(world, cid)[1].startswith(
        f"Update on your shipment {waybill}: it was delivered on {day:%d %B} at 14:05 "
        "and signed for by Li Wei."
    )


def test_quiet_hours_defer_a_notice_to_the_morning(world: World, seeded_today: date) -> None:
    day = seeded_today
    waybill = new_shipment(world.factory, promised=day + timedelta(days=2))
    cid = shipper(world.factory, waybill, at=local(day, 20))
    scan(world.factory, waybill, "held", at=local(day, 22, 30))
    watch(world, NIGHT, local(day, 22, 31))
    assert delivered_to(world, cid) == []
    [waiting] = deliveries(world.factory, cid)
    assert (waiting.status, waiting.due_at) == ("deferred", local(day + timedelta(days=1), 8))
    watch(world, NIGHT, local(day + timedelta(days=1), 7, 59))
    assert delivered_to(world, cid) == []
    watch(world, NIGHT, local(day + timedelta(days=1), 8, 0))
    assert len(delivered_to(world, cid)) == 1
    assert deliveries(world.factory, cid)[0].status == "sent"


def test_the_nights_notices_of_one_shipment_become_the_latest_one(world: World, seeded_today: date) -> None:
    day = seeded_today
    waybill = new_shipment(world.factory, promised=day + timedelta(days=1))
    cid = shipper(world.factory, waybill, at=local(day, 20))
    scan(world.factory, waybill, "out_for_delivery", at=local(day, 6))
    watch(world, NIGHT, local(day, 6, 1))
    scan(world.factory, waybill, "delivered", at=local(day, 7, 30))
    watch(world, NIGHT, local(day, 7, 31))
    watch(world, NIGHT, local(day, 8, 1))
    [said] = delivered_to(world, cid)
    assert "was delivered" in said
    assert sorted(d.status for d in deliveries(world.factory, cid)) == ["dismissed", "sent"]


def test_late_is_found_by_the_clock_once(world: World, seeded_today: date) -> None:
    day = seeded_today
    waybill = new_shipment(world.factory, promised=day + timedelta(days=1))
    cid = shipper(world.factory, waybill, at=local(day, 9), language="zh")
    scan(world.factory, waybill, "in_transit", at=local(day, 10), location="Changsha hub")
    watch(world, ALWAYS, local(day + timedelta(days=1), 23))  # due tomorrow: not late yet
    assert delivered_to(world, cid) == []
    # Asked once the promise had passed: the bot's answer said it is late, no notice repeats it.
    told = shipper(world.factory, waybill, at=local(day + timedelta(days=2), 0, 5))
    watch(world, ALWAYS, local(day + timedelta(days=2), 10))
    assert delivered_to(world, told) == []
    [late] = delivered_to(world, cid)
    assert "尚未送达" in late and "长沙转运中心" in late
    watch(world, ALWAYS, local(day + timedelta(days=3), 10))
    assert len(delivered_to(world, cid)) == 1


def test_an_agent_held_conversation_gets_nothing_until_the_agent_sends_it(
    world: World, seeded_today: date
) -> None:
    day = seeded_today
    waybill = new_shipment(world.factory, promised=day + timedelta(days=2))
    cid = shipper(world.factory, waybill, at=local(day, 9), state="queued")
    scan(world.factory, waybill, "returned", at=local(day, 10), reason="recipient phone number wrong")
    watch(world, ALWAYS, local(day, 10, 1))
    assert delivered_to(world, cid) == []
    with session_scope(world.factory) as session:
        [waiting] = notices.waiting_for_agent(session, cid)
    assert waiting.kind == "returned" and "returned to the sender" in waiting.text
    with session_scope(world.factory) as session:
        text = notices.decide_waiting(
            session, conversation_id=cid, delivery_id=waiting.delivery_id, send=True, agent="alice"
        )
    assert text == waiting.text
    with session_scope(world.factory) as session:
        # A second click does nothing.
        assert (
            notices.decide_waiting(
                session, conversation_id=cid, delivery_id=waiting.delivery_id, send=True, agent="bob"
            )
            is None
        )
        assert notices.waiting_for_agent(session, cid) == []


def test_a_notice_claimed_as_an_agent_takes_the_conversation_waits_for_the_agent(
    world: World, seeded_today: date, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The claim and the push are two steps: a person taking the conversation between them gets the notice
    in the console, and the shipper does not get it over their head."""
    day = seeded_today
    waybill = new_shipment(world.factory, promised=day + timedelta(days=2))
    cid = shipper(world.factory, waybill, at=local(day, 9))
    watch(world, ALWAYS, local(day, 9, 30))  # whatever was there before this test

    def claim_then_agent_takes_it(*args: Any, **kwargs: Any) -> Any:
        claimed = prepare(*args, **kwargs)
        with session_scope(world.factory) as session:
            conv.claim_conversation(session, conversation_id=cid, agent="alice")
        return claimed

    monkeypatch.setattr(notice_watch, "prepare", claim_then_agent_takes_it)
    scan(world.factory, waybill, "out_for_delivery", at=local(day, 10))
    assert watch(world, ALWAYS, local(day, 10, 1)) == []
    assert delivered_to(world, cid) == []
    with session_scope(world.factory) as session:
        [waiting] = notices.waiting_for_agent(session, cid)
    assert waiting.kind == "out_for_delivery"


def test_after_stop_updates_nothing_reaches_the_conversation(world: World, seeded_today: date) -> None:
    day = seeded_today
    waybill = new_shipment(world.factory, promised=day + timedelta(days=2))
    stopped = shipper(world.factory, waybill, at=local(day, 9))
    other = shipper(world.factory, waybill, at=local(day, 9))
    with session_scope(world.factory) as session:
        assert notices.stop_updates(session, conversation_id=stopped)
        assert not notices.stop_updates(session, conversation_id=stopped)
    scan(world.factory, waybill, "held", at=local(day, 10))
    watch(world, ALWAYS, local(day, 10, 1))
    assert delivered_to(world, stopped) == []
    assert len(delivered_to(world, other)) == 1
    assert [d.status for d in deliveries(world.factory, stopped)] == ["stopped"]
    # One already waiting (deferred overnight) is stopped too.
    scan(world.factory, waybill, "out_for_delivery", at=local(day, 22))
    watch(world, NIGHT, local(day, 22, 1))
    with session_scope(world.factory) as session:
        notices.stop_updates(session, conversation_id=other)
    watch(world, NIGHT, local(day + timedelta(days=1), 9))
    assert len(delivered_to(world, other)) == 1
    # Resumed: the next news arrives.
    with session_scope(world.factory) as session:
        assert notices.resume_updates(session, conversation_id=other)
    scan(world.factory, waybill, "delivered", at=local(day + timedelta(days=1), 10))
    watch(world, ALWAYS, local(day + timedelta(days=1), 10, 1))
    assert len(delivered_to(world, other)) == 2


def test_an_old_inquiry_hears_nothing(world: World, seeded_today: date) -> None:
    day = seeded_today
    waybill = new_shipment(world.factory, promised=day + timedelta(days=30))
    cid = shipper(world.factory, waybill, at=local(day - timedelta(days=15), 9))
    scan(world.factory, waybill, "held", at=local(day, 10))
    watch(world, ALWAYS, local(day, 10, 1))
    assert delivered_to(world, cid) == []


def test_an_inquiry_is_written_at_most_once_an_hour(
    db_factory: sessionmaker[Session], seeded_today: date
) -> None:
    waybill = new_shipment(db_factory, promised=seeded_today)
    at = local(seeded_today, 9)
    cid = shipper(db_factory, waybill, at=at)
    with session_scope(db_factory) as session:
        assert not notices.record_inquiry(
            session, conversation_id=cid, waybill=waybill, now=at + timedelta(minutes=59)
        )
        assert notices.record_inquiry(
            session, conversation_id=cid, waybill=waybill, now=at + timedelta(minutes=61)
        )
        # A conversation the hub never saw (Rasa's REST channel) is not recorded.
        assert not notices.record_inquiry(session, conversation_id="rest-user", waybill=waybill, now=at)


def at_once(calls: list[Callable[[], T]]) -> list[T]:
    results: list[T] = []
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> None:
        barrier.wait()
        results.append(call())

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_two_watchers_at_once_send_one_notice(db_factory: sessionmaker[Session], seeded_today: date) -> None:
    day = seeded_today
    for _round in range(3):
        waybill = new_shipment(db_factory, promised=day + timedelta(days=2))
        cid = shipper(db_factory, waybill, at=local(day, 9))
        scan(db_factory, waybill, "held", at=local(day, 10))
        runs = at_once([lambda: prepare(db_factory, ALWAYS, now=local(day, 10, 1)) for _ in range(3)])
        claimed = [c for _run, items in runs for c in items if c.conversation_id == cid]
        assert len(claimed) == 1
        assert notices_of(db_factory, waybill) == ["held"]


@pytest.mark.parametrize(
    ("value", "start", "end"),
    [
        ("21:00-08:00", time(21), time(8)),
        (" 22:30 - 7:00 ", time(22, 30), time(7)),
        ("12:00-14:00", time(12), time(14)),
    ],
)
def test_quiet_hours_setting(value: str, start: time, end: time) -> None:
    assert parse_quiet_hours(value) == QuietHours(start, end)
    assert Settings(_env_file=None, quiet_hours=value).quiet_hours == value.strip()  # type: ignore[call-arg]


@pytest.mark.parametrize("value", ["9pm-8am", "21:00", "25:00-08:00", "08:00-08:00"])
def test_a_bad_quiet_hours_value_stops_start_up(value: str) -> None:
    with pytest.raises(ValueError, match="QUIET_HOURS"):
        Settings(_env_file=None, quiet_hours=value)  # type: ignore[call-arg]


def test_quiet_hours_off_and_spans() -> None:
    assert parse_quiet_hours("off") is None
    quiet = QuietHours(time(21), time(8))
    day = date(2026, 12, 3)
    assert quiet.until(local(day, 20, 59), CARRIER_TZ) is None
    assert quiet.until(local(day, 21), CARRIER_TZ) == local(day + timedelta(days=1), 8)
    assert quiet.until(local(day, 3), CARRIER_TZ) == local(day, 8)
    assert quiet.until(local(day, 8), CARRIER_TZ) is None
    lunch = QuietHours(time(12), time(14))
    assert lunch.until(local(day, 13), CARRIER_TZ) == local(day, 14)
    assert lunch.until(local(day, 15), CARRIER_TZ) is None


def test_the_backend_runs_the_watch_and_stops_it(
    db_url: str, db_factory: sessionmaker[Session], seeded_today: date
) -> None:
    from fastapi.testclient import TestClient

    from backend.main import create_app
    from tests.backend.factories import settings_for

    waybill = new_shipment(db_factory, promised=seeded_today + timedelta(days=2))
    cid = shipper(db_factory, waybill, at=utcnow())
    app = create_app(settings_for(db_url, notice_watch_interval_s=0.05, quiet_hours="off"))
    with TestClient(app):
        watcher = app.state.notice_watcher
        scan(db_factory, waybill, "out_for_delivery", at=utcnow())
        deadline = monotonic() + 20
        while [d.status for d in deliveries(db_factory, cid)] != ["sent"] and monotonic() < deadline:
            sleep(0.05)
    assert [d.status for d in deliveries(db_factory, cid)] == ["sent"]
    with session_scope(db_factory) as session:
        lines = [(m.sender, m.text) for m in conv.list_messages(session, conversation_id=cid)]
    assert lines == [("bot", deliveries(db_factory, cid)[0].text)]
    assert "out for delivery in Wuhan" in lines[0][1]
    assert watcher._task is None  # cancelled with the app
