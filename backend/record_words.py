"""The shipment record's own words in the shipper's language: places, scans, reasons, notes, signers.

The record keeps English free text (origin, destination, scan locations and descriptions, delay and
exception reasons, courier notes, goods, who signed). English readers get it exactly as stored; other
languages get it through the message catalog, in three ways that work for any shipment:

- **Places** are a gazetteer in the catalog: cities and districts are msgids ("Wuhan" → 武汉, "Tianhe"
  → 天河), facilities are patterns ("{place} hub" → {place}转运中心), so "Guangzhou Tianhe delivery
  station" becomes 广州天河派送站 word by word. A place the gazetteer cannot read stays as stored.
- **Scans** are read against the scan sentence patterns below ("Departed {place} for {next}"), whose
  placeholders are read again (places, reasons, signers); a description that no pattern reads
  completely is said from the scan's `code` and location instead ("Held at {place}" → 在{place}暂扣),
  so a Chinese shipper never reads an English scan.
- **Reasons, notes, goods and signer roles** are msgids themselves (the seed marks its lists with
  `N_`, so the catalog test finds them); a text the catalog does not know is shown as stored, and so
  is a person's name ("Li Wei"), which is data, not a word to translate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from backend.domain import EventView
from backend.i18n import N_, Words, language_of, t, translations

# Cities and districts of the carrier's network (the gazetteer; each is a msgid).
CITIES = (
    N_("Nanning"),
    N_("Guilin"),
    N_("Liuzhou"),
    N_("Beijing"),
    N_("Shanghai"),
    N_("Guangzhou"),
    N_("Shenzhen"),
    N_("Chengdu"),
    N_("Chongqing"),
    N_("Kunming"),
    N_("Haikou"),
    N_("Xiamen"),
    N_("Fuzhou"),
    N_("Wuhan"),
    N_("Changsha"),
    N_("Guiyang"),
    N_("Hangzhou"),
    N_("Nanchang"),
    N_("Zhengzhou"),
    N_("Singapore"),
)
DISTRICTS = (
    N_("Tianhe"),
    N_("Baiyun"),
    N_("Futian"),
    N_("Wuhua"),
    N_("Siming"),
    N_("Xihu"),
    N_("Chengzhong"),
    N_("Jianghan"),
    N_("Xiuying"),
)
# Facilities: a place and what it is. Longer suffixes first ("transit centre" before "centre").
FACILITIES = (
    N_("{place} international gateway"),
    N_("{place} sorting centre"),
    N_("{place} transit centre"),
    N_("{place} delivery station"),
    N_("{place} hub"),
    N_("{place} port"),
    N_("{place} customs"),
)

# The scan sentences the carrier's systems write, most specific first. Placeholders are read again:
# {place} and {next} as places, {reason} as a reason, {signer} as a signer, {weight}, {time} and
# {date} as they stand (digits).
SCAN_SENTENCES = (
    N_("Picked up from the shipper"),
    N_("Departed {place} for {next}"),
    N_("Sorted at {place} for {next}"),
    N_("Passed through {place}"),
    N_("Arrived at the delivery station"),
    N_("Arrived at {place} for the ferry crossing"),
    N_("Arrived at {place}"),
    N_("Weighed at {place}: {weight} kg charged"),
    N_("Still held at {place}: {reason}"),
    N_("Held at {place}: {reason}"),
    N_("Held by export customs: {reason}"),
    N_("Ferry suspended by typhoon; waiting at {place}"),
    N_("Typhoon warning in force; ferry still suspended"),
    N_("Missed the scheduled linehaul to {next}; rebooked on the next departure"),
    N_("Pickup booked at the warehouse, to collect before {time} on {date}"),
    N_("Out for delivery"),
    N_("Delivered, signed by the recipient"),
    N_("Delivered, signed by {signer} (recipient)"),
    N_("Delivered, signed by {signer}"),
    N_("Delivery failed: {reason}"),
    N_("Returned to sender: undeliverable, on its way back to {place}"),
)
# A scan said from its code and location, when no sentence above reads its description.
SCAN_BY_CODE = {
    "pickup_booked": N_("Pickup booked at {place}"),
    "picked_up": N_("Picked up at {place}"),
    "weighed": N_("Weighed at {place}"),
    "sorted": N_("Sorted at {place}"),
    "departed_hub": N_("Departed {place}"),
    "in_transit": N_("Passed through {place}"),
    "arrived_hub": N_("Arrived at {place}"),
    "arrived_station": N_("Arrived at {place}"),
    "missed_connection": N_("Missed its connection at {place}"),
    "held": N_("Held at {place}"),
    "customs_hold": N_("Held by customs at {place}"),
    "out_for_delivery": N_("Out for delivery from {place}"),
    "delivered": N_("Delivered at {place}"),
    "delivery_failed": N_("Delivery attempt failed at {place}"),
    "returned": N_("Returned to sender from {place}"),
}
SCANNED_AT = N_("Scanned at {place}")

# The reasons scans give after their colon ("Held at Wuhan hub: capacity shortage ..."); the record's
# own reason fields are msgids where the seed writes them.
SCAN_REASONS = (
    N_("capacity shortage, waiting for linehaul space"),
    N_("capacity shortage on the Beijing linehaul"),
    N_("capacity shortage on the Wuhan-Beijing linehaul"),
    N_("ferry suspended by typhoon"),
    N_("commercial invoice required from the shipper"),
    N_("the recipient phone number on the waybill is wrong; recipient unreachable"),
    N_("recipient refused"),
)

# Who signed, when it is a role and not a person's name.
SIGNER_ROLES = (
    N_("recipient"),
    N_("front desk"),
    N_("security guard, Building 7"),
)

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _pattern(msgid: str) -> re.Pattern[str]:
    """The msgid as a regular expression, each placeholder a named group."""
    parts = _PLACEHOLDER.split(msgid)
    body = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)" for i, part in enumerate(parts))
    return re.compile(f"^{body}$")


@cache
def _patterns(msgids: tuple[str, ...]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((msgid, _pattern(msgid)) for msgid in msgids)


def _known(msgid: str, lang: str) -> str | None:
    """The catalog's translation of a msgid, or None when the catalog does not have it."""
    text = translations(lang).gettext(msgid)
    return text if text != msgid else None


