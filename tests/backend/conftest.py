"""Store fixtures: a migrated, seeded database per backend (SQLite always, PostgreSQL when configured).

Set TEST_POSTGRES_URL (e.g. postgresql+psycopg://postgres:postgres@127.0.0.1:5432/postgres) to run the
store tests on PostgreSQL too: a fresh database is created for the test session and dropped after it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from backend.db import make_engine, make_session_factory, session_scope
from backend.migrate import upgrade
from backend.seed import seed_demo
from tests.backend.factories import CARRIER_TZ, carrier_today

POSTGRES_ENV = "TEST_POSTGRES_URL"


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A freshly migrated database URL for the whole test session, per backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('store') / 'app.db'}"
        upgrade(url)
        yield url
        return
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_ENV} is not set: PostgreSQL variants of the store tests are skipped")
    name = f"test_backend_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def db_engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def db_factory(db_engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(db_engine)


@pytest.fixture(scope="session")
def seeded_today(db_factory: sessionmaker[Session]) -> date:
    """Seed the demo data once per database; returns the day it was seeded for."""
    today = carrier_today()
    with session_scope(db_factory) as session:
        seed_demo(session, today=today, tz=CARRIER_TZ)
    return today


@pytest.fixture
def db_session(db_factory: sessionmaker[Session], seeded_today: date) -> Iterator[Session]:
    """A session on the seeded database, committed at the end of the test."""
    with session_scope(db_factory) as session:
        yield session
