"""The shipper's language in every text the bot and the hub build: gettext catalogs and Babel formats.

Messages are gettext `.po` catalogs under `backend/locale/<language>/LC_MESSAGES/messages.po`, read
with Babel when first used (no compiled `.mo`, no build step on a fresh clone). The msgids are the
English sentences themselves, with `{name}` placeholders (str.format), so English needs no catalog
and reads exactly as the msgid. A text with placeholders is written `t(language, msgid, name=value)`;
a value may be a `Money`, `Weight`, `Days`, `Day`, `Moment`, `LocalTime`, a nested `Phrase` or any other
`Words` (the record's own words, backend/record_words.py), and is then written in the same language
(11月20日 周五 14:05, 180.00 元, 武汉转运中心 in Chinese).

Constants that hold a msgid are marked `N_("...")` so that the catalog test finds every msgid in the
code (Babel's extractor with the keywords `t:2`, `N_` and `phrase`). A new or changed text:

    .venv/bin/pybabel extract -F backend/locale/babel.cfg -k t:2 -k N_ -k phrase -k _ --no-default-keywords \
        -o /tmp/messages.pot backend bot
    .venv/bin/pybabel update -i /tmp/messages.pot -d backend/locale -l zh --no-fuzzy-matching

then translate the new entries in backend/locale/zh/LC_MESSAGES/messages.po; tests/bot/test_catalogs.py
fails until every msgid has its Chinese with the same placeholders.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from gettext import NullTranslations
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

from backend import formatting
from backend.language import DEFAULT_LANGUAGE, LANGUAGES, language_from_hint

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
# Babel's locale for each language of ours (formats of dates and numbers).
BABEL_LOCALES = {"en": "en", "zh": "zh_Hans_CN"}


def language_of(value: str | None) -> str:
    """'zh', 'zh-hans', 'zh_CN' → 'zh'; 'en-GB', None or anything unknown → 'en'."""
    return language_from_hint(value) or DEFAULT_LANGUAGE


def catalog_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(language: str) -> NullTranslations:
    """The language's catalog, read from its `.po` file once per process; English is the msgids."""
    path = catalog_path(language)
    if language == DEFAULT_LANGUAGE or not path.exists():
        return NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=BABEL_LOCALES.get(language, language), domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)  # fuzzy entries stay out, as msgfmt leaves them out
    compiled.seek(0)
    return Translations(fp=compiled, domain=DOMAIN)


def N_(msgid: str) -> str:
    """Marks a msgid kept in a constant (gettext's "translate later"); `t` translates it where said."""
    return msgid


def t(language: str | None, msgid: str, **params: Any) -> str:
    """The message in the language, its `{placeholders}` filled (values written in that language)."""
    lang = language_of(language)
    text = translations(lang).gettext(msgid)
    if not params:
        return text
    return text.format(**{name: localise(value, lang) for name, value in params.items()})


def sentences(language: str | None, parts: list[str]) -> str:
    """Sentences one after another: spaced in English, run together in Chinese (。 ends each one)."""
    glue = " " if language_of(language) == "en" else ""
    return glue.join(part for part in parts if part)


def variants(msgid: str) -> frozenset[str]:
    """The message as it reads in every language (for "did the bot just say this?")."""
    return frozenset(translations(lang).gettext(msgid) for lang in LANGUAGES)


# --------------------------------------------------------------------------------------------------
# Values written in the reader's language
# --------------------------------------------------------------------------------------------------


class Words:
    """A value that puts itself into words in the reader's language (a Phrase, a place, a scan ...)."""

    def text(self, language: str | None) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class Phrase(Words):
    """A message not yet said: its msgid and its values, put into words in any language later."""

    msgid: str
    params: tuple[tuple[str, Any], ...] = ()

    def text(self, language: str | None) -> str:
        return t(language, self.msgid, **dict(self.params))


def phrase(msgid: str, **params: Any) -> Phrase:
    return Phrase(msgid, tuple(params.items()))


@dataclass(frozen=True)
class Money:
    amount: Decimal | int | float | str


@dataclass(frozen=True)
class Weight:
    kg: Decimal | int | str | None


@dataclass(frozen=True)
class Days:
    count: int


@dataclass(frozen=True)
class Day:
    """A day relative to today: 'today', 'yesterday', 'Fri 20 Nov'."""

    day: date
    today: date


@dataclass(frozen=True)
class Moment:
    """A moment relative to today on the carrier's clock: 'yesterday at 14:05'."""

    moment: datetime
    tz: ZoneInfo | str
    today: date


