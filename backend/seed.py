"""Demo data of DEMO_DATA.md (4 customers, 14 scenario shipments) plus a few hundred ordinary shipments.

Dates are relative to `today` in the carrier's time zone. Seeding is idempotent: records are upserted by
their natural keys (customer id, waybill), a field is written only when its value differs, and tracking
events are written only when a shipment has none or its facts moved (a later seeding day).

No console accounts are seeded: there is no shared demo password. `make run` creates the demo logins
with random passwords in var/ (`python -m backend ensure-demo-agents`, never in production), and
`python -m backend create-agent NAME --role agent|supervisor` creates real ones.

The records are English free text, as the carrier's systems write them. Their reasons, notes, goods
and signer roles are marked `N_` (msgids of the catalog), and their places and scan descriptions are
read by backend/record_words.py, so a Chinese shipper reads every seeded record in Chinese
(tests/backend/test_record_words.py checks every text this module can write).
"""

from __future__ import annotations

import argparse
import logging
import random
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from backend.i18n import N_
from backend.models import Customer, Shipment, ShipmentEvent, utcnow
from backend.waybill import make_waybill

logger = logging.getLogger(__name__)

# Fixed so that re-seeding produces the same "random" shipments.
RANDOM_SEED = 20240917
RANDOM_SHIPMENTS = 300
RANDOM_PREFIXES = ("EB", "RR", "CP")

DEMO_CUSTOMERS = (
    ("C001", "Harbor Fresh Foods Co.", "A", "+8613800000001"),
    ("C002", "Wang's Hardware", "B", "+8613800000002"),
    ("C003", "Lin Mei (individual)", "C", "+8613800000003"),
    ("C004", "Nanning Textile Trading", "A", "+8613800000004"),
)

# (day offset from today, local "HH:MM", location, code, description[, force majeure])
EventSpec = tuple[Any, ...]


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


@dataclass(frozen=True)
class _Plan:
    facts: dict[str, Any]
    events: tuple[dict[str, Any], ...]


class _Clock:
    """Turns (day offset, local time) into UTC instants relative to the seeding day."""

    def __init__(self, today: date, tz: ZoneInfo) -> None:
        self.today = today
        self.tz = tz

    def day(self, offset: int) -> date:
        return self.today + timedelta(days=offset)

    def at(self, offset: int, hhmm: str) -> datetime:
        hours, minutes = (int(p) for p in hhmm.split(":"))
        local = datetime.combine(self.day(offset), time(hours, minutes), tzinfo=self.tz)
        return local.astimezone(ZoneInfo("UTC"))


def _money(value: str | int | None) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


def _events(clock: _Clock, specs: list[EventSpec]) -> tuple[dict[str, Any], ...]:
    out = []
    for spec in specs:
        offset, hhmm, location, code, description = spec[:5]
        out.append(
            {
                "occurred_at": clock.at(offset, hhmm),
                "location": location,
                "code": code,
                "description": description,
                "force_majeure": bool(spec[5]) if len(spec) > 5 else False,
            }
        )
    return tuple(out)


def _shipment_facts(
    clock: _Clock,
    *,
    customer_id: str,
    origin: str,
    destination: str,
    status: str,
    promised: int | None,
    goods: str,
    freight: str | int,
    declared_value: str | int | None = None,
    weight: str | int | None = None,
    charged_weight: str | int | None = None,
    quoted: str | int | None = None,
    charged: str | int | None = None,
    delivered_at: datetime | None = None,
    signed_by: str | None = None,
    signer_is_recipient: bool | None = None,
    delay_reason: str | None = None,
    exception_reason: str | None = None,
    force_majeure: bool = False,
    pickup_due_at: datetime | None = None,
    courier_note: str | None = None,
) -> dict[str, Any]:
    weight_kg = _money(weight)
    return {
        "customer_id": customer_id,
        "origin": origin,
        "destination": destination,
        "status": status,
        "promised_date": clock.day(promised) if promised is not None else None,
        "delivered_at": delivered_at,
        "signed_by": signed_by,
        "signer_is_recipient": signer_is_recipient,
        "delay_reason": delay_reason,
        "exception_reason": exception_reason,
        "force_majeure": force_majeure,
        "declared_value": _money(declared_value),
        "declared_weight_kg": weight_kg,
        "charged_weight_kg": _money(charged_weight) if charged_weight is not None else weight_kg,
        "quoted_amount": _money(quoted if quoted is not None else freight),
        "charged_amount": _money(charged if charged is not None else freight),
        "freight_amount": _money(freight),
        "goods_description": goods,
        "pickup_due_at": pickup_due_at,
        "courier_note": courier_note,
    }


