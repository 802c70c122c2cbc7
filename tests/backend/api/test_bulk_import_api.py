"""POST /api/v1/import: NDJSON and CSV bodies, their errors by line, 413, 415, scopes, the schema."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.main import create_app
from backend.models import Shipment
from tests.backend.api.integration_helpers import bearer, make_token, new_customer_id, new_waybill
from tests.backend.factories import settings_for

NDJSON = {"Content-Type": "application/x-ndjson"}


def body(customer: str, waybill: str) -> str:
    rows = [
        {"type": "customer", "id": customer, "name": "Api Bulk Ltd.", "customer_class": "C"},
        {
            "type": "shipment",
            "waybill": waybill,
            "customer_id": customer,
            "origin": "Nanning",
            "destination": "Kunming",
            "status": "in_transit",
        },
        {
            "type": "event",
            "waybill": waybill,
            "event_id": "API-1",
            "occurred_at": "2026-12-02T08:00:00+08:00",
            "code": "held",
            "location": "Kunming hub",
            "description": "Held at Kunming hub",
            "status": "held",
        },
        {"type": "event", "waybill": waybill, "event_id": "API-2", "occurred_at": "2026-12-02T09:00:00"},
    ]
    return "".join(json.dumps(row) + "\n" for row in rows)


def test_an_ndjson_body_and_its_replay(
    client: TestClient, writer: dict[str, str], integration_factory: sessionmaker[Session]
) -> None:
    customer, waybill = new_customer_id(), new_waybill()
    answer = client.post("/api/v1/import", content=body(customer, waybill), headers={**writer, **NDJSON})
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert (result["new"], result["rejected"]) == (3, 1)
    fields = {(e["line"], e["field"]) for e in result["errors"]}
    assert {(4, "code"), (4, "occurred_at")} <= fields
    with session_scope(integration_factory) as session:
        shipment = session.scalars(select(Shipment).where(Shipment.waybill == waybill)).one()
        assert shipment.status == "held" and [e.event_id for e in shipment.events] == ["API-1"]

    replay = client.post("/api/v1/import", content=body(customer, waybill), headers={**writer, **NDJSON})
    assert (replay.json()["new"], replay.json()["updated"], replay.json()["unchanged"]) == (0, 1, 2)


def test_a_csv_body(
    client: TestClient, writer: dict[str, str], integration_factory: sessionmaker[Session]
) -> None:
    waybill = new_waybill()
    csv_body = (
        "waybill,customer_id,origin,destination,status,promised_date,freight_amount\n"
        f"{waybill},C002,Nanning,Xi'an,in_transit,2026-12-08,55.5\n"
        f"{waybill[:-2]},C002,Nanning,Xi'an,in_transit,,\n"
    )
    answer = client.post(
        "/api/v1/import", content=csv_body, headers={**writer, "Content-Type": "text/csv; charset=utf-8"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["by_kind"]["shipment"] == {"new": 1, "updated": 0, "unchanged": 0, "rejected": 1}
    assert [(e["line"], e["field"]) for e in answer.json()["errors"]] == [(3, "waybill")]
    with session_scope(integration_factory) as session:
        assert str(
            session.scalars(select(Shipment.freight_amount).where(Shipment.waybill == waybill)).one()
        ) == ("55.50")


def test_other_types_large_bodies_and_scopes(
    integration_url: str, integration_factory: sessionmaker[Session], writer: dict[str, str]
) -> None:
    small = settings_for(integration_url, import_max_mb=0.001)
    with TestClient(create_app(small)) as client:
        plain = client.post("/api/v1/import", content="x", headers={**writer, "Content-Type": "text/plain"})
        assert plain.status_code == 415
        customer, waybill = new_customer_id(), new_waybill()
        large = body(customer, waybill) * 3
        assert len(large) > 1000
        too_large = client.post("/api/v1/import", content=large, headers={**writer, **NDJSON})
        assert too_large.status_code == 413
        # A chunked body (no Content-Length) is counted as it streams.
        chunked = client.post(
            "/api/v1/import",
            content=iter([large[:600].encode(), large[600:].encode()]),
            headers={**writer, **NDJSON},
        )
        assert chunked.status_code == 413
        with session_scope(integration_factory) as session:
            # Refused before a row was read: nothing of it is stored.
            assert session.scalars(select(Shipment).where(Shipment.waybill == waybill)).first() is None
        assert client.post("/api/v1/import", content="", headers=NDJSON).status_code == 401
        reader = bearer(make_token(integration_factory, "shipments:read", "tickets:read"))
        assert client.post("/api/v1/import", content="", headers={**reader, **NDJSON}).status_code == 403


def test_the_import_route_is_in_the_schema() -> None:
    operation = create_app().openapi()["paths"]["/api/v1/import"]["post"]
    assert operation["security"] == [{"IntegrationToken": []}]
    assert {"application/x-ndjson", "text/csv"} <= set(operation["requestBody"]["content"])
    assert {"200", "401", "403", "413", "415"} <= set(operation["responses"])
