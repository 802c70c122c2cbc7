"""`python -m backend import FILE`: exit codes, the summary and bad rows on stdout, progress on stderr."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.models import Shipment
from tests.backend.api.integration_helpers import new_customer_id, new_waybill

ROOT = Path(__file__).resolve().parents[3]


def cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    # stderr is a pipe, not a terminal: the progress comes as plain lines.
    return subprocess.run(
        [sys.executable, "-m", "backend", "--url", url, "import", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_good_file_then_a_bad_one_then_none(
    integration_url: str, integration_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    customer, number = new_customer_id(), new_waybill()
    good = tmp_path / "good.ndjson"
    rows = [
        {"type": "customer", "id": customer, "name": "Cli Shipper", "customer_class": "B"},
        {
            "type": "shipment",
            "waybill": number,
            "customer_id": customer,
            "origin": "Nanning",
            "destination": "Wuhan",
            "status": "in_transit",
        },
    ]
    good.write_text("".join(json.dumps(row) + "\n" for row in rows))
    done = cli(integration_url, str(good))
    assert done.returncode == 0, done.stderr
    assert "2 new, 0 updated, 0 unchanged, 0 rejected" in done.stdout
    assert "import: 100% of" in done.stderr and "rows/s" in done.stderr
    assert "\r" not in done.stderr

    again = cli(integration_url, str(good))
    assert again.returncode == 0 and "0 new, 0 updated, 2 unchanged, 0 rejected" in again.stdout

    wrong = number[:10] + str((int(number[10]) + 1) % 10) + number[11:]
    scans = tmp_path / "scans.csv"
    scans.write_text(
        "event_id,waybill,occurred_at,code,location,description,status\n"
        f"K-1,{number},2026-12-01T08:00:00+08:00,arrived_hub,Wuhan hub,Arrived,\n"
        f"K-2,{wrong},2026-12-01T09:00:00+08:00,held,Wuhan hub,Held,held\n"
        f"K-3,{number},2026-12-02T09:00:00+08:00,out_for_delivery,Wuhan,Out,out_for_delivery\n"
    )
    partial = cli(integration_url, str(scans), "--kind", "event", "--batch", "2")
    assert partial.returncode == 1, partial.stderr
    assert f"line 3: waybill: check digit is wrong ({wrong})" in partial.stdout.splitlines()
    assert "2 new, 0 updated, 0 unchanged, 1 rejected" in partial.stdout
    with session_scope(integration_factory) as session:
        assert session.scalars(select(Shipment.status).where(Shipment.waybill == number)).one() == (
            "out_for_delivery"
        )

    missing = cli(integration_url, str(tmp_path / "nothing.ndjson"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    unknown = tmp_path / "what.csv"
    unknown.write_text("colour,size\nred,2\n")
    assert cli(integration_url, str(unknown)).returncode == 2
