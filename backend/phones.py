"""Phone numbers: normalise what people type to E.164, and find one in free text."""

from __future__ import annotations

import re
import unicodedata

_STRIP = re.compile(r"[\s\-.()]+")
_CN_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_E164 = re.compile(r"\+[1-9][0-9]{7,14}")
# A run that starts with +, 00 or a digit and continues with digits and the usual separators; the
# look-behind keeps it out of waybill numbers (EA100000017CN) and words.
_CANDIDATE = re.compile(r"(?<![A-Za-z0-9+])(?:\+|00)?[0-9][0-9\s\-.()]{5,22}[0-9](?![0-9A-Za-z])")


def normalise_phone(text: str) -> str | None:
    """E.164 form (+8613800000002) of a Chinese mobile or an international number, or None."""
    raw = _STRIP.sub("", unicodedata.normalize("NFKC", text))
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    if raw.startswith("+86"):
        national = raw[3:]
        if national.startswith("0"):
            # People write the trunk prefix after the country code: +86 (0)771 ...
            national = national[1:]
        raw = "+86" + national
    elif raw.startswith("86") and _CN_MOBILE.fullmatch(raw[2:]):
        raw = "+" + raw
    elif _CN_MOBILE.fullmatch(raw):
        raw = "+86" + raw
    if not _E164.fullmatch(raw):
        return None
    if raw.startswith("+861") and not _CN_MOBILE.fullmatch(raw[3:]):
        # Chinese numbers starting with 1 are mobiles and have exactly 11 digits.
        return None
    return raw


def find_phone_in_text(text: str) -> str | None:
    """The first phone number in free text, normalised, or None."""
    folded = unicodedata.normalize("NFKC", text)
    for match in _CANDIDATE.finditer(folded):
        phone = normalise_phone(match.group(0))
        if phone is not None:
            return phone
    return None


def mask_phone(text: str | None) -> str:
    """A phone number for logs and for replies to anyone but its owner: only the last four digits."""
    digits = re.sub(r"\D", "", text or "")
    if len(digits) < 7:
        return "****"
    return "*" * (len(digits) - 4) + digits[-4:]
