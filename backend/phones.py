"""Phone numbers: normalise what people type to E.164, and find one in free text.

Parsing is Google's libphonenumber (the `phonenumbers` package) with China as the default region, so
138-0000-0003, +86 138 0000 0003, 0086 138..., 86 138..., +86 (0)771 ... and full-width digits
(folded by NFKC first) all give the same E.164 number, and only numbers that are valid for their
country count (a Chinese number starting with 1 is a mobile of exactly 11 digits).
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from phonenumbers import Leniency, NumberParseException, PhoneNumberFormat, PhoneNumberMatcher

DEFAULT_REGION = "CN"

# What a typed phone number may consist of: digits, a leading +, the usual separators. Letters are
# never a phone number here (libphonenumber would read "1-800-FLOWERS" as digits).
_TYPED = re.compile(r"[0-9+\s\-.()/]+")
_LATIN_OR_DIGIT = re.compile(r"[A-Za-z0-9]")


def _fold(text: str) -> str:
    """Full-width digits, plus signs and brackets as ASCII; the ideographic space as a space."""
    return unicodedata.normalize("NFKC", text or "")


def _e164(number: phonenumbers.PhoneNumber) -> str | None:
    if not phonenumbers.is_valid_number(number):
        return None
    return str(phonenumbers.format_number(number, PhoneNumberFormat.E164))


def normalise_phone(text: str) -> str | None:
    """E.164 form (+8613800000002) of a valid phone number (Chinese by default), or None."""
    folded = _fold(text).strip()
    if not folded or not _TYPED.fullmatch(folded):
        return None
    try:
        number = phonenumbers.parse(folded, DEFAULT_REGION)
    except NumberParseException:
        return None
    return _e164(number)


def find_phone_in_text(text: str) -> str | None:
    """The first valid phone number in free text (English, Chinese or mixed), normalised, or None.

    A run of digits glued to Latin letters or other digits is part of something else (a waybill such
    as EA100000017CN, a ticket number), never a phone number.
    """
    folded = _fold(text)
    for match in PhoneNumberMatcher(folded, DEFAULT_REGION, leniency=Leniency.VALID):
        before = folded[match.start - 1] if match.start > 0 else ""
        after = folded[match.end] if match.end < len(folded) else ""
        if _LATIN_OR_DIGIT.match(before) or _LATIN_OR_DIGIT.match(after):
            continue
        phone = _e164(match.number)
        if phone is not None:
            return phone
    return None


def mask_phone(text: str | None) -> str:
    """A phone number for logs and for replies to anyone but its owner: only the last four digits."""
    digits = re.sub(r"\D", "", text or "")
    if len(digits) < 7:
        return "****"
    return "*" * (len(digits) - 4) + digits[-4:]