def demo_shipments(today: date, tz: ZoneInfo) -> dict[str, _Plan]:
    """The 14 scenario shipments of DEMO_DATA.md, keyed by waybill."""
    c = _Clock(today, tz)
    plans: dict[str, _Plan] = {}

    def add(waybill: str, facts: dict[str, Any], specs: list[EventSpec]) -> None:
        plans[waybill] = _Plan(facts, _events(c, specs))

    add(
        "EA100000017CN",
        _shipment_facts(
            c,
            customer_id="C002",
            origin="Nanning",
            destination="Guangzhou",
            status="delivered",
            promised=-2,
            goods=N_("Door locks and hinges, 2 cartons"),
            freight=45,
            declared_value=800,
            weight=8,
            delivered_at=c.at(-2, "14:05"),
            signed_by="Li Wei",
            signer_is_recipient=True,
        ),
        [
            (-4, "16:20", "Nanning", "picked_up", "Picked up from the shipper"),
            (
                -4,
                "21:40",
                "Nanning sorting centre",
                "departed_hub",
                "Departed Nanning sorting centre for Guangzhou",
            ),
            (-3, "06:15", "Guangzhou hub", "arrived_hub", "Arrived at Guangzhou hub"),
            (
                -3,
                "18:30",
                "Guangzhou Tianhe delivery station",
                "arrived_station",
                "Arrived at the delivery station",
            ),
            (-2, "08:30", "Guangzhou Tianhe delivery station", "out_for_delivery", "Out for delivery"),
            (-2, "14:05", "Guangzhou", "delivered", "Delivered, signed by Li Wei (recipient)"),
        ],
    )
    add(
        "EA100000025CN",
        _shipment_facts(
            c,
            customer_id="C003",
            origin="Nanning",
            destination="Shanghai",
            status="in_transit",
            promised=2,
            goods=N_("Books and winter clothing, 1 carton"),
            freight=38,
            declared_value=300,
            weight=4,
        ),
        [
            (-2, "15:10", "Nanning", "picked_up", "Picked up from the shipper"),
            (
                -2,
                "22:30",
                "Nanning sorting centre",
                "departed_hub",
                "Departed Nanning sorting centre for Changsha",
            ),
            (-1, "19:45", "Guilin transit centre", "in_transit", "Passed through Guilin transit centre"),
            (0, "04:35", "Changsha hub", "arrived_hub", "Arrived at Changsha hub"),
            (0, "06:50", "Changsha hub", "departed_hub", "Departed Changsha hub for Shanghai"),
        ],
    )
    add(
        "EA100000034CN",
        _shipment_facts(
            c,
            customer_id="C002",
            origin="Nanning",
            destination="Beijing",
            status="held",
            promised=-2,
            goods=N_("Power tools, 3 cartons"),
            freight=180,
            declared_value=1200,
            weight=25,
            delay_reason=N_("Held at Wuhan hub: capacity shortage on the Wuhan-Beijing linehaul"),
        ),
        [
            (-5, "16:50", "Nanning", "picked_up", "Picked up from the shipper"),
            (
                -5,
                "22:10",
                "Nanning sorting centre",
                "departed_hub",
                "Departed Nanning sorting centre for Wuhan",
            ),
            (-4, "14:45", "Wuhan hub", "arrived_hub", "Arrived at Wuhan hub"),
            (
                -3,
                "08:10",
                "Wuhan hub",
                "held",
                "Held at Wuhan hub: capacity shortage, waiting for linehaul space",
            ),
            (
                -1,
                "09:00",
                "Wuhan hub",
                "held",
                "Still held at Wuhan hub: capacity shortage on the Beijing linehaul",
            ),
        ],
    )
    add(
        "EA100000048CN",
        _shipment_facts(
            c,
            customer_id="C003",
            origin="Haikou",
            destination="Nanning",
            status="held",
            promised=-1,
            goods=N_("Dried tropical fruit, 1 carton"),
            freight=30,
            declared_value=200,
            weight=5,
            delay_reason=N_("Qiongzhou Strait ferry suspended by typhoon"),
            force_majeure=True,
        ),
        [
            (-3, "10:20", "Haikou", "picked_up", "Picked up from the shipper"),
            (
                -3,
                "18:05",
                "Haikou Xiuying port",
                "arrived_hub",
                "Arrived at Haikou port for the ferry crossing",
            ),
            (
                -2,
                "07:00",
                "Haikou Xiuying port",
                "held",
                "Ferry suspended by typhoon; waiting at Haikou port",
                True,
            ),
            (
                -1,
                "09:30",
                "Haikou Xiuying port",
                "held",
                "Typhoon warning in force; ferry still suspended",
                True,
            ),
        ],
    )
    add(
        "EA100000051CN",
        _shipment_facts(
            c,
            customer_id="C004",
            origin="Nanning",
            destination="Chengdu",
            status="missing",
            promised=-6,
            goods=N_("Silk fabric rolls, 2 bales"),
            freight=150,
            declared_value=3000,
            weight=30,
            exception_reason=N_("No tracking scan since Guiyang hub; not received at Chengdu"),
        ),
        [
            (-10, "15:30", "Nanning", "picked_up", "Picked up from the shipper"),
            (
                -10,
                "23:00",
                "Nanning sorting centre",
                "departed_hub",
                "Departed Nanning sorting centre for Guiyang",
            ),
            (-8, "04:50", "Guiyang hub", "arrived_hub", "Arrived at Guiyang hub"),
            (-8, "10:15", "Guiyang hub", "sorted", "Sorted at Guiyang hub for Chengdu"),
        ],
    )
    add(
        "EA100000065CN",
        _shipment_facts(
            c,
            customer_id="C003",
            origin="Nanning",
            destination="Kunming",
            status="delivered",
            promised=-1,
            goods=N_("Ceramic vase (fragile), 1 box"),
            freight=35,
            declared_value=400,
            weight=3,
            delivered_at=c.at(-1, "11:20"),
            signed_by="Zhao Hong",
            signer_is_recipient=True,
        ),
        [
            (-3, "14:00", "Nanning", "picked_up", "Picked up from the shipper"),
            (
                -3,
                "21:30",
                "Nanning sorting centre",
                "departed_hub",
                "Departed Nanning sorting centre for Kunming",
            ),
            (-2, "13:40", "Kunming hub", "arrived_hub", "Arrived at Kunming hub"),
            (-1, "08:20", "Kunming Wuhua delivery station", "out_for_delivery", "Out for delivery"),
            (-1, "11:20", "Kunming", "delivered", "Delivered, signed by Zhao Hong (recipient)"),
        ],
    )
    add(
        "EA100000079CN",
        _shipment_facts(
            c,
            customer_id="C002",
            origin="Nanning",
            destination="Shenzhen",
            status="delivered",
            promised=-1,
            goods=N_("Bathroom fittings, 2 cartons"),
            freight=60,
            declared_value=900,
            weight=12,
            delivered_at=c.at(-1, "16:40"),
            signed_by=N_("front desk"),
            signer_is_recipient=False,
        ),
        [
            (-3, "15:45", "Nanning", "picked_up", "Picked up from the shipper"),
            (
                -3,
                "22:00",
                "Nanning sorting centre",
                "departed_hub",
                "Departed Nanning sorting centre for Shenzhen",
            ),
            (-2, "09:10", "Shenzhen hub", "arrived_hub", "Arrived at Shenzhen hub"),
            (-1, "09:05", "Shenzhen Futian delivery station", "out_for_delivery", "Out for delivery"),
            (-1, "16:40", "Shenzhen", "delivered", "Delivered, signed by front desk"),
        ],
    )
    add(
        "EA100000082CN",
        _shipment_facts(
            c,
            customer_id="C001",
            origin="Nanning",
            destination="Guangzhou",
            status="pickup_missed",
            promised=2,
            goods=N_("Frozen seafood, 10 insulated boxes"),
            freight=320,
            declared_value=1800,
            weight=120,
            pickup_due_at=c.at(0, "14:30"),
            exception_reason=N_("Booked pickup not collected: no courier came in the booked window"),
        ),
        [
            (
                -1,
                "17:45",
                "Nanning",
                "pickup_booked",
                f"Pickup booked at the warehouse, to collect before 14:30 on {c.day(0).isoformat()}",
            ),
        ],
    )
    add(
        "EA100000096CN",
        _shipment_facts(
            c,
            customer_id="C002",
            origin="Nanning",
            destination="Xiamen",
            status="delivered",
            promised=-3,
            goods=N_("Cabinet hinges, 1 carton"),
            freight=144,
            declared_value=500,
            weight=5,
            charged_weight=12,
            quoted=60,
            charged=144,
            delivered_at=c.at(-3, "15:25"),
            signed_by="Chen Jie",
            signer_is_recipient=True,
        ),
        [
            (-6, "11:30", "Nanning", "picked_up", "Picked up from the shipper"),
            (
                -6,
                "13:05",
                "Nanning sorting centre",
                "weighed",
                "Weighed at Nanning sorting centre: 12 kg charged",
            ),
            (
                -6,
                "21:50",
                "Nanning sorting centre",
                "departed_hub",
                "Departed Nanning sorting centre for Xiamen",
            ),
            (-4, "07:30", "Xiamen hub", "arrived_hub", "Arrived at Xiamen hub"),
            (-3, "08:45", "Xiamen Siming delivery station", "out_for_delivery", "Out for delivery"),
            (-3, "15:25", "Xiamen", "delivered", "Delivered, signed by Chen Jie (recipient)"),
        ],
    )
    add(
        "EA100000105CN",
        _shipment_facts(
            c,
            customer_id="C003",
            origin="Nanning",
            destination="Hangzhou",
            status="delivered",
            promised=-1,
            goods=N_("Children's books, 1 carton"),
            freight=40,
            declared_value=250,
            weight=6,
            delivered_at=c.at(-1, "17:10"),
            signed_by=N_("security guard, Building 7"),
            signer_is_recipient=False,
            courier_note=N_(
                "Delivered to the neighbouring building by mistake: left at the guard room of Building 7; "
                "the address is Building 6"
            ),
        ),
        [
            (-4, "10:15", "Nanning", "picked_up", "Picked up from the shipper"),
            (
                -4,
                "21:20",
                "Nanning sorting centre",
                "departed_hub",
                "Departed Nanning sorting centre for Hangzhou",
            ),
            (-2, "16:00", "Hangzhou hub", "arrived_hub", "Arrived at Hangzhou hub"),
            (-1, "09:30", "Hangzhou Xihu delivery station", "out_for_delivery", "Out for delivery"),
            (-1, "17:10", "Hangzhou", "delivered", "Delivered, signed by security guard, Building 7"),
        ],
    )
    add(
        "EA100000119CN",
        _shipment_facts(
            c,
            customer_id="C001",
            origin="Nanning",
            destination="Guangzhou",
            status="out_for_delivery",
            promised=-1,
            goods=N_("Chilled mangoes, 6 insulated boxes"),
            freight=260,
            declared_value=1800,
            weight=60,
            delay_reason=N_("Missed the overnight linehaul at Nanning sorting centre"),
        ),
        [
            (-3, "14:30", "Nanning", "picked_up", "Picked up from the shipper"),
            (
                -2,
                "22:15",
                "Nanning sorting centre",
                "missed_connection",
                "Missed the scheduled linehaul to Guangzhou; rebooked on the next departure",
            ),
            (
                -1,
                "06:40",
                "Nanning sorting centre",
                "departed_hub",
                "Departed Nanning sorting centre for Guangzhou",
            ),
            (-1, "19:30", "Guangzhou hub", "arrived_hub", "Arrived at Guangzhou hub"),
            (0, "07:50", "Guangzhou Baiyun delivery station", "out_for_delivery", "Out for delivery"),
        ],
    )
    add(
        "EA100000122CN",
        _shipment_facts(
            c,
            customer_id="C004",
            origin="Nanning",
            destination="Liuzhou",
            status="out_for_delivery",
            promised=0,
            goods=N_("Cotton yarn, 4 cartons"),
            freight=70,
            declared_value=1500,
            weight=40,
        ),
        [
            (-1, "10:00", "Nanning", "picked_up", "Picked up from the shipper"),
            (
                -1,
                "14:20",
                "Nanning sorting centre",
                "departed_hub",
                "Departed Nanning sorting centre for Liuzhou",
            ),
            (-1, "19:35", "Liuzhou hub", "arrived_hub", "Arrived at Liuzhou hub"),
            (0, "08:15", "Liuzhou Chengzhong delivery station", "out_for_delivery", "Out for delivery"),
        ],
    )
    add(
        "EA100000136CN",
        _shipment_facts(
            c,
            customer_id="C003",
            origin="Nanning",
            destination="Wuhan",
            status="returned",
            promised=-2,
            goods=N_("Handmade soap gift set, 1 box"),
            freight=32,
            declared_value=180,
            weight=2,
            exception_reason=N_("Recipient phone number on the waybill is wrong; undeliverable"),
        ),
        [
            (-5, "16:00", "Nanning", "picked_up", "Picked up from the shipper"),
            (
                -5,
                "22:10",
                "Nanning sorting centre",
                "departed_hub",
                "Departed Nanning sorting centre for Wuhan",
            ),
            (-3, "15:20", "Wuhan hub", "arrived_hub", "Arrived at Wuhan hub"),
            (-2, "09:10", "Wuhan Jianghan delivery station", "out_for_delivery", "Out for delivery"),
            (
                -2,
                "15:30",
                "Wuhan Jianghan delivery station",
                "delivery_failed",
                "Delivery failed: the recipient phone number on the waybill is wrong; recipient unreachable",
            ),
            (
                -1,
                "10:00",
                "Wuhan hub",
                "returned",
                "Returned to sender: undeliverable, on its way back to Nanning",
            ),
        ],
    )
    add(
        "EA100000140CN",
        _shipment_facts(
            c,
            customer_id="C001",
            origin="Shenzhen",
            destination="Singapore",
            status="customs_hold",
            promised=3,
            goods=N_("Dried seafood samples, 2 cartons"),
            freight=420,
            declared_value=1500,
            weight=15,
            exception_reason=N_("Customs hold: awaiting the commercial invoice from the shipper"),
        ),
        [
            (-3, "11:00", "Shenzhen", "picked_up", "Picked up from the shipper"),
            (
                -2,
                "16:30",
                "Shenzhen international gateway",
                "arrived_hub",
                "Arrived at Shenzhen international gateway",
            ),
            (
                -1,
                "10:30",
                "Shenzhen customs",
                "customs_hold",
                "Held by export customs: commercial invoice required from the shipper",
            ),
        ],
    )
    return plans


