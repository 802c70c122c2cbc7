"""`python -m backend recompute-classes [--dry-run]`: the table of classes and the changes."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from backend.__main__ import main
from backend.config import get_settings
from backend.db import make_engine, make_session_factory, session_scope
from backend.migrate import upgrade
from backend.models import AuditEvent, Customer, Shipment, utcnow
from backend.waybill import make_waybill


@pytest.fixture(autouse=True)
def development(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("APP_ENV", "development")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def url(tmp_path: Path) -> str:
    database = f"sqlite:///{tmp_path / 'app.db'}"
    upgrade(database)
    engine = make_engine(database)
    with session_scope(make_session_factory(engine)) as session:
        for n, (cid, freight) in enumerate((("R1", "6000"), ("R2", "2500"), ("R3", "1000"), ("R4", "500"))):
            session.add(Customer(id=cid, name=f"Shipper {cid}", customer_class="C", computed_class="C"))
            session.add(
                Shipment(
                    waybill=make_waybill("EA", 30_000_000 + n),
                    customer_id=cid,
                    origin="Nanning",
                    destination="Beijing",
                    status="delivered",
                    freight_amount=Decimal(freight),
                    created_at=utcnow() - timedelta(days=10),
                )
            )
        # The carrier says R5 is A, although it has shipped nothing yet.
        session.add(Customer(id="R5", name="New key account", customer_class="A"))
    engine.dispose()
    return database


def classes_in(url: str) -> dict[str, str]:
    engine = make_engine(url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            return dict(session.execute(select(Customer.id, Customer.customer_class)).tuples().all())
    finally:
        engine.dispose()


def run(url: str, *extra: str) -> str:
    out = io.StringIO()
    assert main(["--url", url, "recompute-classes", *extra], stdout=out) == 0
    return out.getvalue()


def test_dry_run_prints_the_table_and_changes_and_stores_nothing(url: str) -> None:
    text = run(url, "--dry-run")
    lines = text.splitlines()
    assert "(A: the first 70% of revenue, B: to 90%, C: the rest)" in lines[0]
    assert lines[1] == "5 customers, revenue 10,000.00 CNY"
    table = {line.split()[0]: line.split()[1:] for line in lines[3:7]}
    assert table["class"] == ["customers", "revenue", "share", "with", "pins"]
    # R1 60% then R2 crosses 70% (A, 85%); R3 starts at 85% (B, 95%); R4 and R5 (no revenue) are C.
    assert table["A"] == ["2", "8,500.00", "85.0%", "3"]
    assert table["B"] == ["1", "1,000.00", "10.0%", "1"]
    assert table["C"] == ["2", "500.00", "5.0%", "1"]
    assert "  R1 Shipper R1: class C -> A, computed (revenue share 60%)" in lines
    assert "  R2 Shipper R2: class C -> A, computed (revenue share 85%)" in lines
    assert "  R3 Shipper R3: class C -> B, computed (revenue share 95%)" in lines
    assert not any(line.startswith("  R4") or line.startswith("  R5") for line in lines)
    assert lines[-1] == "dry run: nothing was stored"
    assert classes_in(url) == {"R1": "C", "R2": "C", "R3": "C", "R4": "C", "R5": "A"}


def test_a_run_stores_the_classes_with_the_settings_shares(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUSTOMER_CLASS_A_SHARE", "0.5")
    monkeypatch.setenv("CUSTOMER_CLASS_B_SHARE", "0.8")
    get_settings.cache_clear()
    text = run(url)
    assert "(A: the first 50% of revenue, B: to 80%, C: the rest)" in text
    assert "dry run" not in text
    # R1 alone crosses 50%; R2 starts at 60% (B, to 85%); R3 starts at 85%: C.
    assert classes_in(url) == {"R1": "A", "R2": "B", "R3": "C", "R4": "C", "R5": "A"}
    assert "no class changes" in run(url)
    engine = make_engine(url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            actors = set(session.scalars(select(AuditEvent.actor)))
    finally:
        engine.dispose()
    assert actors == {"cli:recompute-classes"}


def test_a_bad_share_is_refused_in_one_line(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CUSTOMER_CLASS_A_SHARE", "0.95")
    get_settings.cache_clear()
    assert main(["--url", url, "recompute-classes"], stdout=io.StringIO()) == 1
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        "error: Value error, CUSTOMER_CLASS_A_SHARE and CUSTOMER_CLASS_B_SHARE must satisfy 0 < A < B <= 1 "
        "(got 0.95 and 0.9)"
    ]
    assert classes_in(url)["R1"] == "C"
