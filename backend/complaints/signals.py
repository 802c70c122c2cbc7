"""Read what a complaint text says: anger, threats, harm, money, category and what the customer wants.

How the pipeline works (for the README):

* One blank English spaCy pipeline (`spacy.blank("en")`, no trained model) is created on first use and
  cached for the life of the process; nothing is built at import time.
* The tokenizer is taught to split money written together (`¥800`, `CNY450`, `500kuai`, `2k`, `3000元`).
* An **EntityRuler** marks money (`MONEY`: a currency cue before or after a number, or a number after
  "worth", "value", "valued at", "declared"), legal threats (`LEGAL`), injuries (`INJURY`) and safety
  hazards (`SAFETY`).
* A **Matcher** holds the token rules for the categories, for what the customer wants, for "never
  received" and for false signatures. Key words use spaCy's `FUZZY` operator with our own comparison
  (same first letter, one typo where swapping two letters counts as one, two typos for long words, a
  stop-list of real words such as "broker"), so "damgaed" and "delivred" still count.
* A **PhraseMatcher** holds the anger lexicon (insults, swearing, "unacceptable", threats to leave).
* Plain Python then scores: every distinct rule adds its weight to its category (a rule preceded by a
  negation such as "not damaged" is ignored), anger points come from capitals, "!!!", the lexicon,
  repetition ("third time") and threats, and are mapped to 0 calm, 1 annoyed, 2 angry, 3 furious.

Chinese (Simplified) is read beside English, not instead of it: the text is NFKC-folded first
(full-width letters, digits and "！" become ASCII), a space is put where Chinese meets Latin letters or
digits so that the English pipeline sees "EA100000034CN" and "ridiculous" inside Chinese as words,
and when the text has Chinese characters the rules of `signals_zh` read it too. Both readings feed the
same scores, flags, amounts and anger points, so "我的快递还没到" and "my parcel hasn't arrived" give the
same signals, and mixed messages get both.

The result is a frozen `TextSignals`; the analysis and the dialogue read it, nothing here touches a
database or the network.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, cast

from backend.complaints.signals_zh import CHINESE, ChineseReading, read_chinese
from backend.domain import CATEGORIES

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.matcher import Matcher, PhraseMatcher
    from spacy.tokenizer import Tokenizer
    from spacy.tokens import Doc, Span

WANTS = ("refund", "redelivery", "compensation", "apology", "report_only", "replacement")
INTENSITIES = ("calm", "annoyed", "angry", "furious")


@dataclass(frozen=True)
class TextSignals:
    """What one complaint text says, as read by the rule pipeline."""

    anger: int = 0
    legal_threat: bool = False
    injury: bool = False
    safety: bool = False
    amounts: tuple[Decimal, ...] = ()
    category_scores: dict[str, float] = field(default_factory=dict, hash=False)
    category: str | None = None
    wants: str | None = None
    false_signature: bool = False
    not_received: bool = False
    photo_offered: bool = False
    # The cues behind the anger score, so an agent can see why the bot judged the tone as it did.
    anger_cues: tuple[str, ...] = ()


def describe_intensity(anger: int) -> str:
    """Name an anger score: calm, annoyed, angry or furious."""
    return INTENSITIES[max(0, min(3, anger))]


# --------------------------------------------------------------------------------------------------
# Rule tables. A rule is a small pattern language compiled to Matcher patterns:
#   "a|b"  one token, any of the words     "~word"  fuzzy word (same first letter)
#   "x?"   optional token                  "*"      zero to three arbitrary tokens
#   "#"    a number
# --------------------------------------------------------------------------------------------------

NEG = "not|n't|never|no|without|nothing"
_NEGATIONS = frozenset(NEG.split("|"))

# (category, weight, negatable, rules)
_CATEGORY_RULES: tuple[tuple[str, float, bool, tuple[str, ...]], ...] = (
    ("delay", 1.0, True, ("late|later|overdue|slow", "~delayed|delay|delays", "stuck")),
    (
        "delay",
        2.0,
        False,
        (
            "n't|not arrived|come|here|delivered",
            "n't|not yet|still arrived|come|here|delivered",
            "still waiting",
            "waiting for|since * days|weeks|day|week",
            "where is|'s my? parcel|package|shipment|order|delivery|goods|box|快递|包裹|货",
            "no update|updates|movement|progress|scan|tracking",
            "held|stuck at|in",
            "past|after|missed the? promised|due|delivery date|day|time",
            "when will it|my arrive|come|be",
        ),
    ),
    ("delay", 0.5, False, ("never arrived|came",)),
    ("missed_pickup", 1.0, False, ("pickup|pick-up|collection", "nobody|noone came|showed|turned")),
    (
        "missed_pickup",
        3.0,
        False,
        (
            "nobody|noone came|showed|turned * collect|pick|pickup|pick-up|picking|take",
            "no one came|showed|turned * collect|pick|pickup|pick-up|picking|take",
            "pickup|pick-up|collection missed|failed|cancelled|canceled",
            "missed|failed the|my? pickup|pick-up|collection",
            "not|n't|never picked|collected",
            "n't|not|never pick|collect",
            "n't|not|never come|came|show|showed|turn|turned * collect|pick|pickup|pick-up",
            "courier|driver|rider n't|not|never come|came|show|showed|turn|turned",
            "courier|driver|rider never came|showed|turned",
            "booked|scheduled|arranged a|the|my? pickup|pick-up|collection",
        ),
    ),
    (
        "damage",
        1.5,
        True,
        (
            "~broken|broke|break",
            "~crushed|crushed|squashed",
            "~smashed|shattered",
            "wet|soaked|soggy",
            "~leaking|leaked|leak",
            "~dented|dent",
            "~spoiled|spoilt|rotten|melted",
            "~cracked|crack|cracks",
            "~damaged|damage",
            "torn|ripped|scratched|bent",
            "~destroyed",
        ),
    ),
    ("loss", 2.5, True, ("lost", "~missing", "~disappeared|vanished|stolen")),
    ("loss", 1.5, False, ("never arrived|came|turned",)),
    (
        "loss",
        3.0,
        False,
        (
            "items|item|pieces|boxes|parts|things|something|bottles missing",
            "missing item|items|box|boxes|parts|pieces|bottles",
            "short delivery|shipment|delivered",
            "short-shipped|short-delivered",
            "only # of|out of? # boxes|items|parcels|pieces|packages|bags|cartons",
            "only # of|out",
            "only received|got|arrived #",
            "never arrived|came * weeks|week|month|months",
        ),
    ),
    (
        "wrong_delivery",
        3.5,
        False,
        (
            "wrong address|person|house|building|door|flat|apartment|recipient|place|floor|company|office",
            "delivered|left|given|handed|dropped * to|at|with my? neighbour|neighbor|neighbours|neighbors",
            "delivered|left|given|handed|dropped to|at|with someone|somebody else",
            "delivered|left|given|handed|dropped to|at|with next door",
            "delivered|left|given|handed|dropped to|at|with another|a different",
            "neighbouring|neighboring|next building",
            "building|house next door",
        ),
    ),
    (
        "billing",
        1.0,
        False,
        (
            "charged|charge|charges|invoice|invoiced|bill|billed|billing|fee|fees|price|priced|quote|quoted|cost",
        ),
    ),
    (
        "billing",
        3.0,
        False,
        (
            "~overcharged|overcharge|overcharging",
            "charged|billed twice|double",
            "double charged|charge|billing|billed",
            "wrong|incorrect weight|invoice|bill|charge|amount|price",
            "weight|invoice|bill|charge|amount|price is|was? wrong|incorrect",
            "higher|more than * quote|quoted|agreed|price|promised",
            "charged me|us? for # kg|kgs|kilos",
        ),
    ),
    (
        "staff_conduct",
        3.0,
        True,
        (
            "rude|rudely|impolite|arrogant|disrespectful|unprofessional|aggressive",
            "shouted|yelled|screamed|insulted|swore|cursed",
            "attitude",
            "threw|thrown|throwing|tossed|kicked|dropped my|the|our parcel|package|box|boxes|it|goods",
            "hung up on",
        ),
    ),
)

_WANT_RULES: dict[str, tuple[str, ...]] = {
    "refund": (
        "refund|refunded|reimburse|reimbursed",
        "money back",
        "pay me|us back",
        "give|return me|us? my|our money",
        "want|need my|our money",
    ),
    "redelivery": (
        "send|deliver|bring|ship it|them|the parcel|package|goods? again",
        "resend|re-send|redeliver|re-deliver|redelivery|re-delivery|reship|re-ship",
        "bring it|them to me|my|us|our",
        "deliver it|them to me|my|us|our|the right|correct",
    ),
    "compensation": (
        "~compensate|compensation|compensated",
        "pay for the|my|our? damage|loss|it|goods|broken|damaged",
        "cover the|my|our? cost|costs|loss|damage",
        "claim|claims",
    ),
    "apology": ("apology|apologise|apologize|apologies", "say|said sorry"),
    "report_only": (
        "just letting you know",
        "just let|letting you know",
        "just want|wanted to let|report|inform|tell",
        "for your information",
        "fyi",
        "just so you know",
        "just reporting|informing",
        "no need to do|for anything",
        "do|does n't need|want anything",
    ),
    "replacement": ("replacement|replace|replaced", "new one", "send|give me|us? a? new"),
}

_FALSE_SIGNATURE_RULES: tuple[str, ...] = (
    "never|n't|not sign|signed",
    "someone|somebody|anybody|anyone|who else signed",
    "signed by someone|somebody|a stranger|another|other",
    "~forged|forgery|faked|forge",
    "fake|false signature",
    "signature * not mine|fake|forged|false",
    "not my signature",
    "who signed",
)
_NOT_RECEIVED_RULES: tuple[str, ...] = (
    "never|n't|not * received|receive|got|get|arrived|came|come",
    "nothing arrived|came",
    "not received",
)
_DELIVERED_STATUS_RULES: tuple[str, ...] = (
    "says|shows|showing|marked|status|tracking|app|system * delivered|signed",
    "it|which|parcel|package was|is|got signed",
    "signed for",
)
_NEVER_ARRIVED_RULES: tuple[str, ...] = ("never arrived|came|turned|showed",)
_LONG_WAIT_RULES: tuple[str, ...] = ("weeks|month|months",)
_PHOTO_RULES: tuple[str, ...] = (
    "photo|photos|picture|pictures|pic|pics|image|images|screenshot|video|attached|attachment",
)

_ANGER_STRONG = (
    "fuck", "fucking", "fucked", "shit", "shitty", "bullshit", "wtf", "asshole", "assholes", "bastard",
    "bastards", "idiot", "idiots", "idiotic", "moron", "morons", "stupid", "incompetent", "scam",
    "scammers", "fraud", "frauds", "thieves", "liars", "crooks", "pathetic", "disgrace", "disgraceful",
)  # fmt: skip
_ANGER_MODERATE = (
    "unacceptable", "ridiculous", "outrageous", "disgusting", "terrible", "horrible", "awful", "worst",
    "useless", "a joke", "nonsense", "absurd", "appalling", "furious", "angry", "livid", "fed up",
    "sick of", "sick and tired", "had enough", "damn", "crap", "bloody", "hell", "shameful", "shocking",
)  # fmt: skip
_ANGER_MILD = (
    "annoyed", "annoying", "frustrated", "frustrating", "disappointed", "disappointing", "upset",
    "unhappy", "not happy", "not good enough", "poor service", "bad service",
)  # fmt: skip
_ANGER_REPEAT = (
    "again", "second time", "third time", "fourth time", "fifth time", "how many times", "every time",
    "yet again", "already complained", "already called", "already reported", "keep calling",
    "kept calling", "keep asking", "kept asking", "called you", "nobody answers", "no one answers",
    "nobody replies", "no one replies", "still no answer", "still no reply",
)  # fmt: skip
_ANGER_THREAT = (
    "never use you again", "never use your", "never again", "bad review", "review online", "post online",
    "social media", "weibo", "tell everyone", "the media", "journalist", "newspaper", "cancel my contract",
    "cancel our contract", "cancel my account", "switch to another", "another courier", "another company",
)  # fmt: skip

_LEGAL_PHRASES = (
    "sue", "suing", "sued", "lawsuit", "lawyer", "lawyers", "attorney", "solicitor", "court", "courts",
    "legal action", "legal proceedings", "take legal", "legal steps", "consumer association",
    "consumers association", "consumer council", "consumer protection", "consumer rights", "regulator",
    "regulators", "12315", "post bureau", "postal bureau", "state post bureau", "report you",
    "file a complaint with", "police", "tribunal", "arbitration",
)  # fmt: skip
_INJURY_PHRASES = (
    "hurt", "hurts", "injured", "injury", "injuries", "wounded", "wound", "bleeding", "bled", "blood",
    "hospital", "hospitalised", "hospitalized", "emergency room", "a doctor", "the doctor", "stitches",
    "food poisoning", "poisoned", "allergic reaction", "scalded", "fractured", "bruised", "burns",
    "got sick", "made me sick", "made us sick", "made me ill", "made us ill", "cut myself", "cut himself",
    "cut herself", "cut themselves",
)  # fmt: skip
_INJURY_TOKEN_PATTERNS: tuple[list[dict[str, Any]], ...] = (
    [
        {"LOWER": {"IN": ["cut", "burned", "burnt", "burn", "sliced", "injured", "hurt"]}},
        {"LOWER": {"IN": ["my", "his", "her", "our", "their", "the", "a"]}, "OP": "?"},
        {
            "LOWER": {
                "IN": ["hand", "hands", "finger", "fingers", "arm", "leg", "foot", "face", "thumb", "eye"]
            }
        },
    ],
)
_SAFETY_PHRASES = (
    "fire", "on fire", "caught fire", "flames", "smoke", "smoking box", "explosion", "exploded", "explode",
    "sparks", "gas leak", "chemical", "chemicals", "acid", "toxic", "corrosive", "hazardous", "flammable",
    "fumes", "burning smell", "smell of burning", "dangerous goods", "radioactive", "poison",
)  # fmt: skip
_HAZARDS = ["gas", "chemical", "chemicals", "acid", "battery", "batteries", "fuel", "petrol", "oil", "toxic"]
_LEAKS = ["leak", "leaks", "leaking", "leaked", "spilled", "spilt", "spilling", "swollen", "swelling"]
_SAFETY_TOKEN_PATTERNS: tuple[list[dict[str, Any]], ...] = (
    [{"LOWER": {"IN": _HAZARDS}}, {"OP": "{0,2}"}, {"LOWER": {"IN": _LEAKS}}],
    [{"LOWER": {"IN": _LEAKS}}, {"OP": "{0,2}"}, {"LOWER": {"IN": _HAZARDS}}],
)
# "fire" is a hazard, "fire the courier" is a staff complaint.
_FIRE_VERB_BEFORE = frozenset({"should", "must", "to", "will", "please", "'ll", "gonna", "would", "could"})
_FIRE_OBJECT_AFTER = frozenset({"him", "her", "them", "that", "this", "your", "the", "whoever"})

_NUM_RE = r"^(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$"
_CUR_BEFORE = ["¥", "￥", "rmb", "cny", "yuan", "rmb:", "cny:"]
_CUR_AFTER = ["yuan", "rmb", "cny", "kuai", "元", "块", "quid"]
_MULTIPLIERS = {
    "k": Decimal(1000),
    "thousand": Decimal(1000),
    "w": Decimal(10000),
    "wan": Decimal(10000),
    "万": Decimal(10000),
}
_VALUE_CUES = ["worth", "value", "valued", "declared", "insured"]
_VALUE_FILLERS = [
    "at",
    "of",
    "is",
    "was",
    "about",
    "around",
    "approx",
    "approximately",
    "roughly",
    "over",
    ":",
    "=",
]
# A number after "declared" followed by one of these is a weight or a count, not money.
_NOT_MONEY_AFTER = frozenset(
    {"kg", "kgs", "kilo", "kilos", "kilograms", "g", "grams", "lb", "lbs", "boxes", "box", "items", "pcs",
     "pieces", "parcels", "days", "day", "hours", "%", "percent", "cm", "m", "tons", "tonnes"}
)  # fmt: skip

_CAPS_IGNORE = frozenset(
    {"I", "OK", "RMB", "CNY", "SMS", "ID", "SF", "EMS", "UPS", "DHL", "CEO", "USA", "PRC", "KG"}
)
_WAYBILL_RE = re.compile(r"^[A-Z]{2}\d{6,}[A-Z]{0,2}$")
_CONTRACTIONS = re.compile(r"\b(did|do|does|has|have|had|was|were|is|are|could|would|should|wo|ca)nt\b", re.I)
# On a tie the more specific complaint wins: "delivered to my neighbour, it's late" is a wrong delivery.
_TIE_ORDER = (
    "wrong_delivery",
    "missed_pickup",
    "billing",
    "staff_conduct",
    "damage",
    "loss",
    "delay",
    "other",
)


@dataclass(frozen=True)
class _Rule:
    """What a Matcher key stands for: a category, a wish or a flag, with its weight."""

    kind: str
    value: str
    weight: float
    negatable: bool


class _Pipeline:
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

        self.rules: dict[str, _Rule] = {}
        self.matcher: Matcher = Matcher(nlp.vocab, fuzzy_compare=_typo_compare)
        for category, weight, negatable, rules in _CATEGORY_RULES:
            for rule in rules:
                self._add(_Rule("category", category, weight, negatable), rule)
        for want, rules in _WANT_RULES.items():
            for rule in rules:
                self._add(_Rule("wants", want, 1.0, True), rule)
        for kind, rules in (
            ("false_signature", _FALSE_SIGNATURE_RULES),
            ("not_received", _NOT_RECEIVED_RULES),
            ("delivered_status", _DELIVERED_STATUS_RULES),
            ("photo", _PHOTO_RULES),
            ("never_arrived", _NEVER_ARRIVED_RULES),
            ("long_wait", _LONG_WAIT_RULES),
        ):
            for rule in rules:
                self._add(_Rule(kind, kind, 1.0, False), rule)

        self.anger: PhraseMatcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        for label, words in (
            ("strong", _ANGER_STRONG),
            ("moderate", _ANGER_MODERATE),
            ("mild", _ANGER_MILD),
            ("repeat", _ANGER_REPEAT),
            ("threat", _ANGER_THREAT),
        ):
            self.anger.add(label, [nlp.make_doc(w) for w in words])

    def _add(self, rule: _Rule, text: str) -> None:
        key = f"{rule.kind}:{rule.value}:{len(self.rules)}"
        self.rules[key] = rule
        self.matcher.add(key, _compile(text), greedy="LONGEST")

    @staticmethod
    def _entity_patterns() -> list[dict[str, Any]]:
        num: dict[str, Any] = {"TEXT": {"REGEX": _NUM_RE}}
        mult: dict[str, Any] = {"LOWER": {"IN": list(_MULTIPLIERS)}, "OP": "?"}
        patterns: list[dict[str, Any]] = [
            {"label": "MONEY", "id": "currency", "pattern": [{"LOWER": {"IN": _CUR_BEFORE}}, num, mult]},
            {"label": "MONEY", "id": "currency", "pattern": [num, mult, {"LOWER": {"IN": _CUR_AFTER}}]},
            {
                "label": "MONEY",
                "id": "cue",
                "pattern": [
                    {"LOWER": {"IN": _VALUE_CUES}},
                    {"LOWER": {"IN": [*_VALUE_FILLERS, "value", "declared"]}, "OP": "{0,3}"},
                    {"LOWER": {"IN": _CUR_BEFORE}, "OP": "?"},
                    num,
                    mult,
                    {"LOWER": {"IN": _CUR_AFTER}, "OP": "?"},
                ],
            },
        ]
        for label, phrases in (
            ("LEGAL", _LEGAL_PHRASES),
            ("INJURY", _INJURY_PHRASES),
            ("SAFETY", _SAFETY_PHRASES),
        ):
            patterns.extend({"label": label, "pattern": p} for p in phrases)
        patterns.extend({"label": "INJURY", "pattern": p} for p in _INJURY_TOKEN_PATTERNS)
        patterns.extend({"label": "SAFETY", "pattern": p} for p in _SAFETY_TOKEN_PATTERNS)
        return patterns


def _compile(rule: str) -> list[list[dict[str, Any]]]:
    """Turn one rule of the small pattern language into Matcher patterns (one per fuzzy alternative)."""
    patterns: list[list[dict[str, Any]]] = [[]]
    for part in rule.split():
        choices: list[dict[str, Any]]
        if part == "*":
            choices = [{"OP": "{0,3}"}]
        elif part == "#":
            choices = [{"TEXT": {"REGEX": _NUM_RE}}]
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


# Real words one typo away from a key word: they must not count as that word.
_FUZZY_STOP = frozenset(
    {"broker", "brokers", "mission", "missions", "denied", "forget", "forgets", "leaning", "cracker",
     "crackers", "spooled", "spoiler", "stashed", "delated", "compensates"}
)  # fmt: skip


def _typo_compare(input_text: str, pattern_text: str, fuzzy: int = -1) -> bool:
    """Fuzzy comparison for the Matcher: same first letter, one typo (two for long words)."""
    if input_text == pattern_text:
        return True
    if len(input_text) < 4 or input_text[0] != pattern_text[0] or input_text in _FUZZY_STOP:
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
_reading = threading.Lock()
_pipeline_instance: _Pipeline | None = None


def _pipeline() -> _Pipeline:
    """The process-wide pipeline, created on first use."""
    global _pipeline_instance
    if _pipeline_instance is None:
        with _lock:
            if _pipeline_instance is None:
                _pipeline_instance = _Pipeline()
    return _pipeline_instance


def warm_up() -> None:
    """Build the pipeline now (about a second), e.g. when the action server starts, not on a first message."""
    _pipeline()


def read_signals(text: str) -> TextSignals:
    """Read anger, threats, harm, amounts, category and wishes from one complaint text."""
    if not text or not text.strip():
        return TextSignals(category_scores={c: 0.0 for c in CATEGORIES})
    pipe = _pipeline()
    # The actions run in worker threads; spaCy does not promise that one pipeline is thread-safe.
    with _reading:
        return _read(pipe, text)


def _read(pipe: _Pipeline, text: str) -> TextSignals:
    base = _normalise(unicodedata.normalize("NFKC", text))
    spaced, origin = _space_scripts(base)
    doc = pipe.nlp(spaced)
    chinese = read_chinese(base) if CHINESE.search(base) else ChineseReading()

    scores = {c: 0.0 for c in CATEGORIES}
    seen: set[str] = set()
    wants: list[tuple[int, str]] = []
    flags: set[str] = set()
    for match_id, start, _end in pipe.matcher(doc):
        key = pipe.nlp.vocab.strings[match_id]
        rule = pipe.rules[key]
        if rule.negatable and _negated(doc, start):
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

    labels = _entity_labels(doc)
    legal = "LEGAL" in labels or chinese.legal
    anger, cues = _anger(doc, pipe, legal, chinese.anger)
    best = max(scores.values())
    category = None
    if best >= 1.0:
        category = min((c for c in CATEGORIES if scores[c] == best), key=_TIE_ORDER.index)
    return TextSignals(
        anger=anger,
        legal_threat=legal,
        injury="INJURY" in labels or chinese.injury,
        safety="SAFETY" in labels or chinese.safety,
        amounts=_merged_amounts(_amounts(doc, origin), chinese.amounts),
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
    return _CONTRACTIONS.sub(lambda m: f"{m.group(1)}n't", text)


# Where Chinese meets anything but a space or a digit (digits stay with 元 and 块 for the money rules).
_HAN = "\u3400-\u4dbf\u4e00-\u9fff"
_SCRIPT_EDGE = re.compile(rf"(?<=[{_HAN}])(?=[^\s\d{_HAN}])|(?<=[^\s\d{_HAN}])(?=[{_HAN}])")


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


def _negated(doc: Doc, start: int) -> bool:
    """Whether a negation governs the word at start ("not damaged", "don't want an apology")."""
    for token in reversed(doc[max(0, start - 3) : start]):
        if token.is_punct or token.lower_ in ("but", "and", "so"):
            return False
        if token.lower_ in _NEGATIONS:
            return True
    return False


def _entity_labels(doc: Doc) -> set[str]:
    """Labels of the rule entities, without "fire" used as a verb."""
    labels: set[str] = set()
    for ent in doc.ents:
        if ent.label_ == "SAFETY" and ent.text.lower() == "fire":
            before = doc[ent.start - 1].lower_ if ent.start > 0 else ""
            after = doc[ent.end].lower_ if ent.end < len(doc) else ""
            if before in _FIRE_VERB_BEFORE or after in _FIRE_OBJECT_AFTER:
                continue
        labels.add(ent.label_)
    return labels


def _amounts(doc: Doc, origin: Sequence[int]) -> list[tuple[int, int, Decimal]]:
    """Money amounts the English rules found, with their place in the unspaced text."""
    found: list[tuple[int, int, Decimal]] = []
    for ent in doc.ents:
        if ent.label_ != "MONEY":
            continue
        amount = _parse_amount(ent)
        if amount is None:
            continue
        if ent.ent_id_ == "cue" and ent.end < len(doc) and doc[ent.end].lower_ in _NOT_MONEY_AFTER:
            continue  # "declared 5 kg" is a weight
        found.append((origin[ent.start_char], origin[ent.end_char], amount))
    return found


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


def _parse_amount(span: Span) -> Decimal | None:
    """The number in a money span, times "k"/"thousand"/"wan" when one follows it."""
    for i, token in enumerate(span):
        if re.match(_NUM_RE, token.text):
            try:
                value = Decimal(token.text.replace(",", ""))
            except InvalidOperation:
                return None
            if i + 1 < len(span) and span[i + 1].lower_ in _MULTIPLIERS:
                value *= _MULTIPLIERS[span[i + 1].lower_]
            return value
    return None


def _anger(
    doc: Doc, pipe: _Pipeline, legal: bool, chinese: dict[str, set[str]]
) -> tuple[int, tuple[str, ...]]:
    """Anger 0..3 from capitals, exclamation marks, the lexicon (English and Chinese words by the same
    labels), repetition and threats."""
    points = 0
    cues: list[str] = []
    words = [
        t.text
        for t in doc
        if t.is_alpha and len(t.text) >= 2 and t.text not in _CAPS_IGNORE and not _WAYBILL_RE.match(t.text)
    ]
    upper = [w for w in words if w.isupper()]
    if len(words) >= 3 and len(upper) / len(words) >= 0.6:
        points += 2
        cues.append("written in capitals")
    elif sum(1 for w in upper if len(w) >= 3) >= 2:
        points += 1
        cues.append("words in capitals")
    if doc.text.count("!") >= 3:
        points += 1
        cues.append("repeated '!'")

    found: dict[str, set[str]] = {label: set(words) for label, words in chinese.items()}
    for match_id, start, end in pipe.anger(doc):
        found.setdefault(pipe.nlp.vocab.strings[match_id], set()).add(doc[start:end].text.lower())
    strong, moderate = found.get("strong", set()), found.get("moderate", set())
    if strong:
        points += min(5, 3 * len(strong))
        cues.append("insults or swearing: " + ", ".join(sorted(strong)))
    if moderate:
        points += min(2, len(moderate))
        cues.append("strong words: " + ", ".join(sorted(moderate)))
    for label, weight, cue in (
        ("mild", 1, "annoyance"),
        ("repeat", 1, "repeated complaint"),
        ("threat", 1, "threat to leave or go public"),
    ):
        if found.get(label):
            points += weight
            cues.append(f"{cue}: " + ", ".join(sorted(found[label])))
    if legal:
        points += 1
        cues.append("legal threat")
    anger = 0 if points == 0 else 1 if points <= 2 else 2 if points <= 4 else 3
    return anger, tuple(cues)


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
        cues.insert(0, f"strong anger in {sum(1 for value in angers if value >= 2)} messages")
    return replace(whole, anger=anger, anger_cues=tuple(cues))
