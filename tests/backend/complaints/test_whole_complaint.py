"""The analysis reads the whole complaint: every shipper message, tone message by message."""

from __future__ import annotations

import pytest

from backend.complaints import ComplaintFacts, analyse
from backend.complaints.signals import read_complaint, read_signals

from .demo import NOW, base_shipment

LATE = {"promised_date": -2}
MILD = "it's late again, a bit annoying"
ANGRY = "This is ridiculous and unacceptable!!!"
ANGRIER = "I am fed up with your terrible service!!!"
FURIOUS = "YOU BLOODY IDIOTS, WHERE IS MY PARCEL"


def level(messages: list[str]) -> str:
    facts = ComplaintFacts("delay", "\n".join(messages))
    return analyse(base_shipment(**LATE), facts, now=NOW, signals=read_complaint(messages)).level


def test_one_angry_message_is_angry_not_furious() -> None:
    assert read_signals(ANGRY).anger == 2
    assert read_complaint([ANGRY]).anger == 2
    assert level([ANGRY]) == "general"


def test_mild_words_in_every_message_stay_mild() -> None:
    assert read_complaint([MILD, MILD, "annoyed, frankly"]).anger <= 1
    assert level([MILD, MILD, "annoyed, frankly"]) == "general"


def test_strong_anger_in_two_messages_is_repeated_anger() -> None:
    signals = read_complaint([ANGRY, "ok", ANGRIER])
    assert signals.anger == 3
    assert signals.anger_cues[0].text("en") == "strong anger in 2 messages"
    assert level([ANGRY, "ok", ANGRIER]) == "serious"


def test_a_furious_opener_alone_is_serious() -> None:
    """The short all-capitals insults count even though they are too short to be the description."""
    assert read_complaint([FURIOUS, "EA100000034CN"]).anger == 3
    assert level([FURIOUS, "EA100000034CN", "a refund"]) == "serious"


def test_tone_is_read_per_message_not_over_the_concatenation() -> None:
    """Two calm messages with one '!' each are not "repeated '!'" once joined."""
    assert read_complaint(["late!", "still late!", "really late!"]).anger == 0


@pytest.mark.parametrize(
    ("messages", "flag"),
    [
        (["it's late", "if this goes on I'll call my lawyer"], "legal_threat"),
        (["the box was crushed", "and I cut myself on the glass"], "injury"),
    ],
)
def test_facts_count_in_any_message(messages: list[str], flag: str) -> None:
    assert getattr(read_complaint(messages), flag)
    assert not getattr(read_signals(messages[0]), flag)


def test_amounts_and_wishes_from_later_messages() -> None:
    signals = read_complaint(["my vase arrived broken", "it was worth 800 yuan", "I want compensation"])
    assert 800 in signals.amounts
    assert signals.wants == "compensation"
    assert signals.category == "damage"


def test_no_messages_no_signals() -> None:
    assert read_complaint([]).anger == 0
    assert read_complaint(["", "  "]).category is None
