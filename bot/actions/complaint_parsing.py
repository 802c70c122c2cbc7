"""Reading the customer's answers inside the complaint form (pure: text in, values out)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from backend.complaints.signals import read_signals
from backend.domain import CATEGORIES
from backend.i18n import N_, t

# Short answers to "what happened?" that the category matcher would not see as a story.
CATEGORY_WORDS = {
    "delay": ("late", "delay", "delayed", "slow", "not arrived", "stuck"),
    "missed_pickup": ("pickup", "pick up", "pick-up", "collect", "collection"),
    "damage": ("damage", "damaged", "broken", "crushed", "wet"),
    "loss": ("lost", "loss", "missing"),
    "wrong_delivery": ("wrong address", "wrong person", "wrong delivery", "never received", "wrong place"),
    "billing": ("bill", "billing", "charge", "charged", "invoice", "price", "overcharged"),
    "staff_conduct": ("rude", "staff", "courier", "driver", "attitude"),
    "other": ("other", "something else"),
}
WANTS_WORDS = {
    "refund": ("refund", "money back", "reimburse"),
    "compensation": ("compensat", "pay for", "claim"),
    "redelivery": ("redeliver", "re-deliver", "deliver again", "send it again", "resend", "bring it"),
    "apology": ("apolog", "sorry"),
    "report_only": ("just report", "just to report", "let you know", "nothing", "just informing"),
    "replacement": ("replace",),
}
# The wishes and categories in words (msgids; the summary says them in the shipper's language).
WANTS_TEXT = {
    "refund": N_("a refund"),
    "compensation": N_("compensation"),
    "redelivery": N_("re-delivery"),
    "apology": N_("an apology"),
    "report_only": N_("just to report it"),
    "replacement": N_("a replacement"),
}
CATEGORY_TEXT = {
    "delay": N_("a late shipment"),
    "missed_pickup": N_("a missed pickup"),
    "damage": N_("damaged goods"),
    "loss": N_("a lost shipment or missing items"),
    "wrong_delivery": N_("a wrong delivery"),
    "billing": N_("a billing problem"),
    "staff_conduct": N_("the conduct of our staff"),
    "other": N_("another problem"),
}
NO_NUMBER = re.compile(
    r"\b(don'?t|do not|dont|didn'?t|no|not|never|can'?t|cannot|haven'?t)\b.*"
    r"\b(have|know|got|number|sure|remember|find|recall|get|kept)\b"
    r"|\b(no idea|dunno|idk|no clue|lost (it|the receipt|the slip|the paper))\b",
    re.I,
)
LATER = re.compile(r"\b(later|tomorrow|not now|no photo|don'?t have|can'?t|cannot|no)\b", re.I)
BARE_NUMBER = re.compile(r"^\D*?(\d[\d,]*(?:\.\d+)?)\s*(k)?\b", re.I)
UNKNOWN = re.compile(
    r"\b(don'?t know|do not know|not sure|no idea|unknown|dunno|idk|no clue|can'?t remember)\b", re.I
)
# An answer to "what would you like us to do?" that asks for nothing in particular: not a wish.
NO_WISH = re.compile(
    r"^\W*(no|nope|nah|none|n/?a|nothing( really)?|not really|no idea|dunno|idk|i don'?t know|not sure|"
    r"whatever|anything|up to you|you decide|no thanks?)\W*$",
    re.I,
)
# The wish recorded when the customer asked for nothing in particular.
UNSPECIFIED = "unspecified"

# Which field a correction talks about ("no, the number is wrong").
CORRECTION_FIELDS = (
    ("complaint_waybill", re.compile(r"\b(number|waybill|tracking|parcel id|shipment)\b", re.I)),
    ("complaint_value", re.compile(r"\b(value|worth|amount|price|cost|cny|yuan|rmb)\b", re.I)),
    ("complaint_when", re.compile(r"\b(when|date|day|time|yesterday|today)\b", re.I)),
    ("complaint_wants", re.compile(r"\b(want|refund|compensation|apology|redeliver\w*)\b", re.I)),
    ("complaint_extent", re.compile(r"\b(damaged|missing items|items|extent|what was)\b", re.I)),
    ("complaint_category", re.compile(r"\b(category|what happened|problem|type|kind)\b", re.I)),
)


def parse_category(text: str) -> str | None:
    """A category from a story or a short answer ('it's broken', 'billing', 'late')."""
    found = read_signals(text).category
    if found:
        return found
    lowered = text.lower()
    if lowered.strip() in CATEGORIES:
        return lowered.strip()
    for category, words in CATEGORY_WORDS.items():
        if any(word in lowered for word in words):
            return category
    return None


def parse_wants(text: str) -> str:
    """The remedy the customer asks for, as a canonical value, their own words, or UNSPECIFIED."""
    if NO_WISH.match(text.strip()) or (UNKNOWN.search(text) and len(text.split()) <= 5):
        return UNSPECIFIED
    found = read_signals(text).wants
    if found:
        return found
    lowered = text.lower()
    for wants, words in WANTS_WORDS.items():
        if any(word in lowered for word in words):
            return wants
    return text.strip()[:200]


def parse_value(text: str) -> str | None:
    """A declared value in CNY as a plain decimal string, 'unknown', or None when unreadable."""
    amounts = read_signals(text).amounts
    if amounts:
        return str(max(amounts))
    match = BARE_NUMBER.match(text.strip())
    if match:
        try:
            value = Decimal(match.group(1).replace(",", ""))
        except InvalidOperation:
            return None
        if match.group(2):
            value *= 1000
        return str(value)
    if UNKNOWN.search(text):
        return "unknown"
    return None


def parse_photo(text: str) -> str:
    """'later' for a deferral, otherwise 'received' (the agent checks the photo on the ticket)."""
    return "later" if LATER.search(text) else "received"


NO_PHONE = re.compile(
    r"\b(don'?t|do not|dont|no|not|haven'?t|can'?t|cannot)\b[^.?!]*\b(phone|mobile|cell|number)\b", re.I
)
BY_PHONE = re.compile(r"\b(by|with|using|via|through|from)\s+(my\s+|the\s+|a\s+)?(phone|mobile|cell)", re.I)


def says_no_phone(text: str) -> bool:
    """'I don't have the phone number', but not 'I lost my waybill, can you search by phone?'."""
    return bool(NO_PHONE.search(text)) and not BY_PHONE.search(text)


def says_no_number(text: str) -> bool:
    return bool(NO_NUMBER.search(text))


def correction_fields(text: str) -> list[str]:
    """The form fields a correction mentions, in the order they are asked."""
    return [slot for slot, pattern in CORRECTION_FIELDS if pattern.search(text)]


def says_unknown(text: str) -> bool:
    """'I don't know', 'not sure', 'no idea': an honest answer that the fact is not known."""
    return bool(UNKNOWN.search(text))


def wants_text(wants: str | None, language: str = "en") -> str:
    """The wish in words; the customer's own words when it is none of ours."""
    if not wants:
        return t(language, "not said yet")
    if wants == UNSPECIFIED:
        return t(language, "nothing in particular (we will suggest what we can do)")
    return t(language, WANTS_TEXT[wants]) if wants in WANTS_TEXT else wants


def category_text(category: str | None, language: str = "en") -> str:
    return t(language, CATEGORY_TEXT.get(category or "other", CATEGORY_TEXT["other"]))
