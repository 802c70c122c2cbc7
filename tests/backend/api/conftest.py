"""Fixtures of the API tests: an app on the seeded database, a shipments:write token, a fresh customer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from backend.main import create_app
from tests.backend.api.integration_helpers import bearer, make_token, new_customer_id
from tests.backend.factories import settings_for


@pytest.fixture
def client(db_url: str, seeded_today: date) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(db_url))) as test_client:
        yield test_client


@pytest.fixture
def writer(db_factory: sessionmaker[Session]) -> dict[str, str]:
    """The headers of a fresh token with shipments:write."""
    return bearer(make_token(db_factory, "shipments:write"))


@pytest.fixture
def customer(client: TestClient, writer: dict[str, str]) -> str:
    """The id of a customer just created through the API."""
    customer_id = new_customer_id()
    body = {"name": "Test Shipper Ltd.", "customer_class": "B", "phone": "138 0000 9999"}
    assert client.put(f"/api/v1/customers/{customer_id}", json=body, headers=writer).status_code == 201
    return customer_id
