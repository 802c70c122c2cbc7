"""PostgreSQL tracker store for several Rasa processes: a bounded pool, never a stale kept tracker (issue 18).

The checks run inside Rasa 3.6.21 (.venv-rasa, tests/bot/tracker_pool_checks.py) on a database of their
own on TEST_POSTGRES_URL's server (skipped without it).
"""

from __future__ import annotations

import pytest

from tests.bot.rasa_checks import own_postgres_database, run_rasa_checks
from tools.stack import tracker_store_config

pytestmark = pytest.mark.rasa


def test_two_rasa_processes_share_one_postgresql_tracker_store_through_a_bounded_pool() -> None:
    with own_postgres_database("i18p_tracker") as url:
        passed, _log = run_rasa_checks("tracker_pool_checks", url)
    assert passed >= {
        "the_pool_is_bounded_as_the_endpoints_say",
        "two_processes_take_turns_on_one_conversation_and_never_see_a_stale_tracker",
        "connections_the_server_dropped_fail_one_turn_loudly_and_are_replaced",
        "the_stores_database_work_leaves_rasas_event_loop_free",
    }


def test_the_endpoints_carry_the_pool_settings_and_the_url_options() -> None:
    config = tracker_store_config(
        "postgresql+psycopg://rasa:pw@db:5433/tracker?sslmode=require",
        {"TRACKER_POOL_SIZE": "4", "TRACKER_MAX_OVERFLOW": "2"},
    )
    assert config["pool_size"] == 4 and config["max_overflow"] == 2
    assert config["query"] == {"sslmode": "require"}
    assert config["url"] == "db" and config["port"] == 5433 and config["db"] == "tracker"
    sqlite = tracker_store_config("sqlite:////tmp/tracker.db", {"TRACKER_POOL_SIZE": "4"})
    assert "pool_size" not in sqlite
