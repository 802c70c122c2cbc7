"""How a finding is stored and said: a Phrase with typed values, as JSON that round-trips, in any language.

The analysis words each reason as a `Phrase` (a catalog msgid and its values: money, days, dates,
the record's places and scans, the shipper's own words). A ticket keeps it as JSON (`to_json`), and
every reader gets it back (`from_json`) and reads it in their own language (`said`): the agent in the
console, the shipper on their channel, the report in the CSV's language. Findings stored before this
module existed are plain English strings; they are said as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from backend.domain import EventView
from backend.i18n import (
    N_,
    Day,
    DayAndTime,
    Days,
    FullDate,
    LocalTime,
    Moment,
    Money,
    Phrase,
    Weight,
    Words,
    language_of,
    localise,
)
from backend.record_words import Place, Scan, Signer, Stored

# The shipper's wishes and the categories in words (the same msgids the bot's summary uses).
WANTS_WORDS = {
    "refund": N_("a refund"),
    "compensation": N_("compensation"),
    "redelivery": N_("re-delivery"),
    "apology": N_("an apology"),
    "report_only": N_("just to report it"),
    "replacement": N_("a replacement"),
}
CATEGORY_WORDS = {
    "delay": N_("a late shipment"),
    "missed_pickup": N_("a missed pickup"),
    "damage": N_("damaged goods"),
    "loss": N_("a lost shipment or missing items"),
    "wrong_delivery": N_("a wrong delivery"),
    "billing": N_("a billing problem"),
    "staff_conduct": N_("the conduct of our staff"),
    "other": N_("another problem"),
}
# The anger scores in words (backend.complaints.signals.INTENSITIES, in order).
INTENSITY_WORDS = (N_("calm"), N_("annoyed"), N_("angry"), N_("furious"))


@dataclass(frozen=True)
class Quoted(Words):
    """The shipper's own words, never translated: quoted so the reader sees whose words they are."""

    words: str

    def text(self, language: str | None) -> str:
        if language_of(language) == "en":
            return f'"{self.words}"'
        return f"“{self.words}”"


@dataclass(frozen=True)
class Listing(Words):
    """Several values in one place of a sentence: "a; b" in English, "a；b" in Chinese."""

    items: tuple[Any, ...]

    def text(self, language: str | None) -> str:
        lang = language_of(language)
        glue = "; " if lang == "en" else "；"
        return glue.join(str(localise(item, lang)) for item in self.items)


def _tz(tz: ZoneInfo | str) -> str:
    return tz.key if isinstance(tz, ZoneInfo) else tz


def _utc(value: datetime) -> str:
    return value.isoformat()


def to_json(value: Any) -> Any:
    """A finding or one of its values as JSON-safe data that `from_json` turns back into the same value."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Phrase):
        return {"type": "phrase", "msgid": value.msgid, "params": {k: to_json(v) for k, v in value.params}}
    if isinstance(value, Decimal):
        return {"type": "decimal", "value": str(value)}
    if isinstance(value, Money):
        return {"type": "money", "amount": str(value.amount)}
    if isinstance(value, Weight):
        return {"type": "weight", "kg": None if value.kg is None else str(value.kg)}
    if isinstance(value, Days):
        return {"type": "days", "count": value.count}
    if isinstance(value, Day):
        return {"type": "day", "day": value.day.isoformat(), "today": value.today.isoformat()}
    if isinstance(value, Moment):
        return {
            "type": "moment",
            "moment": _utc(value.moment),
            "tz": _tz(value.tz),
            "today": value.today.isoformat(),
        }
    if isinstance(value, LocalTime):
        return {"type": "local_time", "moment": _utc(value.moment), "tz": _tz(value.tz)}
    if isinstance(value, DayAndTime):
        return {"type": "day_and_time", "moment": _utc(value.moment), "tz": _tz(value.tz)}
    if isinstance(value, FullDate):
        return {"type": "full_date", "day": value.day.isoformat()}
    if isinstance(value, Place):
        return {"type": "place", "name": value.name}
    if isinstance(value, Stored):
        return {"type": "stored", "words": value.words, "lower_first": value.lower_first}
    if isinstance(value, Signer):
        return {"type": "signer", "name": value.name}
    if isinstance(value, Quoted):
        return {"type": "quoted", "words": value.words}
    if isinstance(value, Listing):
        return {"type": "list", "items": [to_json(item) for item in value.items]}
    if isinstance(value, Scan):
        e = value.event
        return {
            "type": "scan",
            "occurred_at": _utc(e.occurred_at),
            "location": e.location,
            "code": e.code,
            "description": e.description,
            "force_majeure": e.force_majeure,
        }
    raise TypeError(f"cannot store {type(value).__name__} in a finding")


def from_json(data: Any) -> Any:
    """The value `to_json` stored (a plain string, as stored before findings were phrases, stays one)."""
    if not isinstance(data, dict):
        return data
    kind = data.get("type")
    if kind == "phrase":
        params = data.get("params") or {}
        return Phrase(str(data["msgid"]), tuple((k, from_json(v)) for k, v in params.items()))
    if kind == "decimal":
        return Decimal(data["value"])
    if kind == "money":
        return Money(Decimal(data["amount"]))
    if kind == "weight":
        return Weight(None if data["kg"] is None else Decimal(data["kg"]))
    if kind == "days":
        return Days(int(data["count"]))
    if kind == "day":
        return Day(date.fromisoformat(data["day"]), date.fromisoformat(data["today"]))
    if kind == "moment":
        return Moment(datetime.fromisoformat(data["moment"]), data["tz"], date.fromisoformat(data["today"]))
    if kind == "local_time":
        return LocalTime(datetime.fromisoformat(data["moment"]), ZoneInfo(data["tz"]))
    if kind == "day_and_time":
        return DayAndTime(datetime.fromisoformat(data["moment"]), ZoneInfo(data["tz"]))
    if kind == "full_date":
        return FullDate(date.fromisoformat(data["day"]))
    if kind == "place":
        return Place(data["name"])
    if kind == "stored":
        return Stored(data["words"], bool(data.get("lower_first")))
    if kind == "signer":
        return Signer(data["name"])
    if kind == "quoted":
        return Quoted(data["words"])
    if kind == "list":
        return Listing(tuple(from_json(item) for item in data["items"]))
    if kind == "scan":
        return Scan(
            EventView(
                occurred_at=datetime.fromisoformat(data["occurred_at"]),
                location=data["location"],
                code=data["code"],
                description=data["description"],
                force_majeure=bool(data.get("force_majeure")),
            )
        )
    raise ValueError(f"unknown stored value type {kind!r}")


def said(stored: Any, language: str | None) -> str | None:
    """A stored finding (or escalation reason) in the reader's language; a plain string as it is."""
    if stored is None:
        return None
    value = from_json(stored)
    return str(localise(value, language_of(language)))
