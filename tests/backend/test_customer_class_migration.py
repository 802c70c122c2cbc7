from __future__ import annotations

from sqlalchemy import text

from backend.db import make_engine
from backend.migrate import downgrade, upgrade
from backend.models import utcnow


def test_stored_classes_become_carrier_pins_and_the_migration_reverses(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/classes.db"
    upgrade(url, "0012_integration")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for cid, cls in (("C001", "A"), ("C003", "C")):
                conn.execute(
                    text(
                        "INSERT INTO customer (id, name, customer_class, created_at) "
                        "VALUES (:id, 'x', :cls, :now)"
                    ),
                    {"id": cid, "cls": cls, "now": utcnow()},
                )
        upgrade(url)
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT id, customer_class, pinned_class, pinned_by, computed_class "
                    "FROM customer ORDER BY id"
                )
            ).all()
        assert [tuple(r) for r in rows] == [
            ("C001", "A", "A", "carrier", None),
            ("C003", "C", "C", "carrier", None),
        ]
        downgrade(url, "0012_integration")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT customer_class FROM customer ORDER BY id")).scalars().all() == [
                "A",
                "C",
            ]
    finally:
        engine.dispose()
