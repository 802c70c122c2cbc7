from __future__ import annotations

from decimal import Decimal

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from backend.db import make_engine
from backend.migrate import downgrade, upgrade
from backend.models import Base, utcnow


def test_migrated_schema_matches_models(db_engine: Engine) -> None:
    with db_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_upgrade_is_repeatable_and_reversible(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/fresh/app.db"  # the directory does not exist yet
    upgrade(url)
    upgrade(url)  # already at head: a no-op
    engine = make_engine(url)
    try:
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
        downgrade(url, "base")
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
        upgrade(url)
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_the_migration_folds_old_hints_and_marks_old_tickets_english(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/old.db"
    upgrade(url, "0004")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for cid, language in (("telegram:1", "zh-hans"), ("telegram:2", "en-GB"), ("web:3", None)):
                conn.execute(
                    text(
                        "INSERT INTO conversation (id, channel, external_id, state, language, created_at, "
                        "updated_at) VALUES (:id, 'x', 'y', 'bot', :language, :now, :now)"
                    ),
                    {"id": cid, "language": language, "now": utcnow()},
                )
            conn.execute(
                text(
                    "INSERT INTO ticket (number, idempotency_key, version, kind, status, created_at, "
                    "updated_at) VALUES ('T-202611-00001', 'k', 1, 'complaint', 'open', :now, :now)"
                ),
                {"now": utcnow()},
            )
        upgrade(url)
        with engine.connect() as conn:
            languages = dict(conn.execute(text("SELECT id, language FROM conversation")).all())
            ticket_language = conn.execute(text("SELECT language FROM ticket")).scalar_one()
        assert languages == {"telegram:1": "zh", "telegram:2": "en", "web:3": "en"}
        assert ticket_language == "en"
    finally:
        engine.dispose()


def test_old_unapproved_requests_become_waiting_requests(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/requests.db"
    upgrade(url, "0005")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for n in (1, 2):
                conn.execute(
                    text(
                        "INSERT INTO ticket (id, number, idempotency_key, version, kind, status, created_at, "
                        "updated_at) VALUES (:id, :number, :key, 1, 'complaint', 'assigned', :now, :now)"
                    ),
                    {"id": n, "number": f"T-202611-0000{n}", "key": f"k{n}", "now": utcnow()},
                )
            events = [
                (1, "agent:alice", "compensation_approval_requested", '{"compensation_cny": "800.00"}'),
                (1, "agent:alice", "compensation_approval_requested", '{"compensation_cny": "900.00"}'),
                (2, "agent:bob", "compensation_approval_requested", '{"compensation_cny": "700.00"}'),
                (2, "supervisor:sue", "compensation_approved", None),
            ]
            for ticket_id, actor, action, data in events:
                conn.execute(
                    text(
                        "INSERT INTO ticket_event (ticket_id, at, actor, action, data) "
                        "VALUES (:ticket_id, :at, :actor, :action, :data)"
                    ),
                    {"ticket_id": ticket_id, "at": utcnow(), "actor": actor, "action": action, "data": data},
                )
        upgrade(url)
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT ticket_id, amount_cny, status, requested_by FROM compensation_request")
            ).all()
        # Ticket 1's newest request waits; ticket 2's was approved under the old scheme.
        assert [(r[0], Decimal(str(r[1])), r[2], r[3]) for r in rows] == [
            (1, Decimal("900"), "pending", "agent:alice")
        ]
    finally:
        engine.dispose()
