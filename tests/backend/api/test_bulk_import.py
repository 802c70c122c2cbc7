"""The bulk import service: NDJSON and CSV with bad rows, replays, scan placement, the batch fallback."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from backend.db import make_engine, make_session_factory, session_scope
from backend.migrate import upgrade
from backend.models import Customer, Shipment, ShipmentEvent
from backend.services.bulk_import import ImportResult, import_file
from backend.waybill import make_waybill
from tests.backend.api.integration_helpers import new_customer_id, new_waybill


def ndjson(rows: list[dict[str, Any] | str]) -> bytes:
    return "".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows).encode()


def run(factory: sessionmaker[Session], data: bytes, fmt: str = "ndjson", **options: Any) -> ImportResult:
    with factory() as session:
        return import_file(session, io.BytesIO(data), fmt=fmt, **options)  # type: ignore[arg-type]


def mistyped(waybill: str) -> str:
    """The same number with a wrong check digit."""
    digit = (int(waybill[10]) + 1) % 10
    return waybill[:10] + str(digit) + waybill[11:]


def shipment(waybill: str, customer_id: str, **extra: Any) -> dict[str, Any]:
    row = {
        "type": "shipment",
        "waybill": waybill,
        "customer_id": customer_id,
        "origin": "Nanning",
        "destination": "Wuhan",
        "status": "in_transit",
        "freight_amount": "30.00",
    }
    row.update(extra)
    return row


def scan(waybill: str, event_id: str, occurred_at: str, **extra: Any) -> dict[str, Any]:
    row = {
        "type": "event",
        "waybill": waybill,
        "event_id": event_id,
        "occurred_at": occurred_at,
        "code": "arrived_hub",
        "location": "Wuhan hub",
        "description": "Arrived at Wuhan hub",
    }
    row.update(extra)
    return row


def test_an_ndjson_file_with_bad_rows(integration_factory: sessionmaker[Session]) -> None:
    customer, first, second = new_customer_id(), new_waybill(), new_waybill()
    rows: list[dict[str, Any] | str] = [
        {"type": "customer", "id": customer, "name": "Bulk Shipper", "customer_class": "B", "phone": None},
        shipment(first, customer),  # line 2
        shipment(mistyped(second), customer),  # line 3: check digit
        shipment(second, "NOBODY-" + customer[:5]),  # line 4: unknown customer
        shipment(second, customer, status="lost"),  # line 5: unknown status
        shipment(second, customer),  # line 6
        scan(first, "B-1", "2026-12-01T08:00:00+08:00", status="in_transit"),  # line 7
        scan(first, "B-2", "2026-12-01T09:00:00"),  # line 8: no offset
        "{not json",  # line 9
        {"type": "parcel"},  # line 10
        scan(first, "B-3", "2026-12-02T10:00:00+08:00", status="held"),  # line 11
        scan(first, "B-4", "2026-12-01T12:00:00+08:00", status="in_transit"),  # line 12: older, late
        {k: v for k, v in scan(second, "B-5", "2026-12-02T10:00:00+08:00").items() if k != "code"},
    ]
    result = run(integration_factory, ndjson(rows), batch_size=4)
    lines = {(e.line, e.field) for e in result.errors}
    assert {(3, "waybill"), (4, "customer_id"), (5, "status"), (8, "occurred_at"), (13, "code")} <= lines
    assert {9, 10} <= {e.line for e in result.errors}
    assert str(next(e for e in result.errors if e.line == 3)) == (
        f"line 3: waybill: check digit is wrong ({mistyped(second)})"
    )
    assert result.rejected == 7 and result.new == 6 and result.updated == 0
    with session_scope(integration_factory) as session:
        stored = session.scalars(select(Shipment).where(Shipment.waybill == first)).one()
        # The newest scan with a status set it; the older one that came later did not undo it.
        assert stored.status == "held"
        assert [e.event_id for e in stored.events] == ["B-1", "B-4", "B-3"]
        second_status = session.scalars(select(Shipment.status).where(Shipment.waybill == second)).one()
        assert second_status == "in_transit"

    again = run(integration_factory, ndjson(rows), batch_size=4)
    assert (again.new, again.updated, again.rejected) == (0, 1, 7)  # `first` stated in_transit again


def test_a_replayed_file_changes_nothing(integration_factory: sessionmaker[Session]) -> None:
    customer, number = new_customer_id(), new_waybill()
    rows: list[dict[str, Any] | str] = [
        {"type": "customer", "id": customer, "name": "Replay Ltd.", "customer_class": "C"},
        shipment(number, customer, status="held"),
        scan(number, "R-1", "2026-12-01T08:00:00+08:00"),
        scan(number, "R-2", "2026-12-02T08:00:00+08:00", status="held", code="held"),
    ]
    first = run(integration_factory, ndjson(rows))
    assert (first.new, first.unchanged, first.rejected) == (4, 0, 0)

    def snapshot() -> Any:
        with session_scope(integration_factory) as session:
            s = session.scalars(select(Shipment).where(Shipment.waybill == number)).one()
            return s.updated_at, s.status, [(e.id, e.event_id, e.occurred_at) for e in s.events]

    before = snapshot()
    again = run(integration_factory, ndjson(rows))
    assert again.summary() == "0 new, 0 updated, 4 unchanged, 0 rejected"
    assert snapshot() == before


def test_a_csv_file_of_scans(integration_factory: sessionmaker[Session]) -> None:
    customer, number = new_customer_id(), new_waybill()
    run(
        integration_factory,
        ndjson([{"type": "customer", "id": customer, "name": "Csv Co", "customer_class": "A"}])
        + ndjson([shipment(number, customer)]),
    )
    csv_text = (
        "event_id,waybill,occurred_at,code,location,description,status,force_majeure\n"
        f"C-1,{number},2026-12-01T08:00:00+08:00,picked_up,Nanning,Picked up,,false\n"
        f"C-2,{mistyped(number)},2026-12-01T09:00:00+08:00,departed_hub,Nanning,Departed,,\n"
        f"C-3,{number},2026-12-02T09:00:00+08:00,held,Wuhan hub,Held: typhoon,held,true\n"
        f"C-4,{number},yesterday,held,Wuhan hub,Held,held,\n"
    )
    result = run(integration_factory, csv_text.encode(), fmt="csv")
    assert [(e.line, e.field) for e in result.errors] == [(3, "waybill"), (5, "occurred_at")]
    assert (result.new, result.rejected) == (2, 2)
    with session_scope(integration_factory) as session:
        stored = session.scalars(select(Shipment).where(Shipment.waybill == number)).one()
        assert stored.status == "held"
        assert [(e.event_id, e.force_majeure) for e in stored.events] == [("C-1", False), ("C-3", True)]


def test_a_customer_named_before_it_is_defined_is_unknown(integration_factory: sessionmaker[Session]) -> None:
    customer, number = new_customer_id(), new_waybill()
    rows: list[dict[str, Any] | str] = [
        shipment(number, customer),
        {"type": "customer", "id": customer, "name": "Late Ltd.", "customer_class": "C"},
    ]
    result = run(integration_factory, ndjson(rows))
    assert [(e.line, e.field, e.reason) for e in result.errors] == [(1, "customer_id", "unknown customer")]


def test_a_row_the_database_refuses_does_not_sink_its_batch(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fallback.db'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            # A rule only the database knows, as a carrier's own constraint would be.
            conn.execute(
                text(
                    "CREATE TRIGGER refuse_boom BEFORE INSERT ON shipment_event WHEN NEW.code = 'BOOM' "
                    "BEGIN SELECT RAISE(ABORT, 'scan code BOOM is refused'); END"
                )
            )
        factory = make_session_factory(engine)
        customer = "C" + uuid.uuid4().hex[:6]
        numbers = [make_waybill("BK", n) for n in range(1, 4)]
        rows: list[dict[str, Any] | str] = [
            {"type": "customer", "id": customer, "name": "Fallback", "customer_class": "C"}
        ]
        rows += [shipment(n, customer) for n in numbers]
        rows += [scan(n, f"F-{i}", "2026-12-01T08:00:00+08:00") for i, n in enumerate(numbers)]
        rows.append(scan(numbers[0], "F-boom", "2026-12-01T09:00:00+08:00", code="BOOM", status="held"))
        result = run(factory, ndjson(rows), batch_size=1000)
        assert result.rejected == 1 and result.new == 7
        (error,) = result.errors
        assert error.line == 8 and "BOOM is refused" in error.reason
        with session_scope(factory) as session:
            assert session.query(Customer).filter_by(id=customer).count() == 1
            assert len(list(session.scalars(select(ShipmentEvent.event_id)))) == 3
            # Nothing half-written: the refused scan's status was not applied either.
            assert set(session.scalars(select(Shipment.status))) == {"in_transit"}
    finally:
        engine.dispose()