_FIRST = ("Golden", "Pearl", "Jade", "Red", "Green", "Blue", "Silver", "Eastern", "Southern", "Harmony")
_SECOND = ("River", "Mountain", "Lotus", "Bamboo", "Phoenix", "Dragon", "Orchid", "Harbour", "Lake", "Star")
_TRADE = (
    "Trading Co.",
    "Electronics",
    "Furniture",
    "Tea House",
    "Pharmacy",
    "Garments",
    "Auto Parts",
    "Foods",
)
_DESTINATIONS = (
    "Guangzhou",
    "Shenzhen",
    "Shanghai",
    "Beijing",
    "Wuhan",
    "Chengdu",
    "Kunming",
    "Guiyang",
    "Changsha",
    "Hangzhou",
    "Xiamen",
    "Liuzhou",
    "Guilin",
    "Haikou",
    "Chongqing",
    "Fuzhou",
    "Nanchang",
    "Zhengzhou",
)
_GOODS = (
    N_("Clothing, 1 carton"),
    N_("Electronic parts, 2 cartons"),
    N_("Tea leaves, 1 box"),
    N_("Furniture panels, 3 packages"),
    N_("Documents, 1 envelope"),
    N_("Auto parts, 2 cartons"),
    N_("Cosmetics, 1 box"),
    N_("Medical supplies, 2 cartons"),
    N_("Kitchenware, 1 carton"),
    N_("Toys, 2 cartons"),
    N_("Shoes, 1 carton"),
    N_("Printed brochures, 4 packs"),
)