@dataclass(frozen=True)
class LocalTime:
    """A moment on the carrier's clock: 'Wed 2 Dec at 09:00'."""

    moment: datetime
    tz: ZoneInfo | str


@dataclass(frozen=True)
class FullDate:
    """A day with its year: '20 November 2026', '2026年11月20日'."""

    day: date


@dataclass(frozen=True)
class DayAndTime:
    """A day of the month and the time on the carrier's clock: '20 November at 14:05', '11月20日 14:05'."""

    moment: datetime
    tz: ZoneInfo | str


def localise(value: Any, language: str) -> Any:
    """A placeholder's value as the reader of `language` writes it."""
    if isinstance(value, Words):
        return value.text(language)
    if isinstance(value, Money):
        return money_text(value.amount, language)
    if isinstance(value, Weight):
        return weight_text(value.kg, language)
    if isinstance(value, Days):
        return days_text(value.count, language)
    if isinstance(value, Day):
        return day_text(value.day, value.today, language)
    if isinstance(value, Moment):
        return moment_text(value.moment, value.tz, value.today, language)
    if isinstance(value, LocalTime):
        return local_time_text(value.moment, value.tz, language)
    if isinstance(value, FullDate):
        return full_date_text(value.day, language)
    if isinstance(value, DayAndTime):
        return day_and_time_text(value.moment, value.tz, language)
    return value


def _zone(tz: ZoneInfo | str) -> ZoneInfo:
    return tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)


def money_text(amount: Decimal | int | float | str, language: str | None) -> str:
    """'180.00 CNY' in English, '180.00 元' in Chinese."""
    if language_of(language) == "en":
        return formatting.format_cny(amount)
    value = Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{format_decimal(value, format='#,##0.00', locale=BABEL_LOCALES['zh'])} 元"


def weight_text(kg: Decimal | int | str | None, language: str | None) -> str:
    """'2.5 kg' in English, '2.5 公斤' in Chinese."""
    if language_of(language) == "en":
        return formatting.format_kg(kg)
    if kg is None:
        return "重量未知"
    return f"{Decimal(str(kg)).normalize():f} 公斤"


def days_text(n: int, language: str | None) -> str:
    if language_of(language) == "en":
        return formatting.days_text(n)
    return f"{n}天"


def date_text(day: date, language: str | None) -> str:
    """A day without 'today': 'Fri 20 Nov' in English, '11月20日 周五' in Chinese."""
    if language_of(language) == "en":
        return f"{day:%a} {day.day} {day:%b}"
    return format_date(day, "M月d日 EEE", locale=BABEL_LOCALES["zh"])


def full_date_text(day: date, language: str | None) -> str:
    """A day with its year: '20 November 2026' in English, '2026年11月20日' in Chinese."""
    if language_of(language) == "en":
        return day.strftime("%d %B %Y")
    return format_date(day, "y年M月d日", locale=BABEL_LOCALES["zh"])


def day_and_time_text(moment: datetime, tz: ZoneInfo | str, language: str | None) -> str:
    local = moment.astimezone(_zone(tz))
    if language_of(language) == "en":
        return local.strftime("%d %B at %H:%M")
    return f"{format_date(local.date(), 'M月d日', locale=BABEL_LOCALES['zh'])} {local:%H:%M}"


_RELATIVE_ZH = {0: "今天", -1: "昨天", 1: "明天"}


def day_text(day: date, today: date, language: str | None) -> str:
    if language_of(language) == "en":
        return formatting.day_text(day, today)
    return _RELATIVE_ZH.get((day - today).days) or date_text(day, "zh")


def moment_text(moment: datetime, tz: ZoneInfo | str, today: date, language: str | None) -> str:
    if language_of(language) == "en":
        return formatting.moment_text(moment, tz, today)
    local = moment.astimezone(_zone(tz))
    return f"{day_text(local.date(), today, 'zh')} {local:%H:%M}"


def local_time_text(moment: datetime, tz: ZoneInfo | str, language: str | None) -> str:
    if language_of(language) == "en":
        return formatting.local_time_text(moment, tz)
    local = moment.astimezone(_zone(tz))
    return f"{date_text(local.date(), 'zh')} {local:%H:%M}"


def all_msgids(language: str) -> Mapping[str, str]:
    """Every msgid of a language's catalog with its translation (for the catalog tests)."""
    with catalog_path(language).open("rb") as po:
        catalog = read_po(po, locale=BABEL_LOCALES.get(language, language), domain=DOMAIN)
    return {str(m.id): str(m.string) for m in catalog if m.id and isinstance(m.id, str)}
