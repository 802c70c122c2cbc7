"""What a reading of a complaint text returns: `TextSignals`, and the names of its wishes and tones."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from backend.i18n import Phrase

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
    anger_cues: tuple[Phrase, ...] = ()


def describe_intensity(anger: int) -> str:
    """Name an anger score: calm, annoyed, angry or furious."""
    return INTENSITIES[max(0, min(3, anger))]
