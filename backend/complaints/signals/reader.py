"""`read_signals` and `read_complaint`: the English pipeline and the Chinese rules merged into one reading."""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal

from backend.complaints.signals import english, tables
from backend.complaints.signals.chinese import ChineseReading, read_chinese
from backend.complaints.signals.pipeline import Pipeline, pipeline
from backend.complaints.signals.result import TextSignals
from backend.domain import CATEGORIES
from backend.i18n import phrase
from backend.language import CHINESE_CHARACTER, HAN

_reading = threading.Lock()


def read_signals(text: str) -> TextSignals:
    """Read anger, threats, harm, amounts, category and wishes from one complaint text."""
    if not text or not text.strip():
        return TextSignals(category_scores={c: 0.0 for c in CATEGORIES})
    pipe = pipeline()
    # The actions run in worker threads; spaCy does not promise that one pipeline is thread-safe.
    with _reading:
        return _read(pipe, text)


def _read(pipe: Pipeline, text: str) -> TextSignals:
    base = _normalise(unicodedata.normalize("NFKC", text))
    spaced, origin = _space_scripts(base)
    doc = pipe.nlp(spaced)
    chinese = read_chinese(base) if CHINESE_CHARACTER.search(base) else ChineseReading()

    scores = {c: 0.0 for c in CATEGORIES}
    seen: set[str] = set()
    wants: list[tuple[int, str]] = []
    flags: set[str] = set()
    for match_id, start, _end in pipe.matcher(doc):
        key = pipe.nlp.vocab.strings[match_id]
        rule = pipe.rules[key]
        if rule.negatable and english.negated(doc, start):
            continue
        if rule.kind == "category":
            # A rule counts once however often it fires: repetition is anger, not evidence.
            if key not in seen:
                seen.add(key)
                scores[rule.value] += rule.weight
        elif rule.kind == "wants":
            wants.append((origin[doc[start].idx], rule.value))
        else:
            flags.add(rule.kind)
    for name, weight in chinese.scores.items():
        scores[name] += weight
    wants.extend(chinese.wants)
    flags |= chinese.flags

    not_received = "not_received" in flags
    mentions_signed = chinese.signed or any(t.lower_ in ("signed", "signature", "sign") for t in doc)
    false_signature = "false_signature" in flags or (not_received and mentions_signed)
    if false_signature:
        scores["wrong_delivery"] += 3.0
    elif not_received and "delivered_status" in flags:
        # "It says delivered but I never got it" is a wrong delivery, whatever else was said.
        scores["wrong_delivery"] += 3.0

    if {"never_arrived", "long_wait"} <= flags:
        # "Never arrived" after weeks is a loss, not a late parcel.
        scores["loss"] += 3.0

    labels = english.entity_labels(doc)
    legal = "LEGAL" in labels or chinese.legal
    anger, cues = english.anger(doc, pipe, legal, chinese.anger)
    best = max(scores.values())
    category = None
    if best >= 1.0:
        category = min((c for c in CATEGORIES if scores[c] == best), key=tables.TIE_ORDER.index)
    return TextSignals(
        anger=anger,
        legal_threat=legal,
        injury="INJURY" in labels or chinese.injury,
        safety="SAFETY" in labels or chinese.safety,
        amounts=_merged_amounts(english.amounts(doc, origin), chinese.amounts),
        category_scores=scores,
        category=category,
        wants=min(wants)[1] if wants else None,
        false_signature=false_signature,
        not_received=not_received,
        photo_offered="photo" in flags,
        anger_cues=cues,
    )


def _normalise(text: str) -> str:
    """Straighten quotes and restore apostrophes people leave out ("didnt")."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    return tables.CONTRACTIONS.sub(lambda m: f"{m.group(1)}n't", text)


# Where Chinese meets anything but a space or a digit (digits stay with 元 and 块 for the money rules).
_SCRIPT_EDGE = re.compile(rf"(?<=[{HAN}])(?=[^\s\d{HAN}])|(?<=[^\s\d{HAN}])(?=[{HAN}])")


def _space_scripts(text: str) -> tuple[str, list[int]]:
    """A space where Chinese meets Latin letters or digits, and each character's offset in `text`.

    Chinese runs on without spaces, so without this the English tokenizer would read
    "快递EA100000034CN还没到" as one word.
    """
    edges = [m.start() for m in _SCRIPT_EDGE.finditer(text)]
    if not edges:
        return text, list(range(len(text) + 1))
    parts: list[str] = []
    origin: list[int] = []
    previous = 0
    for edge in edges:
        parts.append(text[previous:edge])
        origin.extend(range(previous, edge))
        parts.append(" ")
        origin.append(edge)
        previous = edge
    parts.append(text[previous:])
    origin.extend(range(previous, len(text) + 1))
    return "".join(parts), origin


def _merged_amounts(
    english: list[tuple[int, int, Decimal]], chinese: list[tuple[int, int, Decimal]]
) -> tuple[Decimal, ...]:
    """Amounts in the order they appear, each once; where both readers saw one, the Chinese reading
    (which knows 两千 and 1.2万) wins."""
    kept = chinese + [a for a in english if not any(a[0] < c[1] and c[0] < a[1] for c in chinese)]
    found: list[Decimal] = []
    for _start, _end, amount in sorted(kept, key=lambda a: a[0]):
        if amount not in found:
            found.append(amount)
    return tuple(found)


def read_complaint(messages: Sequence[str]) -> TextSignals:
    """The signals of a whole complaint: everything the shipper said in it, not one message.

    Facts (threats, harm, amounts, category cues, wishes) count wherever they were said. Tone is read
    message by message, because capitals and "!!!" belong to one message: the complaint's anger is its
    angriest message, and strong anger (2) in two or more messages is "strong, repeated anger" (3), the
    serious level of DOMAIN.md. One angry sentence alone stays below it unless it is furious on its own.
    """
    texts = [text for text in messages if text and text.strip()]
    whole = read_signals("\n".join(texts))
    tones = [read_signals(text) for text in texts]
    angers = [tone.anger for tone in tones]
    anger = max(angers, default=0)
    if sum(1 for value in angers if value >= 2) >= 2:
        anger = 3
    cues = list(dict.fromkeys(cue for tone in tones for cue in tone.anger_cues))
    if anger == 3 and max(angers, default=0) < 3:
        cues.insert(0, phrase("strong anger in {n} messages", n=sum(1 for value in angers if value >= 2)))
    return replace(whole, anger=anger, anger_cues=tuple(cues))
