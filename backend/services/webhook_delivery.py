"""Signed webhooks, the sending side: the worker that posts the outbox's deliveries, in order, with retries.

Each delivery is a POST of its JSON payload with the headers X-Carrier-Event-Id, X-Carrier-Event-Type,
X-Carrier-Timestamp (unix seconds) and X-Carrier-Signature: "sha256=" + the hex HMAC-SHA256, keyed with
the endpoint's secret, of the string f"{event_id}.{timestamp}.{body}" (body: the exact bytes sent).

A 2xx answer within the timeout delivers it; anything else is tried again after 10 s, 20 s, 40 s ... (at
most an hour, with ±20% jitter) until 24 hours after the first attempt, then the delivery is `failed`.
At least once: a receiver may see an event twice (a 200 lost on the way) and dedups by event id.
In order: a delivery waits while an earlier one for the same (endpoint, order key: the ticket number or
conversation id) is still pending. Several backend processes may run the worker: a delivery is taken
with a lease (claimed under FOR UPDATE SKIP LOCKED on PostgreSQL, under SQLite's write lock there), so
two processes never send it at once; a process that dies mid-send leaves it to be sent again after the
lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from backend.db import begin_write, session_scope
from backend.models import WebhookDelivery, WebhookEndpoint, utcnow

logger = logging.getLogger(__name__)

TIMEOUT_S = 10.0
# A delivery taken by a worker is its own for this long: the timeout and then some.
LEASE_S = 60.0
FIRST_RETRY_S = 10.0
MAX_RETRY_S = 3600.0
GIVE_UP_AFTER = timedelta(hours=24)
BATCH = 20
USER_AGENT = "CarrierCare-Webhooks/1"


def signature(secret: str, event_id: str, timestamp: int, body: bytes) -> str:
    """The X-Carrier-Signature value: sha256=<hex HMAC-SHA256(secret, "{event_id}.{timestamp}.{body}")>."""
    message = f"{event_id}.{timestamp}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def retry_delay_s(attempts: int, *, jitter: float | None = None) -> float:
    """Seconds before the next try after `attempts` failed ones: 10, 20, 40 ... capped at an hour, ±20%."""
    base = min(MAX_RETRY_S, FIRST_RETRY_S * 2 ** max(attempts - 1, 0))
    factor = jitter if jitter is not None else random.uniform(0.8, 1.2)
    return min(MAX_RETRY_S, base * factor)


@dataclass(frozen=True)
class Claimed:
    """A delivery a worker holds the lease on, with what it needs to send it."""

    id: int
    url: str
    secret: str
    event_id: str
    event_type: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    """What one attempt got: an HTTP status, or an error (network, timeout)."""

    id: int
    status_code: int | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _due(now: datetime) -> Any:
    earlier = aliased(WebhookDelivery)
    first_in_line = ~exists().where(
        earlier.endpoint_id == WebhookDelivery.endpoint_id,
        earlier.order_key == WebhookDelivery.order_key,
        earlier.status == "pending",
        earlier.id < WebhookDelivery.id,
    )
    return (
        WebhookDelivery.status == "pending",
        WebhookDelivery.next_attempt_at <= now,
        or_(WebhookDelivery.leased_until.is_(None), WebhookDelivery.leased_until <= now),
        WebhookEndpoint.active.is_(True),
        first_in_line,
    )


def claim_due(
    session: Session, *, now: datetime | None = None, limit: int = BATCH, lease_s: float = LEASE_S
) -> list[Claimed]:
    """Take the lease on up to `limit` deliveries that are due and first in line; the caller commits."""
    now = now or utcnow()
    base = (
        select(WebhookDelivery.id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(*_due(now))
    )
    # A cheap read first: an idle worker takes no write lock (SQLite has one for the whole database).
    if session.scalar(base.limit(1)) is None:
        return []
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        stmt = (
            base.order_by(WebhookDelivery.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=WebhookDelivery)
        )
    else:
        begin_write(session)  # one claimer at a time; the query below sees the winner's leases
        stmt = base.order_by(WebhookDelivery.id).limit(limit)
    ids = list(session.scalars(stmt))
    if not ids:
        return []
    rows = session.execute(
        select(WebhookDelivery, WebhookEndpoint.url, WebhookEndpoint.secret)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.id.in_(ids))
        .order_by(WebhookDelivery.id)
    ).all()
    claimed = []
    for delivery, url, secret in rows:
        delivery.leased_until = now + timedelta(seconds=lease_s)
        delivery.attempts += 1
        if delivery.first_attempt_at is None:
            delivery.first_attempt_at = now
        claimed.append(
            Claimed(delivery.id, url, secret, delivery.event_id, delivery.event_type, dict(delivery.payload))
        )
    session.flush()
    return claimed


def body_of(payload: dict[str, Any]) -> bytes:
    """The exact bytes posted (and signed)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


