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
and when the text has Chinese characters the Chinese rules (chinese.py) read it too. Both readings feed the
same scores, flags, amounts and anger points, so "我的快递还没到" and "my parcel hasn't arrived" give the
same signals, and mixed messages get both.

The result is a frozen `TextSignals`; the analysis and the dialogue read it, nothing here touches a
database or the network.

Where things are: result.py (`TextSignals`), tables.py and tables_zh.py (the English and Chinese rule
tables and word lists), pipeline.py (the spaCy pipeline, `warm_up`), english.py and chinese.py (the two
readings), reader.py (`read_signals`, `read_complaint`: both readings merged).
"""

from __future__ import annotations

from backend.complaints.signals.chinese import chinese_number
from backend.complaints.signals.pipeline import warm_up
from backend.complaints.signals.reader import read_complaint, read_signals
from backend.complaints.signals.result import INTENSITIES, WANTS, TextSignals, describe_intensity

__all__ = [
    "INTENSITIES",
    "WANTS",
    "TextSignals",
    "chinese_number",
    "describe_intensity",
    "read_complaint",
    "read_signals",
    "warm_up",
]