def _place(name: str, lang: str) -> str | None:
    name = name.strip()
    if not name:
        return None
    known = _known(name, lang)
    if known:
        return known
    for msgid, pattern in _patterns(FACILITIES):
        match = pattern.match(name)
        if match:
            inner = _place(match["place"], lang)
            return t(lang, msgid, place=inner) if inner else None
    words = name.split()
    if len(words) > 1:
        said = [_known(word, lang) for word in words]
        if all(said):
            return "".join(word for word in said if word)
    return None


def _signer(name: str, lang: str) -> str:
    return _known(name, lang) or name


def _reason(text: str, lang: str) -> str | None:
    """A reason, note or scan in the catalog's words, or None when some part of it is not known."""
    text = text.strip().rstrip(".")
    if not text:
        return None
    for variant in (text, text[:1].upper() + text[1:], text[:1].lower() + text[1:]):
        known = _known(variant, lang)
        if known:
            return known
    for msgid, pattern in _patterns(SCAN_SENTENCES):
        match = pattern.match(text) or pattern.match(text[:1].upper() + text[1:])
        if match is None:
            continue
        values: dict[str, str] = {}
        for name, value in match.groupdict().items():
            said = _value(name, value, lang)
            if said is None:
                break
            values[name] = said
        else:
            return t(lang, msgid, **values)
    return None


def _value(name: str, value: str, lang: str) -> str | None:
    if name in {"place", "next"}:
        return _place(value, lang)
    if name == "reason":
        return _reason(value, lang)
    if name == "signer":
        return _signer(value, lang)
    return value if re.fullmatch(r"[\d:\-. ]+", value) else None


def place_text(name: str, language: str | None) -> str:
    """A city, hub or station in the reader's language; one the gazetteer cannot read, as stored."""
    lang = language_of(language)
    if lang == "en":
        return name
    return _place(name, lang) or name


def record_text(text: str, language: str | None) -> str:
    """A reason, note or goods description in the reader's language; one not in the catalog, as stored."""
    lang = language_of(language)
    if lang == "en":
        return text
    return _reason(text, lang) or text


def signer_text(name: str, language: str | None) -> str:
    """Who signed: a role in the reader's language ("front desk" → 前台), a person's name as stored."""
    lang = language_of(language)
    return name if lang == "en" else _signer(name, lang)


def scan_text(event: EventView, language: str | None) -> str:
    """What a scan says: in English its stored description, else its sentence, else said from its code."""
    lang = language_of(language)
    if lang == "en":
        return event.description
    said = _reason(event.description, lang)
    if said:
        return said
    return t(lang, SCAN_BY_CODE.get(event.code, SCANNED_AT), place=place_text(event.location, lang))


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


@dataclass(frozen=True)
class Place(Words):
    name: str

    def text(self, language: str | None) -> str:
        return place_text(self.name, language)


@dataclass(frozen=True)
class Stored(Words):
    """A reason or note from the record; `lower_first` for English mid-sentence ("held because of x")."""

    words: str
    lower_first: bool = False

    def text(self, language: str | None) -> str:
        if language_of(language) == "en":
            return _lower_first(self.words) if self.lower_first else self.words
        return record_text(self.words, language)


@dataclass(frozen=True)
class Signer(Words):
    name: str

    def text(self, language: str | None) -> str:
        return signer_text(self.name, language)


@dataclass(frozen=True)
class Scan(Words):
    event: EventView

    def text(self, language: str | None) -> str:
        return scan_text(self.event, language)
