"""UPU S10 waybill numbers: check digit, normalisation, validation and finding one in free text."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
WaybillStatus = Literal["valid", "mistyped", "malformed"]

_SEPARATORS = re.compile(r"[\s\-.]+")
_S10 = re.compile(r"[A-Z]{2}[0-9]{9}[A-Z]{2}")
_SEP = r"[\s\-.]*"
# Two letters, 8 to 10 digits (one digit short or long is a near miss worth pointing out), two letters,
# with spaces, dashes or dots anywhere between them. The look-arounds keep it out of longer words.
_CANDIDATE = re.compile(
    rf"(?<![A-Z0-9])([A-Z]{{2}}){_SEP}((?:[0-9]{_SEP}){{7,9}}[0-9]){_SEP}([A-Z]{{2}})(?![A-Z0-9])"
)


# What counts as a waybill wherever a text is only screened for one (not validated): two letters and at
# least six digits, separators allowed, the country letters optional, e.g. a number typed half-way.
WAYBILL_LIKE = re.compile(
    r"(?<![A-Za-z0-9])[A-Za-z]{2}[\s\-.]*[0-9](?:[\s\-.]*[0-9]){5,}(?:[\s\-.]*[A-Za-z]{2})?(?![A-Za-z0-9])"
)


@dataclass(frozen=True)
class WaybillCheck:
    """The verdict on one waybill number, with the normalised value."""

    status: WaybillStatus
    value: str

    @property
    def is_valid(self) -> bool:
        return self.status == "valid"


def check_digit(serial8: str) -> int:
    """The S10 check digit of an 8-digit serial number."""
    if len(serial8) != 8 or not serial8.isascii() or not serial8.isdigit():
        raise ValueError(f"an S10 serial has exactly 8 digits; got {serial8!r}")
    c = 11 - sum(int(d) * w for d, w in zip(serial8, WEIGHTS, strict=True)) % 11
    return {10: 0, 11: 5}.get(c, c)


def make_waybill(prefix: str, serial: int, country: str = "CN") -> str:
    """A valid S10 number from a 2-letter service prefix, a serial below 10**8 and a country code."""
    if not (len(prefix) == 2 and prefix.isascii() and prefix.isalpha()):
        raise ValueError(f"prefix must be 2 letters; got {prefix!r}")
    if not (len(country) == 2 and country.isascii() and country.isalpha()):
        raise ValueError(f"country must be 2 letters; got {country!r}")
    if not 0 <= serial < 10**8:
        raise ValueError(f"serial must be 0 to 99999999; got {serial}")
    digits = f"{serial:08d}"
    return f"{prefix.upper()}{digits}{check_digit(digits)}{country.upper()}"


def normalise(text: str) -> str:
    """Upper case without spaces, dashes or dots; full-width characters folded to ASCII."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text)).upper()


def validate(text: str) -> WaybillCheck:
    """Classify a number as valid, mistyped (shape right, check digit wrong) or malformed."""
    value = normalise(text)
    if not _S10.fullmatch(value):
        return WaybillCheck("malformed", value)
    if check_digit(value[2:10]) != int(value[10]):
        return WaybillCheck("mistyped", value)
    return WaybillCheck("valid", value)


def looks_like_waybill(text: str) -> bool:
    """Whether the text holds something a shipper means as a waybill number, valid or not."""
    return WAYBILL_LIKE.search(unicodedata.normalize("NFKC", text)) is not None


def without_waybills(text: str) -> str:
    """The text with every waybill-looking number cut out (full-width forms folded first)."""
    return WAYBILL_LIKE.sub(" ", unicodedata.normalize("NFKC", text))


def find_in_text(text: str) -> WaybillCheck | None:
    """The first waybill-looking number in free text (a valid one preferred), or None if there is none."""
    folded = unicodedata.normalize("NFKC", text).upper()
    found: list[WaybillCheck] = []
    for match in _CANDIDATE.finditer(folded):
        letters, digits, country = match.group(1), _SEPARATORS.sub("", match.group(2)), match.group(3)
        candidate = letters + digits + country
        found.append(validate(candidate) if len(digits) == 9 else WaybillCheck("malformed", candidate))
    for wanted in ("valid", "mistyped", "malformed"):
        for check in found:
            if check.status == wanted:
                return check
    return None
