"""The English rule tables and word lists of the complaint reader (compiled by pipeline.py).

A rule is a small pattern language compiled to Matcher patterns:
  "a|b"  one token, any of the words     "~word"  fuzzy word (same first letter)
  "x?"   optional token                  "*"      zero to three arbitrary tokens
  "#"    a number
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

NEG = "not|n't|never|no|without|nothing"

NEGATIONS = frozenset(NEG.split("|"))

# (category, weight, negatable, rules)
CATEGORY_RULES: tuple[tuple[str, float, bool, tuple[str, ...]], ...] = (
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

WANT_RULES: dict[str, tuple[str, ...]] = {
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

FALSE_SIGNATURE_RULES: tuple[str, ...] = (
    "never|n't|not sign|signed",
    "someone|somebody|anybody|anyone|who else signed",
    "signed by someone|somebody|a stranger|another|other",
    "~forged|forgery|faked|forge",
    "fake|false signature",
    "signature * not mine|fake|forged|false",
    "not my signature",
    "who signed",
)

NOT_RECEIVED_RULES: tuple[str, ...] = (
    "never|n't|not * received|receive|got|get|arrived|came|come",
    "nothing arrived|came",
    "not received",
)

DELIVERED_STATUS_RULES: tuple[str, ...] = (
    "says|shows|showing|marked|status|tracking|app|system * delivered|signed",
    "it|which|parcel|package was|is|got signed",
    "signed for",
)

NEVER_ARRIVED_RULES: tuple[str, ...] = ("never arrived|came|turned|showed",)

LONG_WAIT_RULES: tuple[str, ...] = ("weeks|month|months",)

PHOTO_RULES: tuple[str, ...] = (
    "photo|photos|picture|pictures|pic|pics|image|images|screenshot|video|attached|attachment",
)

ANGER_STRONG = (
    "fuck", "fucking", "fucked", "shit", "shitty", "bullshit", "wtf", "asshole", "assholes", "bastard",
    "bastards", "idiot", "idiots", "idiotic", "moron", "morons", "stupid", "incompetent", "scam",
    "scammers", "fraud", "frauds", "thieves", "liars", "crooks", "pathetic", "disgrace", "disgraceful",
)  # fmt: skip

ANGER_MODERATE = (
    "unacceptable", "ridiculous", "outrageous", "disgusting", "terrible", "horrible", "awful", "worst",
    "useless", "a joke", "nonsense", "absurd", "appalling", "furious", "angry", "livid", "fed up",
    "sick of", "sick and tired", "had enough", "damn", "crap", "bloody", "hell", "shameful", "shocking",
)  # fmt: skip

ANGER_MILD = (
    "annoyed", "annoying", "frustrated", "frustrating", "disappointed", "disappointing", "upset",
    "unhappy", "not happy", "not good enough", "poor service", "bad service",
)  # fmt: skip

ANGER_REPEAT = (
    "again", "second time", "third time", "fourth time", "fifth time", "how many times", "every time",
    "yet again", "already complained", "already called", "already reported", "keep calling",
    "kept calling", "keep asking", "kept asking", "called you", "nobody answers", "no one answers",
    "nobody replies", "no one replies", "still no answer", "still no reply",
)  # fmt: skip

ANGER_THREAT = (
    "never use you again", "never use your", "never again", "bad review", "review online", "post online",
    "social media", "weibo", "tell everyone", "the media", "journalist", "newspaper", "cancel my contract",
    "cancel our contract", "cancel my account", "switch to another", "another courier", "another company",
)  # fmt: skip

LEGAL_PHRASES = (
    "sue", "suing", "sued", "lawsuit", "lawyer", "lawyers", "attorney", "solicitor", "court", "courts",
    "legal action", "legal proceedings", "take legal", "legal steps", "consumer association",
    "consumers association", "consumer council", "consumer protection", "consumer rights", "regulator",
    "regulators", "12315", "post bureau", "postal bureau", "state post bureau", "report you",
    "file a complaint with", "police", "tribunal", "arbitration",
)  # fmt: skip

INJURY_PHRASES = (
    "hurt", "hurts", "injured", "injury", "injuries", "wounded", "wound", "bleeding", "bled", "blood",
    "hospital", "hospitalised", "hospitalized", "emergency room", "a doctor", "the doctor", "stitches",
    "food poisoning", "poisoned", "allergic reaction", "scalded", "fractured", "bruised", "burns",
    "got sick", "made me sick", "made us sick", "made me ill", "made us ill", "cut myself", "cut himself",
    "cut herself", "cut themselves",
)  # fmt: skip

INJURY_TOKEN_PATTERNS: tuple[list[dict[str, Any]], ...] = (
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

SAFETY_PHRASES = (
    "fire", "on fire", "caught fire", "flames", "smoke", "smoking box", "explosion", "exploded", "explode",
    "sparks", "gas leak", "chemical", "chemicals", "acid", "toxic", "corrosive", "hazardous", "flammable",
    "fumes", "burning smell", "smell of burning", "dangerous goods", "radioactive", "poison",
)  # fmt: skip

HAZARDS = ["gas", "chemical", "chemicals", "acid", "battery", "batteries", "fuel", "petrol", "oil", "toxic"]

LEAKS = ["leak", "leaks", "leaking", "leaked", "spilled", "spilt", "spilling", "swollen", "swelling"]

SAFETY_TOKEN_PATTERNS: tuple[list[dict[str, Any]], ...] = (
    [{"LOWER": {"IN": HAZARDS}}, {"OP": "{0,2}"}, {"LOWER": {"IN": LEAKS}}],
    [{"LOWER": {"IN": LEAKS}}, {"OP": "{0,2}"}, {"LOWER": {"IN": HAZARDS}}],
)

# "fire" is a hazard, "fire the courier" is a staff complaint.
FIRE_VERB_BEFORE = frozenset({"should", "must", "to", "will", "please", "'ll", "gonna", "would", "could"})

FIRE_OBJECT_AFTER = frozenset({"him", "her", "them", "that", "this", "your", "the", "whoever"})

NUM_RE = r"^(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$"

CUR_BEFORE = ["¥", "￥", "rmb", "cny", "yuan", "rmb:", "cny:"]

CUR_AFTER = ["yuan", "rmb", "cny", "kuai", "元", "块", "quid"]

MULTIPLIERS = {
    "k": Decimal(1000),
    "thousand": Decimal(1000),
    "w": Decimal(10000),
    "wan": Decimal(10000),
    "万": Decimal(10000),
}

VALUE_CUES = ["worth", "value", "valued", "declared", "insured"]

VALUE_FILLERS = [
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
NOT_MONEY_AFTER = frozenset(
    {"kg", "kgs", "kilo", "kilos", "kilograms", "g", "grams", "lb", "lbs", "boxes", "box", "items", "pcs",
     "pieces", "parcels", "days", "day", "hours", "%", "percent", "cm", "m", "tons", "tonnes"}
)  # fmt: skip

CAPS_IGNORE = frozenset(
    {"I", "OK", "RMB", "CNY", "SMS", "ID", "SF", "EMS", "UPS", "DHL", "CEO", "USA", "PRC", "KG"}
)


CONTRACTIONS = re.compile(r"\b(did|do|does|has|have|had|was|were|is|are|could|would|should|wo|ca)nt\b", re.I)

# On a tie the more specific complaint wins: "delivered to my neighbour, it's late" is a wrong delivery.
TIE_ORDER = (
    "wrong_delivery",
    "missed_pickup",
    "billing",
    "staff_conduct",
    "damage",
    "loss",
    "delay",
    "other",
)

# Real words one typo away from a key word: they must not count as that word.
FUZZY_STOP = frozenset(
    {"broker", "brokers", "mission", "missions", "denied", "forget", "forgets", "leaning", "cracker",
     "crackers", "spooled", "spoiler", "stashed", "delated", "compensates"}
)  # fmt: skip
