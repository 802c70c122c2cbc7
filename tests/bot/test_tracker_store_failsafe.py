"""A broken tracker database fails the turn loudly: no fresh tracker, no memory save, resumes (issue 18).

The checks run inside Rasa 3.6.21 (.venv-rasa, tests/bot/failsafe_checks.py), on a SQLite file always and
on a PostgreSQL database of their own when TEST_POSTGRES_URL is set.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bot.rasa_checks import own_postgres_database, run_rasa_checks

pytestmark = pytest.mark.rasa
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
    with own_postgres_database("i18p_failsafe") as url:
        yield url


def test_a_broken_tracker_database_fails_the_turn_and_resumes(tracker_url: str) -> None:
    passed, log = run_rasa_checks("failsafe_checks", tracker_url)
    assert passed >= EXPECTED, passed
    # The one clear line the operator reads.
    assert "failed to retrieve a conversation" in log
    assert "failed to save a conversation" in log
