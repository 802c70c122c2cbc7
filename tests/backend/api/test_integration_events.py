"""POST /api/v1/shipments/{waybill}/events: new, replayed, out-of-order and raced scans, and bad ones."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.models import Shipment, ShipmentEvent
from backend.services.integration import EventOutcome, load_shipment, record_event
from backend.services.shipments import get_shipment
from bot.actions.shipment_text import status_text
from tests.backend.api.integration_helpers import (
    bearer,
    make_token,
    new_waybill,
    shipment_body,
)
from tests.backend.factories import CARRIER_TZ, TOKEN


@pytest.fixture
def waybill(client: TestClient, writer: dict[str, str], customer: str) -> str:
    """A fresh in-transit shipment of a fresh customer, with no scans."""
    number = new_waybill()
    response = client.put(f"/api/v1/shipments/{number}", json=shipment_body(customer), headers=writer)
    assert response.status_code == 201
    return number


def scan(event_id: str, occurred_at: str, **extra: Any) -> dict[str, Any]:
    body = {
        "event_id": event_id,
        "occurred_at": occurred_at,
        "code": "ARR",
        "location": "Changsha hub",
        "description": "Arrived at the hub",
    }
    body.update(extra)
    return body


def stored_events(factory: sessionmaker[Session], waybill: str) -> list[ShipmentEvent]:
    with session_scope(factory) as session:
        stmt = select(ShipmentEvent).join(ShipmentEvent.shipment).where(Shipment.waybill == waybill)
        return list(session.scalars(stmt.order_by(ShipmentEvent.id)))


def test_a_new_scan_then_its_replay(
    client: TestClient, writer: dict[str, str], waybill: str, integration_factory: sessionmaker[Session]
) -> None:
    url = f"/api/v1/shipments/{waybill}/events"
    body = scan("TMS-1", "2026-12-03T09:12:00+08:00", code="HELD", location="Wuhan hub", status="held")
    first = client.post(url, json=body, headers=writer)
    assert first.status_code == 201, first.text
    answer = first.json()
    assert answer["result"] == "created" and answer["status_applied"] is True
    assert answer["event"]["occurred_at"] == "2026-12-03T01:12:00+00:00"
    assert answer["shipment"]["status"] == "held"
    assert answer["shipment"]["last_event"]["location"] == "Wuhan hub"

    again = client.post(url, json=body, headers=writer)
    assert again.status_code == 200
    assert again.json()["result"] == "replay" and "nothing changed" in again.json()["note"]

    # The same event id with another body: the stored scan is kept, and the answer says so.
    other = {**body, "status": "delivered", "location": "Beijing", "occurred_at": "2026-12-04T10:00:00+08:00"}
    replay = client.post(url, json=other, headers=writer)
    assert replay.status_code == 200
    assert replay.json()["result"] == "replay" and "differs" in replay.json()["note"]
    assert replay.json()["event"]["location"] == "Wuhan hub"
    assert replay.json()["shipment"]["status"] == "held"
    [event] = stored_events(integration_factory, waybill)
    assert (event.event_id, event.status, event.location) == ("TMS-1", "held", "Wuhan hub")


def test_scans_are_placed_by_scan_time(
    client: TestClient, writer: dict[str, str], waybill: str, integration_factory: sessionmaker[Session]
) -> None:
    url = f"/api/v1/shipments/{waybill}/events"
    newer = scan(
        "B",
        "2026-12-03T10:00:00+08:00",
        code="OFD",
        location="Beijing",
        status="out_for_delivery",
        description="Out for delivery",
    )
    assert client.post(url, json=newer, headers=writer).json()["status_applied"] is True
    # An older scan arriving later is stored in its place but does not undo the newer status.
    older = scan("A", "2026-12-02T23:30:00+00:00", code="HELD", location="Wuhan hub", status="held")
    late = client.post(url, json=older, headers=writer)
    assert late.status_code == 201
    assert late.json()["status_applied"] is False and "newer scan" in late.json()["note"]
    assert late.json()["shipment"]["status"] == "out_for_delivery"
    # A scan without a status in between changes no status either.
    middle = scan("M", "2026-12-03T01:00:00+00:00", location="Shijiazhuang hub")
    assert client.post(url, json=middle, headers=writer).json()["status_applied"] is False

    read = client.get(f"/api/shipments/{waybill}", headers=bearer(TOKEN)).json()
    assert read["status"] == "out_for_delivery"
    assert [e["location"] for e in read["events"]] == ["Wuhan hub", "Shijiazhuang hub", "Beijing"]
    assert read["last_event"]["location"] == "Beijing"
    # What the bot reads and says: the newest scan, not the last one to arrive.
    with session_scope(integration_factory) as session:
        view = get_shipment(session, waybill)
    assert view is not None and view.last_event is not None and view.last_event.code == "OFD"
    now = datetime.now(CARRIER_TZ)
    said = status_text(view, CARRIER_TZ, now.date(), "en")
    assert "out for delivery" in said and "Beijing" in said and "Wuhan" not in said

    # A newer scan with a status applies again, and a delivery records when.
    done = scan("C", "2026-12-03T15:40:00+08:00", code="DLV", location="Beijing", status="delivered")
    answer = client.post(url, json=done, headers=writer).json()
    assert answer["shipment"]["status"] == "delivered"
    assert answer["shipment"]["delivered_at"] == "2026-12-03T07:40:00+00:00"


@pytest.mark.parametrize(
    ("change", "loc", "words"),
    [
        ({"occurred_at": "2026-12-03T09:12:00"}, ["body", "occurred_at"], "timezone"),
        ({"occurred_at": "yesterday"}, ["body", "occurred_at"], "datetime"),
        ({"status": "teleported"}, ["body", "status"], "must be one of pickup_booked"),
        ({"event_id": ""}, ["body", "event_id"], "at least 1 character"),
        ({"event_id": None}, ["body", "event_id"], "valid string"),
    ],
)
def test_bad_scans_are_422_with_the_field(
    client: TestClient,
    writer: dict[str, str],
    waybill: str,
    integration_factory: sessionmaker[Session],
    change: dict[str, Any],
    loc: list[str],
    words: str,
) -> None:
    body = {**scan("X", "2026-12-03T09:12:00+08:00"), **change}
    response = client.post(f"/api/v1/shipments/{waybill}/events", json=body, headers=writer)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == loc and words in error["msg"], error
    assert stored_events(integration_factory, waybill) == []


def test_scans_of_a_mistyped_or_unknown_waybill(client: TestClient, writer: dict[str, str]) -> None:
    body = scan("X", "2026-12-03T09:12:00+08:00")
    mistyped = client.post("/api/v1/shipments/EA100000018CN/events", json=body, headers=writer)
    assert mistyped.status_code == 422
    assert mistyped.json()["detail"][0]["loc"] == ["path", "waybill"]
    unknown = client.post(f"/api/v1/shipments/{new_waybill()}/events", json=body, headers=writer)
    assert unknown.status_code == 404 and "PUT /api/v1/shipments/" in unknown.json()["detail"]


def test_scans_need_shipments_write(
    client: TestClient, waybill: str, integration_factory: sessionmaker[Session]
) -> None:
    body = scan("X", "2026-12-03T09:12:00+08:00")
    url = f"/api/v1/shipments/{waybill}/events"
    assert client.post(url, json=body).status_code == 401
    assert client.post(url, json=body, headers=bearer(TOKEN)).status_code == 401
    reader = bearer(make_token(integration_factory, "shipments:read", "tickets:read"))
    assert client.post(url, json=body, headers=reader).status_code == 403
    assert stored_events(integration_factory, waybill) == []


def test_two_processes_storing_the_same_scan_store_it_once(
    waybill: str, integration_factory: sessionmaker[Session]
) -> None:
    """Session A stores the scan and holds its transaction open; B stores the same one meanwhile."""
    when = datetime.fromisoformat("2026-12-03T09:12:00+08:00")
    outcomes: dict[str, EventOutcome] = {}

    def store(session: Session, who: str) -> None:
        shipment = load_shipment(session, waybill)
        assert shipment is not None
        outcomes[who] = record_event(
            session,
            shipment=shipment,
            event_id="RACE-1",
            occurred_at=when,
            code="HELD",
            location="Wuhan hub",
            description="Held",
            status="held",
        )

    def second() -> None:
        with session_scope(integration_factory) as session:
            store(session, "B")

    with session_scope(integration_factory) as session:
        store(session, "A")
        racer = threading.Thread(target=second)
        racer.start()
        time.sleep(0.5)  # B is now waiting on A's row (PostgreSQL) or write lock (SQLite)
        assert "B" not in outcomes
    racer.join(timeout=30)
    assert outcomes["A"].created is True and outcomes["B"].created is False
    with session_scope(integration_factory) as session:
        count = session.scalar(
            select(func.count())
            .select_from(ShipmentEvent)
            .join(ShipmentEvent.shipment)
            .where(Shipment.waybill == waybill, ShipmentEvent.event_id == "RACE-1")
        )
    assert count == 1
