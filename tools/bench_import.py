"""Bulk import benchmark: 10,000 and 100,000 tracking scans imported by the CLI into fresh PostgreSQL.

`make bench-import` (or `.venv/bin/python -m tools.bench_import`). Generates NDJSON files in
var/bench-import/ (customers, then shipments, then their scans: 10 per shipment), creates a fresh
database on TEST_POSTGRES_URL's server per run (as the tests' fixtures do), migrates it and runs
`python -m backend import FILE` in a subprocess, timed, its peak RSS read from the kernel (wait4). The
goal of issue 19: 100,000 scans in 60 s or less, memory flat (peak RSS at 100k about that at 10k).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from backend.migrate import upgrade
from backend.waybill import make_waybill

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "var" / "bench-import"
GOAL_S = 60.0
SCANS_PER_SHIPMENT = 10
CUSTOMERS = 200
# The life of a shipment as 10 scans; the last one's status is the shipment's (a replay changes nothing).
LIFE = (
    ("picked_up", "Nanning", "Picked up from the shipper", "in_transit"),
    ("departed_hub", "Nanning sorting centre", "Departed Nanning sorting centre", None),
    ("in_transit", "Guilin transit centre", "Passed through Guilin transit centre", None),
    ("arrived_hub", "Changsha hub", "Arrived at Changsha hub", None),
    ("departed_hub", "Changsha hub", "Departed Changsha hub", None),
    ("in_transit", "Wuhan transit centre", "Passed through Wuhan transit centre", None),
    ("arrived_hub", "Beijing hub", "Arrived at Beijing hub", None),
    ("arrived_station", "Beijing Chaoyang delivery station", "Arrived at the delivery station", None),
    ("out_for_delivery", "Beijing Chaoyang delivery station", "Out for delivery", "out_for_delivery"),
    ("delivered", "Beijing", "Delivered, signed by the recipient", "delivered"),
)


def write_file(path: Path, scans: int, seed: int = 19) -> int:
    """An import file of `scans` scans over scans/10 shipments and their customers; its row count."""
    rng = random.Random(seed)
    shipments = scans // SCANS_PER_SHIPMENT
    start = datetime(2026, 11, 1, tzinfo=timezone(timedelta(hours=8)))
    rows = 0
    with path.open("w", encoding="utf-8") as out:
        for n in range(CUSTOMERS):
            row = {"type": "customer", "id": f"B{n:05d}", "name": f"Bench Shipper {n}", "customer_class": "B"}
            out.write(json.dumps(row) + "\n")
            rows += 1
        starts = []
        for n in range(shipments):
            picked = start + timedelta(minutes=rng.randrange(60 * 24 * 20))
            starts.append(picked)
            delivered = picked + timedelta(hours=9 * 6)
            row = {
                "type": "shipment",
                "waybill": make_waybill("BM", n),
                "customer_id": f"B{rng.randrange(CUSTOMERS):05d}",
                "origin": "Nanning",
                "destination": "Beijing",
                "status": "delivered",
                "promised_date": (picked + timedelta(days=3)).date().isoformat(),
                "delivered_at": delivered.isoformat(),
                "freight_amount": f"{rng.randint(12, 300)}.00",
                "goods_description": "tools",
                "created_at": picked.isoformat(),
            }
            out.write(json.dumps(row) + "\n")
            rows += 1
        for n, picked in enumerate(starts):
            waybill = make_waybill("BM", n)
            for step, (code, location, description, status) in enumerate(LIFE):
                scan: dict[str, str | None] = {
                    "type": "event",
                    "waybill": waybill,
                    "event_id": f"BM-{n}-{step}",
                    "occurred_at": (picked + timedelta(hours=6 * step)).isoformat(),
                    "code": code,
                    "location": location,
                    "description": description,
                    "status": status,
                }
                out.write(json.dumps(scan) + "\n")
                rows += 1
    return rows


@dataclass
class Run:
    scans: int
    rows: int
    seconds: float
    peak_rss_mb: float
    exit_code: int
    summary: str

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds

    @property
    def scans_per_s(self) -> float:
        return self.scans / self.seconds


def run_cli(url: str, path: Path, scans: int, rows: int) -> Run:
    """The CLI in a subprocess: wall time and its own peak RSS (ru_maxrss of wait4, in kB on Linux)."""
    started = time.perf_counter()
    with open(path.with_suffix(".out"), "w") as out, open(path.with_suffix(".err"), "w") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "backend", "--url", url, "import", str(path)],
            cwd=ROOT,
            stdout=out,
            stderr=err,
        )
        _pid, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    first = path.with_suffix(".out").read_text().splitlines()
    return Run(scans, rows, seconds, usage.ru_maxrss / 1024, process.returncode, first[0] if first else "")


def fresh_database(base: str) -> tuple[str, str]:
    name = f"bench_import_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    return name, url


def drop_database(base: str, name: str) -> None:
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="scans per run, comma-separated")
    parser.add_argument("--keep", action="store_true", help="keep the databases (names printed)")
    args = parser.parse_args(argv)
    base = os.environ.get("TEST_POSTGRES_URL")
    if not base:
        print("TEST_POSTGRES_URL is needed: run scripts/ensure-test-services.sh", file=sys.stderr)
        return 2
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    runs: list[Run] = []
    for scans in (int(size) for size in args.sizes.split(",")):
        path = OUT_DIR / f"scans-{scans}.ndjson"
        rows = write_file(path, scans)
        name, url = fresh_database(base)
        try:
            run = run_cli(url, path, scans, rows)
            replay = run_cli(url, path, scans, rows)
        finally:
            if not args.keep:
                drop_database(base, name)
        runs.append(run)
        mb = path.stat().st_size / 1e6
        print(
            f"{scans:>7} scans ({rows} rows, {mb:.1f} MB): {run.seconds:6.1f} s, "
            f"{run.rows_per_s:8,.0f} rows/s, {run.scans_per_s:8,.0f} scans/s, "
            f"peak RSS {run.peak_rss_mb:6.1f} MB, exit {run.exit_code}"
        )
        print(f"          {run.summary}")
        print(f"  replay: {replay.seconds:6.1f} s, {replay.summary}")
    largest = runs[-1]
    print(
        f"goal: {largest.scans} scans in <= {GOAL_S:.0f} s: "
        + ("met" if largest.seconds <= GOAL_S else "MISSED")
    )
    if len(runs) > 1:
        print(f"peak RSS {largest.scans} / {runs[0].scans}: {largest.peak_rss_mb / runs[0].peak_rss_mb:.2f}x")
    return 0 if largest.seconds <= GOAL_S and all(r.exit_code == 0 for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
