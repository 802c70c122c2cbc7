"""Read a Simplified Chinese complaint: category cues, anger, threats, harm, money and wishes.

Why rules over the characters and not a spaCy pipeline: `spacy.blank("zh")` works offline, but only
with its default character segmenter (jieba and pkuseg need downloads), so every token is one
character and a phrase rule over tokens is the same as a pattern over the text, with more machinery.
Chinese has no spaces and no inflection to tolerate, and shippers mix Latin waybills and English words
into it, so plain regular expressions over the NFKC-folded text are the robust reader here: they see
"我的快递EA100000034CN还没到" and "签收了但没收到" the same whatever surrounds them.

How it reads (`read_chinese`, called by `read_signals` (reader.py) for any text with Chinese in it;
the rules are in tables_zh.py):

* A few chat spellings are folded first (木有 → 没有, 肿么 → 怎么, 神马 → 什么).
* Each rule is one regular expression with a weight for a category; a rule counts once however often
  it fires, and a rule marked negatable is ignored when a negation stands just before it ("没有破损"
  is not damage, "不用道歉" is not a wish for an apology). The negation window stops at punctuation
  and at 但/可/却.
* Anger comes from a lexicon of mild, moderate and strong words, repetition ("又", "第三次") and
  threats to leave or post a bad review; the scoring is the English one (`english.anger`).
* Money is a number with a currency (800元, 3000块, ¥1,200), after a value cue (货值3000, 赔我五百), or
  a round amount in thousands (1.2万, 三千); Chinese numerals are read, colloquial ones too (一千五 is
  1500, 一万二 is 12000). A number followed by a unit that is not money (5公斤, 3天, 2件) is not money.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from backend.complaints.signals import tables_zh


@dataclass
class ChineseReading:
    """What the Chinese rules found; `read_signals` merges it with the English reading of the same text."""

    scores: dict[str, float] = field(default_factory=dict)
    wants: list[tuple[int, str]] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)
    signed: bool = False
    legal: bool = False
    injury: bool = False
    safety: bool = False
    # (start, end, amount) in the text's own offsets.
    amounts: list[tuple[int, int, Decimal]] = field(default_factory=list)
    # Anger cues by lexicon label (strong, moderate, mild, repeat, threat).
    anger: dict[str, set[str]] = field(default_factory=dict)


def _compiled(rules: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(rule) for rule in rules)


_CATEGORY_PATTERNS = tuple(
    (category, weight, negatable, _compiled(rules))
    for category, weight, negatable, rules in tables_zh.CATEGORY_RULES
)

_WANT_PATTERNS = {want: _compiled(rules) for want, rules in tables_zh.WANT_RULES.items()}

_FLAG_PATTERNS = {flag: _compiled(rules) for flag, rules in tables_zh.FLAG_RULES.items()}

_ANGER_PATTERNS = {label: _compiled(rules) for label, rules in tables_zh.ANGER.items()}


def _fold_chat(text: str) -> str:
    """Chat spellings as the standard words; each keeps its length, so offsets stay the text's."""
    for chat, standard in tables_zh.CHAT_SPELLINGS:
        text = text.replace(chat, standard)
    return text


def _negated(text: str, start: int) -> bool:
    return tables_zh.NEGATION.search(text[max(0, start - tables_zh.WINDOW) : start]) is not None


def _first_unnegated(pattern: re.Pattern[str], text: str, negatable: bool) -> int | None:
    """Where the rule first fires without a negation before it, or None."""
    for match in pattern.finditer(text):
        if not (negatable and _negated(text, match.start())):
            return match.start()
    return None


