from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from backend.api.deps import get_http_client
from backend.api.lifespan import DatabaseNotReady
from backend.db import session_scope
from backend.main import create_app
from backend.services.tickets import BusinessCalendar
from tests.backend.factories import CLOSED, TOKEN, a_ticket, settings_for


@pytest.fixture
def app(db_url: str, seeded_today: date) -> FastAPI:
    return create_app(settings_for(db_url))


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_health_degraded_when_rasa_is_down(client: TestClient) -> None:
    response = client.get("/api/health")
    assert response.status_code == 503
    assert response.json() == {
        "status": "degraded",
        "checks": {"database": "ok", "uploads": "ok", "rasa": "down", "actions": "down"},
    }


def test_health_ok_when_everything_answers(app: FastAPI) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={"status": "ok"})

    fake = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    app.dependency_overrides[get_http_client] = lambda: fake
    with TestClient(app) as client:
        response = client.get("/api/health")
    assert response.status_code == 200
    checks = {"database": "ok", "uploads": "ok", "rasa": "ok", "actions": "ok"}
    assert response.json() == {"status": "ok", "checks": checks}
    assert sorted(seen) == [f"{CLOSED}/", f"{CLOSED}/health"]


def test_health_degraded_when_actions_fail(app: FastAPI) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500 if request.url.path == "/health" else 200)

    fake = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    app.dependency_overrides[get_http_client] = lambda: fake
    with TestClient(app) as client:
        body = client.get("/api/health").json()
    assert body["checks"] == {"database": "ok", "uploads": "ok", "rasa": "ok", "actions": "down"}


def test_shipment_found(client: TestClient, seeded_today: date) -> None:
    response = client.get("/api/shipments/ea100000034cn", headers=auth())
    assert response.status_code == 200
    data = response.json()
    assert data["waybill"] == "EA100000034CN"
    assert data["status"] == "held"
    assert data["freight_amount"] == "180.00"
    assert data["days_late"] == 2 and data["is_late"] is True
    assert date.fromisoformat(data["promised_date"]) < seeded_today
    assert data["events"] and data["last_event"] == data["events"][-1]
    assert data["events"][0]["occurred_at"].endswith("+00:00")


@pytest.mark.parametrize(
    ("waybill", "code", "words"),
    [
        ("EA100000018CN", 400, "mistyped"),
        ("EA12CN", 400, "does not look like a waybill"),
        ("EA100000153CN", 404, "could not find"),
    ],
)
def test_shipment_errors(client: TestClient, waybill: str, code: int, words: str) -> None:
    response = client.get(f"/api/shipments/{waybill}", headers=auth())
    assert response.status_code == code
    assert words in response.json()["detail"]


@pytest.mark.parametrize("headers", [{}, auth("wrong-token"), {"Authorization": f"Basic {TOKEN}"}])
def test_tickets_and_shipments_need_the_token(client: TestClient, headers: dict[str, str]) -> None:
    for path in ("/api/tickets", "/api/tickets/T-202601-00001", "/api/shipments/EA100000017CN"):
        response = client.get(path, headers=headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_no_configured_token_rejects_everyone(db_url: str, seeded_today: date) -> None:
    with TestClient(create_app(settings_for(db_url, api_token=None))) as client:
        assert client.get("/api/tickets", headers=auth("")).status_code == 401
        assert client.get("/api/tickets", headers=auth("None")).status_code == 401


def test_tickets_listing(client: TestClient, db_factory: sessionmaker[Session]) -> None:
    cid = f"web:{uuid.uuid4()}"
    with session_scope(db_factory) as session:
        numbers = [
            a_ticket(
                session,
                conversation_id=cid,
                status=status,
                calendar=BusinessCalendar(),
                waybill="EA100000065CN",
                category="damage",
                priority="P3",
            ).number
            for status in ("open", "escalated")
        ]
        a_ticket(
            session,
            conversation_id=f"web:{uuid.uuid4()}",
            kind="handoff",
            status="escalated",
            calendar=BusinessCalendar(),
        )
    response = client.get("/api/tickets", params={"conversation_id": cid}, headers=auth())
    assert response.status_code == 200
    tickets = response.json()["tickets"]
    assert sorted(t["number"] for t in tickets) == sorted(numbers)
    assert all(t["conversation_id"] == cid and t["channel"] == "web" for t in tickets)
    assert list(tickets[0])[:14] == [
        "number",
        "conversation_id",
        "channel",
        "waybill",
        "kind",
        "category",
        "level",
        "priority",
        "status",
        "summary",
        "customer_wants",
        "agreed_resolution",
        "created_at",
        "sla_due_at",
    ]
    params = {"conversation_id": cid, "status": "escalated"}
    escalated = client.get("/api/tickets", params=params, headers=auth())
    assert [t["number"] for t in escalated.json()["tickets"]] == [numbers[1]]
    assert client.get("/api/tickets", params={"status": "bogus"}, headers=auth()).status_code == 400

    one = client.get(f"/api/tickets/{numbers[0]}", headers=auth())
    assert one.status_code == 200 and one.json()["number"] == numbers[0]
    assert client.get("/api/tickets/T-209901-99999", headers=auth()).status_code == 404


def test_startup_fails_clearly_without_tables(tmp_path: object) -> None:
    app = create_app(settings_for(f"sqlite:///{tmp_path}/empty.db"))
    with pytest.raises(DatabaseNotReady, match=r"python -m backend.migrate"), TestClient(app):
        pass


def test_module_app_does_not_touch_the_database_at_import() -> None:
    import backend.main

    assert not hasattr(backend.main.app.state, "engine")
