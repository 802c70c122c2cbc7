"""The themes of customers' suggestions in the follow-up report, and the keywords that find them.

Seed 001, 2.3: a follow-up asks for suggestions on the service "市内以及专线运输配送、接收工作" and on how the
service desk (客服部) treated the customer; the carrier's pricing is the other thing customers raise. A text
is matched on its normalised form (NFKC folds full-width letters and digits, casefold folds case), so
"ＤＥＬＩＶＥＲＹ", "Delivery" and "delivery" are one word. A text may fall in several themes; one that
matches none is "other". Latin keywords match at the start of a word ("deliver" finds "deliveries", not
"undeliverable"); Chinese keywords anywhere (Chinese has no spaces between words).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from backend.i18n import N_

OTHER = "other"


@dataclass(frozen=True)
class Theme:
    """One theme: its key, its title (a msgid) and the keywords in both languages."""

    key: str
    title: str
    keywords: tuple[str, ...]


def _words(chinese: str, english: str) -> tuple[str, ...]:
    return (*chinese.split("|"), *english.split("|"))


THEMES: tuple[Theme, ...] = (
    Theme(
        "city",
        N_("City delivery and pickup"),
        _words(
            "市内配送|配送|派送|提货|送货|上门|揽收|取件|快递员|司机",
            "delivery|deliver|pickup|pick-up|pick up|collect|courier|driver",
        ),
    ),
    Theme(
        "line_haul",
        N_("Line-haul transport"),
        _words(
            "干线|专线|运输|时效|延误|晚到|太慢|在途",
            "line-haul|linehaul|line haul|transport|transit|trunk|delay|late|slow",
        ),
    ),
    Theme(
        "receiving",
        N_("Receiving and warehouse"),
        _words("收货|仓库|入库|卸货|装卸|接收|库存", "warehouse|receiving|storage|unload|loading dock"),
    ),
    Theme(
        "service_desk",
        N_("Service desk and customer service"),
        _words(
            "客服|态度|服务台|热线|接电话|回复",
            "customer service|service desk|attitude|hotline|rude|polite|helpful|staff",
        ),
    ),
    Theme(
        "billing",
        N_("Billing and price"),
        _words(
            "价格|运费|账单|收费|发票|费用|报价|价钱|贵",
            "price|pricing|bill|invoice|charge|cost|expensive|cheap|freight rate",
        ),
    ),
)
OTHER_TITLE = N_("Other")
TITLES = {**{theme.key: theme.title for theme in THEMES}, OTHER: OTHER_TITLE}


def normalise(text: str) -> str:
    """Full-width to half-width, one case, single spaces: the form keywords are matched on."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _is_latin(keyword: str) -> bool:
    return keyword.isascii()


@cache
def _pattern(theme: Theme) -> re.Pattern[str]:
    parts = [
        rf"(?<![a-z0-9]){re.escape(normalise(k))}" if _is_latin(k) else re.escape(normalise(k))
        for k in theme.keywords
    ]
    return re.compile("|".join(parts))


def themes_of(text: str) -> list[str]:
    """The keys of the themes a text speaks of, in THEMES order; [OTHER] when none (or no text)."""
    plain = normalise(text)
    found = [theme.key for theme in THEMES if plain and _pattern(theme).search(plain)]
    return found or [OTHER]
