"""Which language a shipper writes in: Simplified Chinese ("zh") or English ("en").

One deployment serves both. The language is read from each message: any Chinese character makes it
Chinese (shippers mix Latin waybill numbers and English words into Chinese), English words without
Chinese make it English, and a message with neither (a bare waybill, "👍", "138 0000 0003") keeps the
conversation's language. Telegram's `language_code` is a hint for a first message with no words.
"""

from __future__ import annotations

import re
import unicodedata

LANGUAGES = ("en", "zh")
DEFAULT_LANGUAGE = "en"

# The Chinese characters, written once for every pattern that needs them: CJK Unified Ideographs,
# Extension A and the compatibility ideographs (NFKC folds most of these, and full-width forms, first;
# the dozen it leaves alone are Chinese characters too). HAN is the range for a character class.
HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
CHINESE_CHARACTER = re.compile(f"[{HAN}]")
# Latin words that are not codes: at least two letters, not a waybill (EA100000025CN), ticket number
# (T-202611-00042) or a unit/abbreviation shippers use inside Chinese text too.
_LATIN_WORD = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2,}(?![A-Za-z0-9])")
_NOT_WORDS = frozenset({"kg", "cny", "rmb", "ok", "id", "sf", "ems", "cn", "ea", "eta", "vip"})


def language_from_hint(hint: str | None) -> str | None:
    """'zh', 'zh-hans', 'zh_CN' give Chinese, 'en-GB' English; anything else is no hint."""
    if not hint:
        return None
    code = hint.strip().lower().replace("_", "-").split("-")[0]
    return code if code in LANGUAGES else None


def detect_language(text: str, *, previous: str | None = None, hint: str | None = None) -> str:
    """The language of this message, or of the conversation so far when the message has no words."""
    folded = unicodedata.normalize("NFKC", text or "")
    if CHINESE_CHARACTER.search(folded):
        return "zh"
    if any(word.lower() not in _NOT_WORDS for word in _LATIN_WORD.findall(folded)):
        return "en"
    if previous in LANGUAGES:
        return previous
    return language_from_hint(hint) or DEFAULT_LANGUAGE
