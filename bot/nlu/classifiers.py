"""Rasa's logistic regression intent classifier, made safe for messages without features.

An empty or blank message has no tokens, so some featurizers give it no features (the regexes, the
sentence encoder) while others give zeros, and Rasa's `LogisticRegressionClassifier` then fails on a
row of the wrong width. Such a message gets no intent and confidence 0 here, so the FallbackClassifier
after it predicts `nlu_fallback` and the bot asks to rephrase. Everything else is Rasa's classifier.
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class SafeLogisticRegressionClassifier(LogisticRegressionClassifier):
    """LogisticRegressionClassifier that leaves messages without text features unclassified."""

    def process(self, messages: list[Message]) -> list[Message]:
        complete = [message for message in messages if self._has_all_features(message)]
        if complete:
            super().process(complete)
        classified = {id(message) for message in complete}
        for message in messages:
            if id(message) not in classified:
                message.set(INTENT, {"name": None, "confidence": 0.0}, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [], add_to_output=True)
        return messages

    def _has_all_features(self, message: Message) -> bool:
        """The message has text and its features are as wide as the training data's."""
        if not (message.get(TEXT) or "").strip():
            return False
        expected = getattr(self.clf, "n_features_in_", None)
        return expected is None or self._create_X([message]).shape[1] == expected
