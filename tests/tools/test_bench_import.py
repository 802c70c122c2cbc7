"""The bulk import bench's generated file: every row valid, scans per shipment, a replay all unchanged."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from backend.db import make_engine, make_session_factory
from backend.migrate import upgrade
from backend.models import Shipment, ShipmentEvent
from backend.services.bulk_import import import_file
from tools.bench_import import CUSTOMERS, SCANS_PER_SHIPMENT, write_file


def test_the_generated_file_imports_whole_and_replays_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "scans.ndjson"
    rows = write_file(path, 300)
    assert rows == CUSTOMERS + 30 + 300
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        factory = make_session_factory(engine)
        with factory() as session, path.open("rb") as stream:
            first = import_file(session, stream, fmt="ndjson", batch_size=250)
        assert (first.new, first.rejected) == (rows, 0)
        with factory() as session:
            assert session.scalar(select(func.count()).select_from(ShipmentEvent)) == 300
            # The last scan's status is the shipment's, so that a replay restates nothing.
            assert set(session.scalars(select(Shipment.status))) == {"delivered"}
            assert session.scalar(select(func.count()).select_from(Shipment)) == 300 // SCANS_PER_SHIPMENT
        with factory() as session, path.open("rb") as stream:
            again = import_file(session, stream, fmt="ndjson", batch_size=250)
        assert again.summary() == f"0 new, 0 updated, {rows} unchanged, 0 rejected"
    finally:
        engine.dispose()
