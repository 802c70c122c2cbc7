"""The webhook sender against a real receiver on 127.0.0.1: signatures, retries, order, two workers."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.main import create_app
from backend.models import WebhookDelivery, utcnow
from backend.services import webhooks
from backend.services.tickets import update_ticket
from backend.services.webhook_delivery import deliver_due, retry_delay_s, signature
from tests.backend.factories import a_ticket, settings_for

README = Path(__file__).resolve().parents[3] / "README.md"


def readme_check(handled: list[dict[str, Any]]) -> Callable[..., bool]:
    """The receiver's check exactly as the README's Webhooks section prints it; `handle` appends."""
    section = README.read_text(encoding="utf-8").split("### Webhooks\n", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {"handle": handled.append}
    exec(code, namespace)
    check: Callable[..., bool] = namespace["check"]
    return check


class Receiver:
    """A tiny HTTP server: answers the scripted status codes in turn (then 200), records every request."""

    def __init__(self) -> None:
        self.script: list[int] = []
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.delay_s = 0.0
        self.in_flight: dict[str, int] = {}
        self.overlaps = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                event_id = self.headers["X-Carrier-Event-Id"]
                with receiver.lock:
                    receiver.requests.append((dict(self.headers.items()), body))
                    if receiver.in_flight.get(event_id):
                        receiver.overlaps += 1
                    receiver.in_flight[event_id] = receiver.in_flight.get(event_id, 0) + 1
                    code = receiver.script.pop(0) if receiver.script else 200
                time.sleep(receiver.delay_s)
                with receiver.lock:
                    receiver.in_flight[event_id] -= 1
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def quiet_other_endpoints(session: Session) -> None:
    """Older tests' endpoints must not hold this test's worker up (nor get its deliveries)."""
    for old in webhooks.list_endpoints(session):
        webhooks.set_active(session, old.id, False)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.close()


@pytest.fixture
def endpoint(
    db_factory: sessionmaker[Session], seeded_today: object, receiver: Receiver
) -> Iterator[tuple[int, str]]:
    """An endpoint for the ticket events at the receiver: (id, secret); removed with its log afterwards."""
    with session_scope(db_factory) as session:
        quiet_other_endpoints(session)
        made, secret = webhooks.create_endpoint(
            session, url=receiver.url, description=None, events=list(webhooks.TICKET_EVENTS), created_by="t"
        )
        endpoint_id = made.id
    yield endpoint_id, secret
    with session_scope(db_factory) as session:
        webhooks.delete_endpoint(session, endpoint_id)


def log(factory: sessionmaker[Session], endpoint_id: int) -> list[WebhookDelivery]:
    with session_scope(factory) as session:
        return list(
            session.scalars(
                select(WebhookDelivery)
                .where(WebhookDelivery.endpoint_id == endpoint_id)
                .order_by(WebhookDelivery.id)
            )
        )


def rounds(factory: sessionmaker[Session], count: int, **kwargs: Any) -> None:
    async def run() -> None:
        async with httpx.AsyncClient() as client:
            for _ in range(count):
                await deliver_due(factory, client, **kwargs)

    asyncio.run(run())


def test_the_signature_verifies_with_the_readmes_check(
    db_factory: sessionmaker[Session], endpoint: tuple[int, str], receiver: Receiver
) -> None:
    endpoint_id, secret = endpoint
    with session_scope(db_factory) as session:
        number = a_ticket(session).number
    rounds(db_factory, 1)
    [(headers, body)] = receiver.requests
    assert headers["X-Carrier-Event-Type"] == "ticket.created"
    payload = json.loads(body)
    assert payload["id"] == headers["X-Carrier-Event-Id"]
    assert payload["data"]["ticket"]["number"] == number
    handled: list[dict[str, Any]] = []
    check = readme_check(handled)
    seen: set[str] = set()
    assert check(secret, headers, body, seen)
    assert check(secret, headers, body, seen)  # the same event again: accepted, handled once
    assert handled == [payload]
    assert not check("whsec_other", headers, body, set())
    assert not check(secret, headers, body.replace(b"created", b"resolved"), set())
    # Signed right but 10 minutes old: a replayed request.
    old = int(time.time()) - 600
    stale = {**headers, "X-Carrier-Timestamp": str(old)}
    stale["X-Carrier-Signature"] = signature(secret, payload["id"], old, body)
    assert not check(secret, stale, body, set())
    [row] = log(db_factory, endpoint_id)
    assert (row.status, row.attempts, row.last_status_code) == ("delivered", 1, 200)


def test_a_500_is_retried_after_the_backoff_and_the_log_shows_it(
    db_factory: sessionmaker[Session], endpoint: tuple[int, str], receiver: Receiver
) -> None:
    endpoint_id, _ = endpoint
    receiver.script = [500]
    with session_scope(db_factory) as session:
        a_ticket(session)
    t0 = utcnow()
    rounds(db_factory, 1, now=t0)
    [row] = log(db_factory, endpoint_id)
    assert (row.status, row.attempts, row.last_status_code, row.last_error) == ("pending", 1, 500, "HTTP 500")
    assert 8 <= (row.next_attempt_at - t0).total_seconds() <= 12
    rounds(db_factory, 1, now=t0 + timedelta(seconds=5))  # not due yet
    assert len(receiver.requests) == 1
    rounds(db_factory, 1, now=t0 + timedelta(seconds=13))
    [row] = log(db_factory, endpoint_id)
    assert (row.status, row.attempts, row.last_status_code, row.last_error) == ("delivered", 2, 200, None)
    ids = [headers["X-Carrier-Event-Id"] for headers, _ in receiver.requests]
    assert len(ids) == 2 and ids[0] == ids[1]  # the same event twice: the receiver dedups by its id


def test_order_per_ticket_holds_while_the_first_delivery_fails(
    db_factory: sessionmaker[Session], endpoint: tuple[int, str], receiver: Receiver
) -> None:
    receiver.script = [503]
    with session_scope(db_factory) as session:
        number = a_ticket(session).number
    with session_scope(db_factory) as session:
        update_ticket(session, number=number, expected_version=None, actor="bot", status="escalated")
    with session_scope(db_factory) as session:
        other = a_ticket(session).number
    t0 = utcnow()
    # One delivery a round, so the receiver's scripted 503 meets the first ticket's "created".
    rounds(db_factory, 3, now=t0, limit=1)
    # The first ticket's "created" failed: its "escalated" waits; the other ticket is not held up.
    sent = [(json.loads(b)["type"], json.loads(b)["data"]["ticket"]["number"]) for _, b in receiver.requests]
    assert sent == [("ticket.created", number), ("ticket.created", other)]
    rounds(db_factory, 3, now=t0 + timedelta(seconds=15), limit=1)
    sent = [(json.loads(b)["type"], json.loads(b)["data"]["ticket"]["number"]) for _, b in receiver.requests]
    assert sent[2:] == [("ticket.created", number), ("ticket.escalated", number)]


def test_a_failing_receiver_is_given_up_24_hours_after_the_first_attempt(
    db_factory: sessionmaker[Session], endpoint: tuple[int, str], receiver: Receiver
) -> None:
    endpoint_id, _ = endpoint
    receiver.script = [500] * 100
    with session_scope(db_factory) as session:
        a_ticket(session)
    t0 = utcnow()
    rounds(db_factory, 1, now=t0)
    rounds(db_factory, 1, now=t0 + timedelta(hours=23))
    [row] = log(db_factory, endpoint_id)
    assert (row.status, row.attempts) == ("pending", 2)
    # The second failure waits 20 s (±20%) for the third try.
    assert 16 <= (row.next_attempt_at - (t0 + timedelta(hours=23))).total_seconds() <= 24
    rounds(db_factory, 1, now=t0 + timedelta(hours=24, minutes=1))
    [row] = log(db_factory, endpoint_id)
    assert (row.status, row.attempts, row.last_status_code) == ("failed", 3, 500)
    rounds(db_factory, 1, now=t0 + timedelta(hours=30))
    assert len(receiver.requests) == 3


def test_a_network_error_is_retried(db_factory: sessionmaker[Session], endpoint: tuple[int, str]) -> None:
    endpoint_id, _ = endpoint
    with session_scope(db_factory) as session:
        webhooks.set_active(session, endpoint_id, False)
        closed, _ = webhooks.create_endpoint(
            session, url="http://127.0.0.1:9/hook", description=None, events=None, created_by="t"
        )
        closed_id = closed.id
        a_ticket(session)
    try:
        rounds(db_factory, 1)
        [row] = log(db_factory, closed_id)
        assert row.status == "pending" and row.attempts == 1 and row.last_status_code is None
        assert row.last_error and row.last_error.startswith("ConnectError")
    finally:
        with session_scope(db_factory) as session:
            webhooks.delete_endpoint(session, closed_id)


def test_backoff_doubles_from_10_seconds_up_to_an_hour() -> None:
    assert [retry_delay_s(n, jitter=1.0) for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert retry_delay_s(20, jitter=1.0) == 3600
    assert retry_delay_s(20, jitter=1.2) == 3600
    assert 8 <= retry_delay_s(1) <= 12


def test_two_workers_never_send_one_delivery_twice(
    db_factory: sessionmaker[Session], endpoint: tuple[int, str], receiver: Receiver
) -> None:
    endpoint_id, _ = endpoint
    receiver.delay_s = 0.05
    with session_scope(db_factory) as session:
        numbers = [a_ticket(session).number for _ in range(12)]
    for number in numbers[:6]:
        with session_scope(db_factory) as session:
            update_ticket(session, number=number, expected_version=None, actor="bot", status="escalated")

    def worker() -> None:
        rounds(db_factory, 8, limit=3)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rows = log(db_factory, endpoint_id)
    assert len(rows) == 18 and all(r.status == "delivered" and r.attempts == 1 for r in rows)
    ids = [headers["X-Carrier-Event-Id"] for headers, _ in receiver.requests]
    assert sorted(ids) == sorted(r.event_id for r in rows)  # each exactly once
    assert receiver.overlaps == 0
    # Per ticket, "created" reached the receiver before "escalated".
    order = [(json.loads(b)["data"]["ticket"]["number"], json.loads(b)["type"]) for _, b in receiver.requests]
    for number in numbers[:6]:
        mine = [kind for n, kind in order if n == number]
        assert mine == ["ticket.created", "ticket.escalated"]


def test_the_backend_sends_deliveries_in_the_background_and_stops(
    db_url: str, db_factory: sessionmaker[Session], endpoint: tuple[int, str], receiver: Receiver
) -> None:
    endpoint_id, _ = endpoint
    app = create_app(settings_for(db_url, webhook_poll_interval_s=0.05, sla_watch_interval_s=0))
    with TestClient(app):
        with session_scope(db_factory) as session:
            number = a_ticket(session).number
        deadline = time.monotonic() + 20
        while not receiver.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        sender = app.state.webhook_sender
    [(headers, body)] = receiver.requests
    assert json.loads(body)["data"]["ticket"]["number"] == number
    assert sender._task is None  # cancelled with the app
    [row] = log(db_factory, endpoint_id)
    assert row.status == "delivered"
