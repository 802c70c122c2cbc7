"""`python -m backend volume-watch [--week YYYY-Www] [--dry-run]`: who dropped, flagged once."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from backend.__main__ import main
from backend.config import get_settings
from backend.db import make_engine, make_session_factory, session_scope
from backend.migrate import upgrade
from backend.models import Customer, Shipment, VolumeFlag
from backend.services.volume_watch import Week
from backend.waybill import make_waybill
from tests.backend.factories import CARRIER_TZ
from tests.backend.test_cli_classes import development  # noqa: F401 (an autouse fixture)

WEEK = Week(2026, 45)


@pytest.fixture
def url(tmp_path: Path) -> str:
    database = f"sqlite:///{tmp_path / 'app.db'}"
    upgrade(database)
    engine = make_engine(database)
    serial = iter(range(50_000_000, 50_100_000))
    with session_scope(make_session_factory(engine)) as session:
        # V1 ships 10 a week, then 2 in 2026-W45; V2 keeps shipping 10.
        for cid, last in (("V1", 2), ("V2", 10)):
            session.add(Customer(id=cid, name=f"Shipper {cid}", customer_class="A"))
            session.flush()
            for back, count in enumerate((last, 10, 10, 10, 10)):
                wednesday = WEEK.shift(-back).start(CARRIER_TZ) + timedelta(days=2, hours=10)
                for n in range(count):
                    session.add(
                        Shipment(
                            waybill=make_waybill("EA", next(serial)),
                            customer_id=cid,
                            origin="Nanning",
                            destination="Kunming",
                            status="delivered",
                            freight_amount=Decimal("50"),
                            created_at=wednesday + timedelta(minutes=n),
                        )
                    )
    engine.dispose()
    return database


def stored_flags(url: str) -> list[tuple[str, str, int, str]]:
    engine = make_engine(url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            return [
                (f.customer_id, f.week, f.week_count, f.created_by)
                for f in session.scalars(select(VolumeFlag).order_by(VolumeFlag.id))
            ]
    finally:
        engine.dispose()


def run(url: str, *extra: str) -> list[str]:
    out = io.StringIO()
    assert main(["--url", url, "volume-watch", *extra], stdout=out) == 0
    return out.getvalue().splitlines()


def test_dry_run_names_the_drop_and_stores_nothing(url: str) -> None:
    lines = run(url, "--week", "2026-W45", "--dry-run")
    assert lines[0].startswith("volume watch for 2026-W45 (2026-11-02 to 2026-11-08): 2 customers")
    assert "more than 30% below the trailing mean" in lines[0]
    assert lines[1:] == [
        "  V1 Shipper V1: 2 shipment(s) against a mean of 10.0 (-80%), would be flagged",
        "dry run: nothing was stored",
    ]
    assert stored_flags(url) == []


def test_a_run_flags_once_and_a_rerun_says_so(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(url, "--week", "2026-W45")[1] == (
        "  V1 Shipper V1: 2 shipment(s) against a mean of 10.0 (-80%), flagged"
    )
    assert stored_flags(url) == [("V1", "2026-W45", 2, "cli:volume-watch")]
    assert run(url, "--week", "2026-W45")[1].endswith("already flagged")
    assert len(stored_flags(url)) == 1
    # A stricter share: an 80% drop is not more than 0.9 of the mean.
    monkeypatch.setenv("VOLUME_DROP_SHARE", "0.9")
    get_settings.cache_clear()
    assert run(url, "--week", "2026-W45")[1] == "no customer dropped"
    # The week before: nobody dropped.
    assert run(url, "--week", "2026-W44")[1] == "no customer dropped"


@pytest.mark.parametrize("week", ["2026-45", "2025-W53"])
def test_a_bad_week_is_refused_in_one_line(url: str, week: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--url", url, "volume-watch", "--week", week], stdout=io.StringIO()) == 1
    assert capsys.readouterr().err.strip() == (
        f"error: the week must look like 2026-W48 (and exist); got {week}"
    )
    assert stored_flags(url) == []