def random_customers(rng: random.Random) -> list[tuple[str, str, str, str]]:
    """C005..C040 with about 20% A-class accounts."""
    out = []
    for n in range(5, 41):
        name = f"{rng.choice(_FIRST)} {rng.choice(_SECOND)} {rng.choice(_TRADE)}"
        roll = rng.random()
        customer_class = "A" if roll < 0.2 else "B" if roll < 0.5 else "C"
        out.append((f"C{n:03d}", name, customer_class, f"+86139{n:08d}"))
    return out


def random_shipments(
    rng: random.Random, customer_ids: list[str], today: date, tz: ZoneInfo
) -> dict[str, _Plan]:
    """Ordinary shipments with valid S10 numbers outside the EA series, mostly delivered."""
    c = _Clock(today, tz)
    plans: dict[str, _Plan] = {}
    while len(plans) < RANDOM_SHIPMENTS:
        waybill = make_waybill(rng.choice(RANDOM_PREFIXES), rng.randrange(10**8))
        if waybill in plans:
            continue
        customer_id = rng.choice(customer_ids)
        destination = rng.choice(_DESTINATIONS)
        # Demo customers' extra history is older than their scenario shipments, so those stay "most recent".
        start = -rng.randint(12, 90) if customer_id <= "C004" else -rng.randint(0, 60)
        transit = rng.randint(1, 4)
        promised = start + transit
        late = 0 if rng.random() < 0.85 else rng.randint(1, 3)
        weight = rng.choice((1, 2, 3, 5, 8, 10, 15, 20, 30))
        freight = 12 + weight * rng.choice((3, 4, 5))
        pick = f"{rng.randint(9, 17):02d}:{rng.choice((0, 15, 30, 45)):02d}"
        specs: list[EventSpec] = [
            (start, pick, "Nanning", "picked_up", "Picked up from the shipper"),
            (
                start,
                "22:00",
                "Nanning sorting centre",
                "departed_hub",
                f"Departed Nanning sorting centre for {destination}",
            ),
        ]
        arrive = start + max(1, transit - 1)
        status = "in_transit"
        delivered_at = None
        signed_by = None
        if arrive <= 0:
            specs.append(
                (arrive, "06:30", f"{destination} hub", "arrived_hub", f"Arrived at {destination} hub")
            )
        deliver = promised + late
        if deliver < 0:
            if rng.random() < 0.03:
                status = "returned"
                specs.append(
                    (deliver, "15:00", destination, "delivery_failed", "Delivery failed: recipient refused")
                )
            else:
                status = "delivered"
                dtime = f"{rng.randint(10, 18):02d}:{rng.randint(0, 59):02d}"
                delivered_at = c.at(deliver, dtime)
                signed_by = N_("recipient")
                specs.append(
                    (
                        deliver,
                        "08:30",
                        f"{destination} delivery station",
                        "out_for_delivery",
                        "Out for delivery",
                    )
                )
                specs.append((deliver, dtime, destination, "delivered", "Delivered, signed by the recipient"))
        elif deliver == 0 and arrive <= -1:
            status = "out_for_delivery"
            specs.append(
                (0, "08:30", f"{destination} delivery station", "out_for_delivery", "Out for delivery")
            )
        facts = _shipment_facts(
            c,
            customer_id=customer_id,
            origin="Nanning",
            destination=destination,
            status=status,
            promised=promised,
            goods=rng.choice(_GOODS),
            freight=freight,
            declared_value=rng.choice((100, 200, 300, 500, 800, 1000, 1500)),
            weight=weight,
            delivered_at=delivered_at,
            signed_by=signed_by,
            signer_is_recipient=True if signed_by else None,
            exception_reason=N_("Recipient refused the delivery") if status == "returned" else None,
        )
        plans[waybill] = _Plan(facts, _events(c, specs))
    return plans


def _assign(obj: Any, facts: dict[str, Any]) -> bool:
    changed = False
    for name, value in facts.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def _event_rows(plan: _Plan, now: datetime, today_start: datetime) -> list[ShipmentEvent]:
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

    customers = list(DEMO_CUSTOMERS) + random_customers(rng)
    existing_customers = {c.id: c for c in session.scalars(select(Customer))}
    created_at = _Clock(today, tz).at(-365, "09:00")
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
    from backend.db import make_engine, make_session_factory, session_scope
    from backend.migrate import upgrade

    parser = argparse.ArgumentParser(description="Seed the demo carrier's data (idempotent).")
    parser.add_argument("--url", help="database URL (default: DATABASE_URL from the environment or .env)")
    parser.add_argument(
        "--today", type=date.fromisoformat, help="seed as if today were this date (YYYY-MM-DD)"
    )
    parser.add_argument("--no-migrate", action="store_true", help="do not run migrations first")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    url = args.url or get_settings().database_url
    if not args.no_migrate:
        upgrade(url)
    engine = make_engine(url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            report = seed_demo(session, today=args.today)
    finally:
        engine.dispose()
    logger.info("seeded: %s", report)


if __name__ == "__main__":
    main()
