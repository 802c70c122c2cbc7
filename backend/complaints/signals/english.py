"""The English reading of a parsed text: negation, entities, money amounts and anger points."""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from backend.complaints.findings import Quoted
from backend.complaints.signals import tables
from backend.complaints.signals.pipeline import Pipeline
from backend.i18n import N_, Phrase, phrase
from backend.waybill import looks_like_waybill

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span


def negated(doc: Doc, start: int) -> bool:
    """Whether a negation governs the word at start ("not damaged", "don't want an apology")."""
    for token in reversed(doc[max(0, start - 3) : start]):
        if token.is_punct or token.lower_ in ("but", "and", "so"):
            return False
        if token.lower_ in tables.NEGATIONS:
            return True
    return False


def entity_labels(doc: Doc) -> set[str]:
    """Labels of the rule entities, without "fire" used as a verb."""
    labels: set[str] = set()
    for ent in doc.ents:
        if ent.label_ == "SAFETY" and ent.text.lower() == "fire":
            before = doc[ent.start - 1].lower_ if ent.start > 0 else ""
            after = doc[ent.end].lower_ if ent.end < len(doc) else ""
            if before in tables.FIRE_VERB_BEFORE or after in tables.FIRE_OBJECT_AFTER:
                continue
        labels.add(ent.label_)
    return labels


def amounts(doc: Doc, origin: Sequence[int]) -> list[tuple[int, int, Decimal]]:
    """Money amounts the English rules found, with their place in the unspaced text."""
    found: list[tuple[int, int, Decimal]] = []
    for ent in doc.ents:
        if ent.label_ != "MONEY":
            continue
        amount = parse_amount(ent)
        if amount is None:
            continue
        if ent.ent_id_ == "cue" and ent.end < len(doc) and doc[ent.end].lower_ in tables.NOT_MONEY_AFTER:
            continue  # "declared 5 kg" is a weight
        found.append((origin[ent.start_char], origin[ent.end_char], amount))
    return found


def parse_amount(span: Span) -> Decimal | None:
    """The number in a money span, times "k"/"thousand"/"wan" when one follows it."""
    for i, token in enumerate(span):
        if re.match(tables.NUM_RE, token.text):
            try:
                value = Decimal(token.text.replace(",", ""))
            except InvalidOperation:
                return None
            if i + 1 < len(span) and span[i + 1].lower_ in tables.MULTIPLIERS:
                value *= tables.MULTIPLIERS[span[i + 1].lower_]
            return value
    return None


def _quoted(words: set[str]) -> Quoted:
    """The shipper's words behind a cue, as they wrote them (never translated)."""
    return Quoted(", ".join(sorted(words)))


def anger(
    doc: Doc, pipe: Pipeline, legal: bool, chinese: dict[str, set[str]]
) -> tuple[int, tuple[Phrase, ...]]:
    """Anger 0..3 from capitals, exclamation marks, the lexicon (English and Chinese words by the same
    labels), repetition and threats."""
    points = 0
    cues: list[Phrase] = []
    words = [
        t.text
        for t in doc
        if t.is_alpha
        and len(t.text) >= 2
        and t.text not in tables.CAPS_IGNORE
        and not looks_like_waybill(t.text)
    ]
    upper = [w for w in words if w.isupper()]
    if len(words) >= 3 and len(upper) / len(words) >= 0.6:
        points += 2
        cues.append(phrase("written in capitals"))
    elif sum(1 for w in upper if len(w) >= 3) >= 2:
        points += 1
        cues.append(phrase("words in capitals"))
    if doc.text.count("!") >= 3:
        points += 1
        cues.append(phrase("repeated '!'"))

    found: dict[str, set[str]] = {label: set(words) for label, words in chinese.items()}
    for match_id, start, end in pipe.anger(doc):
        found.setdefault(pipe.nlp.vocab.strings[match_id], set()).add(doc[start:end].text.lower())
    strong, moderate = found.get("strong", set()), found.get("moderate", set())
    if strong:
        points += min(5, 3 * len(strong))
        cues.append(phrase("insults or swearing: {words}", words=_quoted(strong)))
    if moderate:
        points += min(2, len(moderate))
        cues.append(phrase("strong words: {words}", words=_quoted(moderate)))
    for label, weight, cue in (
        ("mild", 1, N_("annoyance: {words}")),
        ("repeat", 1, N_("repeated complaint: {words}")),
        ("threat", 1, N_("threat to leave or go public: {words}")),
    ):
        if found.get(label):
            points += weight
            cues.append(phrase(cue, words=_quoted(found[label])))
    if legal:
        points += 1
        cues.append(phrase("legal threat"))
    anger = 0 if points == 0 else 1 if points <= 2 else 2 if points <= 4 else 3
    return anger, tuple(cues)
