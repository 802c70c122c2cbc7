"""Seeds the demo data of DEMO_DATA.md (4 customers, 14 scenario shipments) and a few hundred ordinary ones.

The facts are in demo.yaml, read by data.py; plans.py turns them (and the random shipments) into
records for the seeding day; this module renders them as the rows of an NDJSON import file and imports
them through backend.services.bulk_import, as a carrier's own file would be: the demo is a data file
imported at first run (`python -m backend.seed --export FILE` writes that file instead).

Dates are relative to `today` in the carrier's time zone. Seeding is idempotent: records are upserted by
their natural keys (customer id, waybill), a field is written only when its value differs, and a scan's
id is derived from the seeding day, waybill and sequence, so the same day's scans are replays. On a
later day the earlier day's seeded scans are replaced by the new day's.

No console accounts are seeded: there is no shared demo password. `make run` creates the demo logins
with random passwords in var/ (`python -m backend ensure-demo-agents`, never in production), and
`python -m backend create-agent NAME --role agent|supervisor` creates real ones.

The records are English free text, as the carrier's systems write them. Their reasons, notes, goods
and signer roles are marked `N_` (`!N_` in demo.yaml: msgids of the catalog), and their places and scan
descriptions are read by backend/record_words.py, so a Chinese shipper reads every seeded record in
Chinese (tests/backend/test_record_words.py checks every text the seed can write).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.orm import Session

from backend.models import Shipment, ShipmentEvent, utcnow
from backend.seed.plans import (
    RANDOM_SEED,
    RANDOM_SHIPMENTS,
    demo_customers,
    demo_shipments,
    random_customers,
    random_shipments,
)

__all__ = [
    "RANDOM_SEED",
    "RANDOM_SHIPMENTS",
    "SeedReport",
    "demo_customers",
    "demo_ndjson",
    "demo_rows",
    "demo_shipments",
    "main",
    "random_customers",
    "random_shipments",
    "seed_demo",
]

logger = logging.getLogger(__name__)
# Seeded scans' ids start with it (backend.seed.event_id); the carrier's own never should.
SEED_EVENT_PREFIX = "demo-"


@dataclass
class SeedReport:
    """What a seeding run changed; all zero on a repeated run."""

    customers_created: int = 0
    customers_updated: int = 0
    shipments_created: int = 0
    shipments_updated: int = 0
    events_written: int = 0

    @property
    def changed(self) -> bool:
        """True when anything was written."""
        return any(getattr(self, f.name) for f in fields(self))

    def __str__(self) -> str:
        return ", ".join(f"{f.name}={getattr(self, f.name)}" for f in fields(self))


def _json_value(value: Any, tz: ZoneInfo) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(tz).isoformat()
    if isinstance(value, date | Decimal):
        return str(value)
    return value


def event_id(today: date, waybill: str, sequence: int) -> str:
    """A seeded scan's id: stable for a seeding day, so that re-seeding that day replays it."""
    return f"{SEED_EVENT_PREFIX}{today.isoformat()}-{waybill}-{sequence:02d}"


def demo_rows(today: date, tz: ZoneInfo, *, now: datetime | None = None) -> Iterator[dict[str, Any]]:
    """The demo carrier as import rows (customers, shipments, then scans), times absolute from `today`."""
    rng = random.Random(RANDOM_SEED)
    customers = list(demo_customers()) + random_customers(rng)
    for customer_id, name, customer_class, phone in customers:
        yield {
            "type": "customer",
            "id": customer_id,
            "name": name,
            "customer_class": customer_class,
            "phone": phone,
        }
    plans = demo_shipments(today, tz)
    plans.update(random_shipments(rng, [c[0] for c in customers], today, tz))
    now = now or utcnow()
    today_start = datetime.combine(today, time(0, 1), tzinfo=tz).astimezone(ZoneInfo("UTC"))
    for waybill, plan in plans.items():
        first_scan = plan.events[0]["occurred_at"] if plan.events else now
        facts = {name: _json_value(value, tz) for name, value in plan.facts.items()}
        created_at = first_scan.astimezone(tz).isoformat()
        yield {"type": "shipment", "waybill": waybill, **facts, "created_at": created_at}
    for waybill, plan in plans.items():
        for sequence, spec in enumerate(plan.events, start=1):
            occurred_at = spec["occurred_at"]
            if occurred_at > now:
                # Seeding early in the morning: keep today's scans on today but never in the future.
                occurred_at = max(today_start, now - timedelta(minutes=1))
            yield {
                "type": "event",
                "waybill": waybill,
                "event_id": event_id(today, waybill, sequence),
                "occurred_at": occurred_at.astimezone(tz).isoformat(),
                "code": spec["code"],
                "location": spec["location"],
                "description": spec["description"],
                "force_majeure": spec["force_majeure"],
            }


