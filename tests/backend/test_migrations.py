from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from backend.migrate import downgrade, upgrade
from backend.models import Base


def test_migrated_schema_matches_models(db_engine: Engine) -> None:
    with db_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_upgrade_is_repeatable_and_reversible(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/fresh/app.db"  # the directory does not exist yet
    upgrade(url)
    upgrade(url)  # already at head: a no-op
    from backend.db import make_engine

    engine = make_engine(url)
    try:
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
        downgrade(url, "base")
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
        upgrade(url)
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
