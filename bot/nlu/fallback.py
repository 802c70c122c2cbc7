"""Rasa's FallbackClassifier with a higher bar for the intents whose act opens a ticket.

A hand-over or a complaint opened on a misreading costs an agent's time and counts in the monthly
report (issue 15: an alarm request handed to a person, a text to a sister opening a complaint). So
those intents need a confident reading: below their own threshold the message becomes `nlu_fallback`
like any unsure reading, and the bot asks (the rephrase offers the main paths as buttons, one tap
each). A pressed button is an intent given outright (confidence 1) and always passes.

Junk is no request either: a message that is one short chunk said over and over ("EAEAEAEA...",
"lol lol lol lol lol lol") says nothing whatever the classifier makes of its letters, so it falls back
too and opens nothing.
"""

from __future__ import annotations

import re
from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.fallback_classifier import THRESHOLD_KEY, FallbackClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

INTENT_THRESHOLDS_KEY = "intent_thresholds"
# One chunk of at most four characters, six times or more, and nothing else (spaces and punctuation
# aside): long enough that "no no no" or "哈哈哈" stay what they are.
REPEATED_CHUNK = re.compile(r"(.{1,4}?)\1{5,}")


def is_repetition(text: str) -> bool:
    """The text is one short chunk repeated at least six times (letters and digits only, any case)."""
    letters = "".join(character for character in text.lower() if character.isalnum())
    return bool(REPEATED_CHUNK.fullmatch(letters))


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class TicketAwareFallbackClassifier(FallbackClassifier):
    """FallbackClassifier whose threshold can be raised per intent (`intent_thresholds`)."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**FallbackClassifier.get_default_config(), INTENT_THRESHOLDS_KEY: {}}

    def _should_fallback(self, message: Message) -> bool:
        return is_repetition(str(message.get(TEXT) or "")) or super()._should_fallback(message)

    def _nlu_confidence_below_threshold(self, message: Message) -> tuple[bool, float]:
        intent = message.data.get(INTENT) or {}
        confidence = float(intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0)
        thresholds = self.component_config.get(INTENT_THRESHOLDS_KEY) or {}
        threshold = max(
            float(self.component_config[THRESHOLD_KEY]),
            float(thresholds.get(intent.get(INTENT_NAME_KEY), 0.0)),
        )
        return confidence < threshold, confidence
