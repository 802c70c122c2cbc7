"""A broken tracker database fails the turn loudly: no fresh tracker, no memory save, resumes (issue 18).

The checks run inside Rasa 3.6.21 (.venv-rasa, tests/bot/failsafe_checks.py), on a SQLite file always and
on a PostgreSQL database of their own when TEST_POSTGRES_URL is set.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.rasa.checks import HERE as _RASA_CHECKS  # noqa: F401 - the runner's module must import
from tools.stack import RASA_BIN, RASA_ENV, ROOT

pytestmark = pytest.mark.rasa
CHECKS = "tests.bot.failsafe_checks"
EXPECTED = {
    "a_broken_database_fails_the_turn_and_the_conversation_resumes_when_it_is_back",
    "rasa_as_shipped_would_have_forgotten_the_complaint",
    "a_failed_turn_answers_503_on_the_turn_routes_only",
    "another_rasa_version_keeps_the_fail_safe_as_shipped",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def tracker_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tracker.db'}"
        return
    base = os.environ.get("TEST_POSTGRES_URL")
    if not base:
        pytest.skip("TEST_POSTGRES_URL is not set: the PostgreSQL variant is skipped")
    name = f"i18p_failsafe_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        # Rasa's environment has psycopg2, ours psycopg 3: the check picks its own driver.
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_a_broken_tracker_database_fails_the_turn_and_resumes(tracker_url: str) -> None:
    result = subprocess.run(
        [str(RASA_BIN / "python"), "-m", CHECKS],
        cwd=ROOT,
        env={**os.environ, **RASA_ENV, "PYTHONPATH": str(ROOT), "TRACKER_CHECK_URL": tracker_url},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    passed = {line.removeprefix("ok ") for line in result.stdout.splitlines() if line.startswith("ok ")}
    assert passed >= EXPECTED, result.stdout
    # The one clear line the operator reads, and no traceback for it.
    assert "failed to retrieve a conversation" in result.stderr
    assert "failed to save a conversation" in result.stderr