def read_chinese(text: str) -> ChineseReading:
    """The Chinese rules over NFKC-folded text (the caller folds it; offsets are the text's)."""
    text = _fold_chat(text)
    reading = ChineseReading()
    for category, weight, negatable, patterns in _CATEGORY_PATTERNS:
        for pattern in patterns:
            if _first_unnegated(pattern, text, negatable) is not None:
                reading.scores[category] = reading.scores.get(category, 0.0) + weight
    for want, patterns in _WANT_PATTERNS.items():
        for pattern in patterns:
            at = _first_unnegated(pattern, text, negatable=want != "report_only")
            if at is not None:
                reading.wants.append((at, want))
    for flag, patterns in _FLAG_PATTERNS.items():
        if any(p.search(text) for p in patterns):
            reading.flags.add(flag)
    reading.signed = tables_zh.SIGNED.search(text) is not None
    reading.legal = tables_zh.LEGAL.search(text) is not None
    reading.injury = tables_zh.INJURY.search(text) is not None
    reading.safety = tables_zh.SAFETY.search(text) is not None
    reading.amounts = _amounts(text)
    reading.anger = _anger_cues(text)
    return reading


def _anger_cues(text: str) -> dict[str, set[str]]:
    """The lexicon's words in the text by label; overlapping finds count once, the longest."""
    found = [
        (match.start(), match.end(), label)
        for label, patterns in _ANGER_PATTERNS.items()
        for pattern in patterns
        for match in pattern.finditer(text)
        if not (label == "moderate" and _negated(text, match.start()))  # "不过分", "不离谱"
    ]
    cues: dict[str, set[str]] = {}
    taken_until = -1
    for start, end, label in sorted(found, key=lambda f: (f[0], f[0] - f[1])):
        if start < taken_until:
            continue
        taken_until = end
        cues.setdefault(label, set()).add(text[start:end])
    return cues


def chinese_number(numeral: str) -> int | None:
    """A Chinese numeral as an integer: 三千 3000, 两千五百 2500, 一千五 1500, 一万二 12000, 十五 15."""
    if (
        not numeral
        or numeral[0] in "百千万"
        or any(c not in tables_zh.CN_DIGIT and c not in tables_zh.CN_UNIT for c in numeral)
    ):
        return None
    total = section = digit = 0
    last_unit = 0
    previous = ""
    for char in numeral:
        if char in tables_zh.CN_DIGIT:
            digit = tables_zh.CN_DIGIT[char]
        else:
            unit = tables_zh.CN_UNIT[char]
            if unit == 10000:
                total += (section + digit) * unit
                section = 0
            else:
                section += (digit or (1 if unit == 10 else 0)) * unit
            digit = 0
            last_unit = unit
        previous = char
    if digit and last_unit >= 100 and previous in tables_zh.CN_DIGIT and numeral[-2:-1] in tables_zh.CN_UNIT:
        digit *= last_unit // 10  # colloquial: 一千五 is one thousand five hundred
    value = total + section + digit
    return value or None


def _amounts(text: str) -> list[tuple[int, int, Decimal]]:
    found: list[tuple[int, int, Decimal]] = []
    for match in tables_zh.AMOUNT.finditer(text):
        value, round_amount = _value(match)
        if value is None:
            continue
        currency = match.group("pre") or match.group("post")
        after = text[match.end() :]
        if not match.group("post") and tables_zh.NOT_MONEY_AFTER.match(after):
            continue
        # A value cue makes a plain number money ("货值3000"), but not a small one ("不值一提").
        cued = (
            value >= 10
            and tables_zh.VALUE_CUE.search(text[max(0, match.start() - 10) : match.start()]) is not None
        )
        bare = round_amount and tables_zh.AFTER_BARE.match(after) is not None
        if currency or cued or bare:
            found.append((match.start(), match.end(), value))
    return found


def _value(match: re.Match[str]) -> tuple[Decimal | None, bool]:
    """The amount of one number match, and whether it is a round amount in thousands or more."""
    if match.group("cn"):
        number = chinese_number(match.group("cn"))
        if number is None:
            return None, False
        return Decimal(number), ("千" in match.group("cn") or "万" in match.group("cn"))
    try:
        value = Decimal(match.group("num").replace(",", ""))
    except InvalidOperation:
        return None, False
    mult = match.group("mult")
    if mult:
        value *= tables_zh.MULTIPLIER[mult]
    return (value if value > 0 else None), bool(mult)
