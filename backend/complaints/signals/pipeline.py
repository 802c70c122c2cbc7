"""The spaCy pipeline of the complaint reader: built once per process on first use (or by `warm_up`)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from backend.complaints.signals import tables

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.matcher import Matcher, PhraseMatcher
    from spacy.tokenizer import Tokenizer


@dataclass(frozen=True)
class Rule:
    """What a Matcher key stands for: a category, a wish or a flag, with its weight."""

    kind: str
    value: str
    weight: float
    negatable: bool


class Pipeline:
    """The spaCy pipeline and its matchers, built once."""

    def __init__(self) -> None:
        import spacy
        from spacy.matcher import Matcher, PhraseMatcher
        from spacy.util import compile_infix_regex, compile_prefix_regex, compile_suffix_regex

        nlp: Language = spacy.blank("en")
        prefixes = [*(nlp.Defaults.prefixes or ()), "￥", r"(?i:rmb|cny)(?=\d)"]
        suffixes = [
            *(nlp.Defaults.suffixes or ()),
            r"(?<=[0-9])(?i:yuan|rmb|cny|kuai|k|w|wan)",
            r"(?<=[0-9])(?:元|块|万)",
        ]
        tokenizer = cast("Tokenizer", nlp.tokenizer)
        tokenizer.prefix_search = compile_prefix_regex(prefixes).search
        tokenizer.suffix_search = compile_suffix_regex(suffixes).search
        # Chinese runs on without spaces ("3000元的花瓶"): cut the currency character out of the run.
        infixes = [*(nlp.Defaults.infixes or ()), r"(?<=[0-9])[元块万]"]
        tokenizer.infix_finditer = compile_infix_regex(infixes).finditer

        ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER"})
        ruler.add_patterns(self._entity_patterns())  # type: ignore[attr-defined]
        self.nlp = nlp

        self.rules: dict[str, Rule] = {}
        self.matcher: Matcher = Matcher(nlp.vocab, fuzzy_compare=_typo_compare)
        for category, weight, negatable, rules in tables.CATEGORY_RULES:
            for rule in rules:
                self._add(Rule("category", category, weight, negatable), rule)
        for want, rules in tables.WANT_RULES.items():
            for rule in rules:
                self._add(Rule("wants", want, 1.0, True), rule)
        for kind, rules in (
            ("false_signature", tables.FALSE_SIGNATURE_RULES),
            ("not_received", tables.NOT_RECEIVED_RULES),
            ("delivered_status", tables.DELIVERED_STATUS_RULES),
            ("photo", tables.PHOTO_RULES),
            ("never_arrived", tables.NEVER_ARRIVED_RULES),
            ("long_wait", tables.LONG_WAIT_RULES),
        ):
            for rule in rules:
                self._add(Rule(kind, kind, 1.0, False), rule)

        self.anger: PhraseMatcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        for label, words in (
            ("strong", tables.ANGER_STRONG),
            ("moderate", tables.ANGER_MODERATE),
            ("mild", tables.ANGER_MILD),
            ("repeat", tables.ANGER_REPEAT),
            ("threat", tables.ANGER_THREAT),
        ):
            self.anger.add(label, [nlp.make_doc(w) for w in words])

    def _add(self, rule: Rule, text: str) -> None:
        key = f"{rule.kind}:{rule.value}:{len(self.rules)}"
        self.rules[key] = rule
        self.matcher.add(key, _compile(text), greedy="LONGEST")

    @staticmethod
    def _entity_patterns() -> list[dict[str, Any]]:
        num: dict[str, Any] = {"TEXT": {"REGEX": tables.NUM_RE}}
        mult: dict[str, Any] = {"LOWER": {"IN": list(tables.MULTIPLIERS)}, "OP": "?"}
        patterns: list[dict[str, Any]] = [
            {
                "label": "MONEY",
                "id": "currency",
                "pattern": [{"LOWER": {"IN": tables.CUR_BEFORE}}, num, mult],
            },
            {"label": "MONEY", "id": "currency", "pattern": [num, mult, {"LOWER": {"IN": tables.CUR_AFTER}}]},
            {
                "label": "MONEY",
                "id": "cue",
                "pattern": [
                    {"LOWER": {"IN": tables.VALUE_CUES}},
                    {"LOWER": {"IN": [*tables.VALUE_FILLERS, "value", "declared"]}, "OP": "{0,3}"},
                    {"LOWER": {"IN": tables.CUR_BEFORE}, "OP": "?"},
                    num,
                    mult,
                    {"LOWER": {"IN": tables.CUR_AFTER}, "OP": "?"},
                ],
            },
        ]
        for label, phrases in (
            ("LEGAL", tables.LEGAL_PHRASES),
            ("INJURY", tables.INJURY_PHRASES),
            ("SAFETY", tables.SAFETY_PHRASES),
        ):
            patterns.extend({"label": label, "pattern": p} for p in phrases)
        patterns.extend({"label": "INJURY", "pattern": p} for p in tables.INJURY_TOKEN_PATTERNS)
        patterns.extend({"label": "SAFETY", "pattern": p} for p in tables.SAFETY_TOKEN_PATTERNS)
        return patterns


def _compile(rule: str) -> list[list[dict[str, Any]]]:
    """Turn one rule of the small pattern language into Matcher patterns (one per fuzzy alternative)."""
    patterns: list[list[dict[str, Any]]] = [[]]
    for part in rule.split():
        choices: list[dict[str, Any]]
        if part == "*":
            choices = [{"OP": "{0,3}"}]
        elif part == "#":
            choices = [{"TEXT": {"REGEX": tables.NUM_RE}}]
        else:
            optional = part.endswith("?") and len(part) > 1
            words = (part[:-1] if optional else part).split("|")
            exact = [w.lstrip("~") for w in words]
            choices = [{"LOWER": {"IN": exact}} if len(exact) > 1 else {"LOWER": exact[0]}]
            # The typo-tolerant form of the lead word; _typo_compare decides how far it may stray.
            choices.extend({"LOWER": {"FUZZY": w[1:]}} for w in words if w.startswith("~"))
            if optional:
                choices = [{**c, "OP": "?"} for c in choices]
        patterns = [[*p, c] for p in patterns for c in choices]
    return patterns


def _typo_compare(input_text: str, pattern_text: str, fuzzy: int = -1) -> bool:
    """Fuzzy comparison for the Matcher: same first letter, one typo (two for long words)."""
    if input_text == pattern_text:
        return True
    if len(input_text) < 4 or input_text[0] != pattern_text[0] or input_text in tables.FUZZY_STOP:
        return False
    max_edits = fuzzy if fuzzy >= 0 else (1 if len(pattern_text) < 9 else 2)
    if abs(len(input_text) - len(pattern_text)) > max_edits:
        return False
    return _osa_distance(input_text, pattern_text) <= max_edits


def _osa_distance(a: str, b: str) -> int:
    """Edit distance where swapping two neighbouring letters counts as one typo ("damgaed")."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[len(b)]


_lock = threading.Lock()
_pipeline_instance: Pipeline | None = None


def pipeline() -> Pipeline:
    """The process-wide pipeline, created on first use."""
    global _pipeline_instance
    if _pipeline_instance is None:
        with _lock:
            if _pipeline_instance is None:
                _pipeline_instance = Pipeline()
    return _pipeline_instance


def warm_up() -> None:
    """Build the pipeline now (about a second), e.g. when the action server starts, not on a first message."""
    pipeline()
