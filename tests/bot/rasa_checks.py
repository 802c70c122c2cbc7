"""Runs a tests/bot check module inside .venv-rasa (Rasa's environment) and returns what passed."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.rasa.checks import run_in_rasa


def run_rasa_checks(module: str, tracker_url: str) -> tuple[set[str], str]:
    """`python -m tests.bot.<module>` in .venv-rasa with TRACKER_CHECK_URL; the checks that passed, stderr."""
    return run_in_rasa(f"tests.bot.{module}", {"TRACKER_CHECK_URL": tracker_url})


@contextmanager
def own_postgres_database(prefix: str) -> Iterator[str]:
    """A new database on TEST_POSTGRES_URL's server for one test (dropped after); skips without it."""
    base = os.environ.get("TEST_POSTGRES_URL")
    if not base:
        pytest.skip("TEST_POSTGRES_URL is not set: the PostgreSQL variant is skipped")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        # Rasa's environment has psycopg2, ours psycopg 3: each check picks its own driver.
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