def demo_ndjson(today: date, tz: ZoneInfo, *, now: datetime | None = None) -> Iterator[str]:
    """The demo carrier as the lines of an NDJSON import file."""
    for row in demo_rows(today, tz, now=now):
        yield json.dumps(row, ensure_ascii=False) + "\n"


def _drop_other_days_scans(session: Session, waybills: list[str], today: date) -> int:
    """Remove the seeded scans of another seeding day (and the old seed's, which had no id): the day's own
    replace them. Scans the carrier's systems pushed to a demo shipment are kept."""
    today_prefix = f"{SEED_EVENT_PREFIX}{today.isoformat()}-"
    seeded = or_(
        ShipmentEvent.event_id.is_(None),
        and_(
            ShipmentEvent.event_id.startswith(SEED_EVENT_PREFIX),
            ~ShipmentEvent.event_id.startswith(today_prefix),
        ),
    )
    ids = select(Shipment.id).where(Shipment.waybill.in_(waybills)).scalar_subquery()
    result = session.execute(
        delete(ShipmentEvent)
        .where(ShipmentEvent.shipment_id.in_(ids), seeded)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def seed_demo(
    session: Session,
    *,
    today: date | None = None,
    tz: ZoneInfo | None = None,
) -> SeedReport:
    """Import the demo carrier's rows through the bulk import; a repeated run the same day changes nothing.

    The rows go through backend.services.bulk_import as any carrier's file would, in the caller's
    transaction (each batch a savepoint). A row the import rejects is a bug of the demo data: it raises.
    """
    from backend.services.bulk_import import import_rows, read_ndjson

    if tz is None:
        from backend.config import carrier_tz

        tz = carrier_tz()
    today = today or datetime.now(tz).date()
    waybills = [row["waybill"] for row in demo_rows(today, tz) if row["type"] == "shipment"]
    _drop_other_days_scans(session, waybills, today)
    result = import_rows(session, read_ndjson(demo_ndjson(today, tz)), commit=False)
    if result.rejected:
        raise RuntimeError("the demo data has rows the import refuses: " + "; ".join(map(str, result.errors)))
    counts = result.by_kind
    report = SeedReport(
        customers_created=counts.get("customer", {}).get("new", 0),
        customers_updated=counts.get("customer", {}).get("updated", 0),
        shipments_created=counts.get("shipment", {}).get("new", 0),
        shipments_updated=counts.get("shipment", {}).get("updated", 0),
        events_written=counts.get("event", {}).get("new", 0),
    )
    session.expire_all()
    return report


def main(argv: list[str] | None = None) -> None:
    """CLI: migrate the configured database, then seed the demo data."""
    from backend.config import get_settings
    from backend.db import database_session
    from backend.migrate import upgrade

    parser = argparse.ArgumentParser(description="Seed the demo carrier's data (idempotent).")
    parser.add_argument("--url", help="database URL (default: DATABASE_URL from the environment or .env)")
    parser.add_argument(
        "--today", type=date.fromisoformat, help="seed as if today were this date (YYYY-MM-DD)"
    )
    parser.add_argument("--no-migrate", action="store_true", help="do not run migrations first")
    parser.add_argument(
        "--export", metavar="FILE", help="write the import file (NDJSON) instead; nothing else is done"
    )
    args = parser.parse_args(argv)
    if args.export:
        from backend.config import carrier_tz

        tz = carrier_tz()
        with open(args.export, "w", encoding="utf-8") as out:
            out.writelines(demo_ndjson(args.today or datetime.now(tz).date(), tz))
        return
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    url = args.url or settings.database_url
    if not args.no_migrate:
        upgrade(url)
    if settings.app_env == "production":
        # The demo carrier never lands in the carrier's own database (APP_ENV may come from .env alone).
        logger.info("APP_ENV=production: the database is migrated, and no demo data is written")
        return
    with database_session(url) as session:
        report = seed_demo(session, today=args.today)
    logger.info("seeded: %s", report)
