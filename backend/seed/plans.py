"""The demo carrier's records as plans to upsert: the data file's scenarios and the random shipments."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from backend.i18n import N_
from backend.seed.data import demo_data
from backend.waybill import make_waybill

# Fixed so that re-seeding produces the same "random" shipments.
RANDOM_SEED = 20240917
RANDOM_SHIPMENTS = 300
RANDOM_PREFIXES = ("EB", "RR", "CP")

# (id, name, class, phone)
CustomerRow = tuple[str, str, str, str]
# (day offset from today, local "HH:MM", location, code, description[, force majeure])
EventSpec = tuple[Any, ...]


@dataclass(frozen=True)
class Plan:
    """One shipment's record and its tracking scans, as the seed writes them."""

    facts: dict[str, Any]
    events: tuple[dict[str, Any], ...]


class Clock:
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


def _events(clock: Clock, specs: list[EventSpec]) -> tuple[dict[str, Any], ...]:
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
    clock: Clock,
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


def demo_customers() -> tuple[CustomerRow, ...]:
    """The 4 customers of DEMO_DATA.md."""
    return tuple((c["id"], c["name"], c["class"], c["phone"]) for c in demo_data()["customers"])


def demo_shipments(today: date, tz: ZoneInfo) -> dict[str, Plan]:
    """The 14 scenario shipments of DEMO_DATA.md, keyed by waybill."""
    c = Clock(today, tz)
    plans: dict[str, Plan] = {}
    for waybill, record in demo_data()["shipments"].items():
        facts = dict(record)
        specs = facts.pop("events")
        for moment in ("delivered_at", "pickup_due_at"):
            if moment in facts:
                facts[moment] = c.at(*facts[moment])
        # A scan may name the seeding day itself ("to collect before 14:30 on {today}").
        specs = [(*spec[:4], spec[4].format(today=c.day(0).isoformat()), *spec[5:]) for spec in specs]
        plans[waybill] = Plan(_shipment_facts(c, **facts), _events(c, specs))
    return plans


def random_customers(rng: random.Random) -> list[CustomerRow]:
    """C005..C040 with about 20% A-class accounts."""
    words = demo_data()["random"]
    out = []
    for n in range(5, 41):
        name = f"{rng.choice(words['first'])} {rng.choice(words['second'])} {rng.choice(words['trade'])}"
        roll = rng.random()
        customer_class = "A" if roll < 0.2 else "B" if roll < 0.5 else "C"
        out.append((f"C{n:03d}", name, customer_class, f"+86139{n:08d}"))
    return out


def random_shipments(
    rng: random.Random, customer_ids: list[str], today: date, tz: ZoneInfo
) -> dict[str, Plan]:
    """Ordinary shipments with valid S10 numbers outside the EA series, mostly delivered."""
    c = Clock(today, tz)
    words = demo_data()["random"]
    plans: dict[str, Plan] = {}
    while len(plans) < RANDOM_SHIPMENTS:
        waybill = make_waybill(rng.choice(RANDOM_PREFIXES), rng.randrange(10**8))
        if waybill in plans:
            continue
        customer_id = rng.choice(customer_ids)
        destination = rng.choice(words["destinations"])
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
            goods=rng.choice(words["goods"]),
            freight=freight,
            declared_value=rng.choice((100, 200, 300, 500, 800, 1000, 1500)),
            weight=weight,
            delivered_at=delivered_at,
            signed_by=signed_by,
            signer_is_recipient=True if signed_by else None,
            exception_reason=N_("Recipient refused the delivery") if status == "returned" else None,
        )
        plans[waybill] = Plan(facts, _events(c, specs))
    return plans
