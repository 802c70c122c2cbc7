"""Seeds the demo data of DEMO_DATA.md (4 customers, 14 scenario shipments) and a few hundred ordinary ones.

The facts are in demo.yaml, read by data.py; plans.py turns them (and the random shipments) into
records for the seeding day; this module upserts them, and `python -m backend.seed` runs it.

Dates are relative to `today` in the carrier's time zone. Seeding is idempotent: records are upserted by
their natural keys (customer id, waybill), a field is written only when its value differs, and tracking
events are written only when a shipment has none or its facts moved (a later seeding day).

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
import logging
import random
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from backend.models import Customer, Shipment, ShipmentEvent, utcnow
from backend.seed.plans import (
    RANDOM_SEED,
    RANDOM_SHIPMENTS,
    Clock,
    Plan,
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
    "demo_shipments",
    "main",
    "random_customers",
    "random_shipments",
    "seed_demo",
]

logger = logging.getLogger(__name__)


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


def _assign(obj: Any, facts: dict[str, Any]) -> bool:
    changed = False
    for name, value in facts.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def _event_rows(plan: Plan, now: datetime, today_start: datetime) -> list[ShipmentEvent]:
    rows = []
    for spec in plan.events:
        values = dict(spec)
        if values["occurred_at"] > now:
            # Seeding early in the morning: keep today's scans on today but never in the future.
            values["occurred_at"] = max(today_start, now - timedelta(minutes=1))
        rows.append(ShipmentEvent(**values))
    return rows


def seed_demo(
    session: Session,
    *,
    today: date | None = None,
    tz: ZoneInfo | None = None,
) -> SeedReport:
    """Upsert the demo customers, shipments and events; a repeated run changes nothing."""
    if tz is None:
        from backend.config import carrier_tz

        tz = carrier_tz()
    today = today or datetime.now(tz).date()
    report = SeedReport()
    rng = random.Random(RANDOM_SEED)

    customers = list(demo_customers()) + random_customers(rng)
    existing_customers = {c.id: c for c in session.scalars(select(Customer))}
    created_at = Clock(today, tz).at(-365, "09:00")
    for customer_id, name, customer_class, phone in customers:
        facts = {"name": name, "customer_class": customer_class, "phone": phone}
        customer = existing_customers.get(customer_id)
        if customer is None:
            session.add(Customer(id=customer_id, created_at=created_at, **facts))
            report.customers_created += 1
        elif _assign(customer, facts):
            report.customers_updated += 1
    session.flush()

    plans = demo_shipments(today, tz)
    plans.update(random_shipments(rng, [c[0] for c in customers], today, tz))
    now = utcnow()
    today_start = datetime.combine(today, time(0, 1), tzinfo=tz).astimezone(ZoneInfo("UTC"))
    existing = {
        s.waybill: s
        for s in session.scalars(
            select(Shipment).where(Shipment.waybill.in_(list(plans))).options(selectinload(Shipment.events))
        )
    }
    for waybill, plan in plans.items():
        first_scan = plan.events[0]["occurred_at"] if plan.events else now
        shipment = existing.get(waybill)
        if shipment is None:
            shipment = Shipment(waybill=waybill, created_at=first_scan, updated_at=first_scan, **plan.facts)
            shipment.events = _event_rows(plan, now, today_start)
            session.add(shipment)
            report.shipments_created += 1
            report.events_written += len(plan.events)
            continue
        changed = _assign(shipment, {**plan.facts, "created_at": first_scan})
        if changed:
            report.shipments_updated += 1
        if changed or not shipment.events:
            # The facts moved (seeded on another day) or the scans are missing: rewrite the scans to match.
            shipment.events = _event_rows(plan, now, today_start)
            report.events_written += len(plan.events)
    session.flush()
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
    args = parser.parse_args(argv)
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
