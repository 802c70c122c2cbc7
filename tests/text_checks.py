"""What the tests look for in a reply: Latin words left in a Chinese text (catalog, seed, dialogue)."""

from __future__ import annotations

import re

PLACEHOLDER = re.compile(r"\{(\w*)\}")
# What may stay Latin in a Chinese reply: waybill numbers (UPU S10), ticket numbers, units.
# (Chinese characters count as word characters, so the edges are spelled out instead of \b.)
ALLOWED_LATIN = re.compile(
    r"(?<![A-Za-z0-9])(?:[A-Z]{2}\d{9}[A-Z]{2}|T-\d{6}-\d{5}|T-|kg)(?![A-Za-z0-9])", re.IGNORECASE
)
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
# A person's name from the record ("Li Wei" signed) is data, not a word to translate: the Chinese texts
# quote it (由收件人“Li Wei”本人签收), and a quoted run of capitalised words passes the scan. Role words
# ("front desk") are translated by the catalog (前台), so they never reach a Chinese reply in Latin.
QUOTED_NAME = re.compile(r"[“「][A-Z][a-z]+(?: [A-Z][a-z]+){0,3}[”」]")


def latin_words(text: str) -> list[str]:
    """Latin words left once placeholders, codes, units and quoted person names are taken out."""
    text = QUOTED_NAME.sub(" ", PLACEHOLDER.sub(" ", text))
    return LATIN_WORD.findall(ALLOWED_LATIN.sub(" ", text))
