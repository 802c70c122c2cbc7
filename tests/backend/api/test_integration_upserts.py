"""PUT /api/v1/customers/{id} and /api/v1/shipments/{waybill}: scopes, idempotent upserts, 422s."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.models import Customer, Shipment
from tests.backend.api.integration_helpers import (
    bearer,
    make_token,
    new_customer_id,
    new_waybill,
    shipment_body,
)
from tests.backend.factories import TOKEN


def updated_at(factory: sessionmaker[Session], waybill: str) -> Any:
    with session_scope(factory) as session:
        return session.scalars(select(Shipment.updated_at).where(Shipment.waybill == waybill)).one()


def test_the_write_routes_need_a_token_with_shipments_write(
    client: TestClient, integration_factory: sessionmaker[Session], customer: str
) -> None:
    waybill = new_waybill()
    refused = {
        "no token": ({}, 401),
        "unknown token": (bearer("cit_not-a-token"), 401),
        "the old API_TOKEN": (bearer(TOKEN), 401),
        "revoked": (bearer(make_token(integration_factory, "shipments:write", revoked=True)), 401),
        "shipments:read": (bearer(make_token(integration_factory, "shipments:read")), 403),
        "tickets:read": (bearer(make_token(integration_factory, "tickets:read")), 403),
    }
    for what, (headers, code) in refused.items():
        response = client.put(f"/api/v1/shipments/{waybill}", json=shipment_body(customer), headers=headers)
        assert response.status_code == code, what
        assert (response.headers.get("WWW-Authenticate") == "Bearer") == (code == 401), what
        response = client.put(
            f"/api/v1/customers/{customer}", json={"name": "x", "customer_class": "C"}, headers=headers
        )
        assert response.status_code == code, what
    with session_scope(integration_factory) as session:
        assert session.scalars(select(Shipment).where(Shipment.waybill == waybill)).first() is None
        assert session.get(Customer, customer).name == "Test Shipper Ltd."  # type: ignore[union-attr]
    # And a writer cannot read tickets.
    writer = bearer(make_token(integration_factory, "shipments:write"))
    assert client.get("/api/tickets", headers=writer).status_code == 403


def test_customer_upsert_is_idempotent(client: TestClient, writer: dict[str, str]) -> None:
    customer_id = new_customer_id()
    body = {"name": "Lotus Tea House", "customer_class": "C", "phone": "+86 138-0000-1234"}
    first = client.put(f"/api/v1/customers/{customer_id}", json=body, headers=writer)
    assert first.status_code == 201 and first.json()["result"] == "created"
    assert first.json()["customer"] == {
        "id": customer_id,
        "name": "Lotus Tea House",
        "customer_class": "C",
        "phone": "+8613800001234",
    }
    again = client.put(f"/api/v1/customers/{customer_id}", json=body, headers=writer)
    assert (again.status_code, again.json()["result"]) == (200, "unchanged")
    changed = client.put(
        f"/api/v1/customers/{customer_id}", json={**body, "customer_class": "B"}, headers=writer
    )
    assert (changed.status_code, changed.json()["result"]) == (200, "updated")
    assert changed.json()["customer"]["customer_class"] == "B"


def test_a_customer_without_a_class_is_classed_by_the_data(
    client: TestClient, writer: dict[str, str], integration_factory: sessionmaker[Session]
) -> None:
    """The class is optional: left out, the customer is classed by revenue; sent, it is the carrier's pin."""
    customer_id = new_customer_id()
    first = client.put(f"/api/v1/customers/{customer_id}", json={"name": "No Class Yet"}, headers=writer)
    assert first.status_code == 201, first.text
    assert first.json()["customer"]["customer_class"] == "C"  # no revenue yet
    with session_scope(integration_factory) as session:
        stored = session.get(Customer, customer_id)
        assert stored is not None and stored.pinned_class is None
    pinned = client.put(
        f"/api/v1/customers/{customer_id}",
        json={"name": "No Class Yet", "customer_class": "A"},
        headers=writer,
    )
    assert (pinned.status_code, pinned.json()["customer"]["customer_class"]) == (200, "A")
    with session_scope(integration_factory) as session:
        stored = session.get(Customer, customer_id)
        assert stored is not None and (stored.pinned_class, stored.pinned_by) == ("A", "carrier")
    bad = client.put(
        f"/api/v1/customers/{customer_id}", json={"name": "x", "customer_class": "D"}, headers=writer
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "customer_class"


def test_shipment_upsert_created_unchanged_updated(
    client: TestClient, writer: dict[str, str], customer: str, integration_factory: sessionmaker[Session]
) -> None:
    waybill = new_waybill()
    body = shipment_body(customer, delivered_at=None, pickup_due_at="2026-12-03T14:30:00+08:00")
    first = client.put(f"/api/v1/shipments/{waybill.lower()}", json=body, headers=writer)
    assert first.status_code == 201, first.text
    created = first.json()
    assert created["result"] == "created"
    assert (
        created["shipment"]["waybill"] == waybill
        and created["shipment"]["customer_name"] == "Test Shipper Ltd."
    )
    assert created["shipment"]["pickup_due_at"] == "2026-12-03T06:30:00+00:00"
    assert created["shipment"]["declared_value"] == "300.00"
    stamp = updated_at(integration_factory, waybill)

    # The same body twice (numbers written differently but equal) changes nothing, not even updated_at.
    again = client.put(f"/api/v1/shipments/{waybill}", json={**body, "declared_value": "300"}, headers=writer)
    assert (again.status_code, again.json()["result"]) == (200, "unchanged")
    assert updated_at(integration_factory, waybill) == stamp

    moved = client.put(f"/api/v1/shipments/{waybill}", json={**body, "status": "held"}, headers=writer)
    assert (moved.status_code, moved.json()["result"]) == (200, "updated")
    assert updated_at(integration_factory, waybill) > stamp

    read = client.get(f"/api/shipments/{waybill}", headers=bearer(TOKEN)).json()
    assert read["status"] == "held" and read["origin"] == "Nanning"
    # What GET answers can be PUT back as it is: nothing changes.
    back = client.put(f"/api/v1/shipments/{waybill}", json=read, headers=writer)
    assert (back.status_code, back.json()["result"]) == (200, "unchanged"), back.text


def test_a_demo_shipment_put_back_as_read_is_unchanged(client: TestClient, writer: dict[str, str]) -> None:
    read = client.get("/api/shipments/EA100000034CN", headers=bearer(TOKEN)).json()
    back = client.put("/api/v1/shipments/EA100000034CN", json=read, headers=writer)
    assert (back.status_code, back.json()["result"]) == (200, "unchanged"), back.text
    assert back.json()["shipment"] == read


@pytest.mark.parametrize(
    ("path_waybill", "change", "loc", "words"),
    [
        ("EA100000018CN", {}, ["path", "waybill"], "check digit"),
        ("EA12CN", {}, ["path", "waybill"], "not an S10 waybill"),
        (None, {"customer_id": "NOBODY"}, ["body", "customer_id"], "unknown customer 'NOBODY'"),
        (None, {"status": "teleported"}, ["body", "status"], "must be one of pickup_booked"),
        (None, {"delivered_at": "2026-12-02T14:05:00"}, ["body", "delivered_at"], "timezone"),
        (None, {"declared_value": "-1"}, ["body", "declared_value"], "greater than or equal to 0"),
        (None, {"colour": "red"}, ["body", "colour"], "Extra inputs"),
        (None, {"waybill": "EA100000017CN"}, ["body", "waybill"], "differs from the path"),
        (None, {"origin": None}, ["body", "origin"], "valid string"),
    ],
)
def test_bad_shipments_are_422_with_the_field_and_the_reason(
    client: TestClient,
    writer: dict[str, str],
    customer: str,
    integration_factory: sessionmaker[Session],
    path_waybill: str | None,
    change: dict[str, Any],
    loc: list[str],
    words: str,
) -> None:
    waybill = path_waybill or new_waybill()
    response = client.put(
        f"/api/v1/shipments/{waybill}", json={**shipment_body(customer), **change}, headers=writer
    )
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == loc and words in error["msg"], error
    with session_scope(integration_factory) as session:
        assert session.scalars(select(Shipment).where(Shipment.waybill == waybill)).first() is None


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"name": "X", "customer_class": "D"}, ["body", "customer_class"]),
        ({"name": "X", "customer_class": "A", "phone": "not a phone"}, ["body", "phone"]),
        ({"name": "", "customer_class": "A"}, ["body", "name"]),
    ],
)
def test_bad_customers_are_422(
    client: TestClient, writer: dict[str, str], body: dict[str, Any], loc: list[str]
) -> None:
    response = client.put(f"/api/v1/customers/{new_customer_id()}", json=body, headers=writer)
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["detail"]] == [loc]