async def send(client: httpx.AsyncClient, delivery: Claimed, *, timestamp: int | None = None) -> Outcome:
    """POST one delivery, signed; never raises for what the receiver or the network does."""
    body = body_of(delivery.payload)
    stamp = timestamp if timestamp is not None else int(utcnow().timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Carrier-Event-Id": delivery.event_id,
        "X-Carrier-Event-Type": delivery.event_type,
        "X-Carrier-Timestamp": str(stamp),
        "X-Carrier-Signature": signature(delivery.secret, delivery.event_id, stamp, body),
    }
    try:
        response = await client.post(delivery.url, content=body, headers=headers, timeout=TIMEOUT_S)
    except httpx.HTTPError as error:
        # The error's class and text, never the body or headers (the secret-derived signature).
        return Outcome(delivery.id, None, f"{type(error).__name__}: {error}"[:200])
    problem = None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
    return Outcome(delivery.id, response.status_code, problem)


def record(session: Session, outcome: Outcome, *, now: datetime | None = None) -> str:
    """Write an attempt's result and give the lease back; returns the delivery's new status."""
    now = now or utcnow()
    delivery = session.get(WebhookDelivery, outcome.id)
    if delivery is None or delivery.status != "pending":
        return "gone"
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error
    delivery.leased_until = None
    if outcome.delivered:
        delivery.status = "delivered"
        delivery.delivered_at = now
    elif now - (delivery.first_attempt_at or now) >= GIVE_UP_AFTER:
        delivery.status = "failed"
    else:
        delivery.next_attempt_at = now + timedelta(seconds=retry_delay_s(delivery.attempts))
    session.flush()
    return delivery.status


async def deliver_due(
    factory: sessionmaker[Session],
    client: httpx.AsyncClient,
    *,
    now: datetime | None = None,
    limit: int = BATCH,
) -> list[Outcome]:
    """One round: claim what is due (own short transaction), send it all at once, record the results.

    `now` moves the clock for tests (the give-up after 24 hours); None is the real time.
    """

    def _claim() -> list[Claimed]:
        with session_scope(factory) as session:
            return claim_due(session, now=now, limit=limit)

    claimed = await asyncio.to_thread(_claim)
    if not claimed:
        return []
    stamp = int(now.timestamp()) if now is not None else None
    outcomes = list(await asyncio.gather(*(send(client, c, timestamp=stamp) for c in claimed)))

    def _record() -> None:
        with session_scope(factory) as session:
            for outcome in outcomes:
                record(session, outcome, now=now)

    await asyncio.to_thread(_record)
    for outcome in outcomes:
        if not outcome.delivered:
            logger.info("webhook delivery %d not delivered: %s", outcome.id, outcome.error)
    return outcomes


class WebhookSender:
    """Sends due deliveries every `interval_s` seconds, again at once after a busy round (lifespan)."""

    def __init__(self, factory: sessionmaker[Session], *, interval_s: float) -> None:
        self._factory = factory
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None

    def start(self) -> None:
        """Start the loop (no-op when the interval is 0)."""
        if self.interval_s > 0 and self._task is None:
            # Its own client: the app's has a 2 s timeout meant for Rasa, and no redirects are followed.
            self._client = httpx.AsyncClient(timeout=TIMEOUT_S, follow_redirects=False)
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="webhook-sender")

    async def _loop(self) -> None:
        assert self._client is not None
        while True:
            await asyncio.sleep(self.interval_s)
            while True:
                try:
                    done = await deliver_due(self._factory, self._client)
                except Exception:
                    logger.exception("webhook round failed; trying again in %.0f s", self.interval_s)
                    break
                if not done:
                    break

    async def stop(self) -> None:
        """Cancel the loop; a delivery cut off mid-send is sent again after its lease."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
