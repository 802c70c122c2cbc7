"""Fixtures of the integration API tests: their own seeded database, an app on it, a token, a customer.

The integration tests add customers and shipments; on the shared store database they would change the
counts other tests assert (tests/backend/seed), so they get a database of their own, per backend.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from backend.db import make_engine, make_session_factory, session_scope
from backend.main import create_app
from backend.migrate import upgrade
from backend.seed import seed_demo
from tests.backend.api.integration_helpers import bearer, make_token, new_customer_id
from tests.backend.factories import CARRIER_TZ, carrier_today, settings_for

POSTGRES_ENV = "TEST_POSTGRES_URL"  # as tests/backend/conftest.py reads it


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def integration_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated database with the demo data, for the integration tests alone."""
    base = os.environ.get(POSTGRES_ENV) if request.param == "postgresql" else None
    if request.param == "postgresql" and not base:
        pytest.skip(f"{POSTGRES_ENV} is not set: PostgreSQL variants of the store tests are skipped")
    name = f"test_integration_{uuid.uuid4().hex[:12]}"
    if base is None:
        url = f"sqlite:///{tmp_path_factory.mktemp('integration') / 'app.db'}"
    else:
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        engine = make_engine(url)
        with session_scope(make_session_factory(engine)) as session:
            seed_demo(session, today=carrier_today(), tz=CARRIER_TZ)
        engine.dispose()
        yield url
    finally:
        if base is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


@pytest.fixture(scope="session")
def integration_factory(integration_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(integration_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def client(integration_url: str) -> Iterator[TestClient]:
    """The app on the integration database (test_routes.py has its own on the shared one)."""
    with TestClient(create_app(settings_for(integration_url))) as test_client:
        yield test_client


@pytest.fixture
def writer(integration_factory: sessionmaker[Session]) -> dict[str, str]:
    """The headers of a fresh token with shipments:write."""
    return bearer(make_token(integration_factory, "shipments:write"))


@pytest.fixture
def customer(client: TestClient, writer: dict[str, str]) -> str:
    """The id of a customer just created through the API."""
    customer_id = new_customer_id()
    body = {"name": "Test Shipper Ltd.", "customer_class": "B", "phone": "138 0000 9999"}
    assert client.put(f"/api/v1/customers/{customer_id}", json=body, headers=writer).status_code == 201
    return customer_id
