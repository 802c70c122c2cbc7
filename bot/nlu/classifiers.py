"""Rasa's logistic regression intent classifier, made safe for messages without features.

An empty or blank message has no tokens, so some featurizers give it no features (the regexes, the
sentence encoder) while others give zeros, and Rasa's `LogisticRegressionClassifier` then fails on a
row of the wrong width. Such a message gets no intent and confidence 0 here, so the FallbackClassifier
after it predicts `nlu_fallback` and the bot asks to rephrase.

`fit: blocks` fits the same objective as Rasa's (scikit-learn's balanced multinomial regression, by
scikit-learn's Newton-CG) with bot/nlu/logistic_fit.py, the counts and the sentence vectors multiplied
as a sparse and a dense block. The result goes into the same scikit-learn `LogisticRegression`, so
prediction, persistence and loading are Rasa's. Everything else is Rasa's classifier.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import csr_matrix, vstack

from bot.nlu.logistic_fit import fit_multinomial

logger = logging.getLogger(__name__)

FITS = ("sklearn", "blocks")


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class SafeLogisticRegressionClassifier(LogisticRegressionClassifier):
    """LogisticRegressionClassifier that leaves messages without text features unclassified."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # "sklearn": Rasa's fit, scikit-learn's solver named by `solver`.
        return {**LogisticRegressionClassifier.get_default_config(), "fit": "sklearn"}

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        super().validate_config(config)
        if config.get("fit", "sklearn") not in FITS:
            raise InvalidConfigException(f"SafeLogisticRegressionClassifier: fit must be one of {FITS}.")

    def train(self, training_data: TrainingData) -> Resource:
        """Rasa's training, or the same objective fitted by bot/nlu/logistic_fit.py (fit: blocks)."""
        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        labels = [str(example.get(INTENT)) for example in examples]
        # Two intents are a binary regression in scikit-learn, a different objective: Rasa's fit.
        if self.config.get("fit") != "blocks" or len(set(labels)) < 3:
            return super().train(training_data)
        sparse, dense = self._feature_blocks(examples)
        fit = fit_multinomial(
            sparse,
            dense,
            labels,
            C=float(self.clf.C),
            tol=float(self.config["tol"]),
            max_iter=int(self.config["max_iter"]),
        )
        if not fit.converged:
            logger.warning(
                f"{self.__class__.__name__}: the fit stopped after {fit.n_iter} Newton steps before "
                f"reaching tol {self.config['tol']}; raise max_iter."
            )
        self.clf.classes_ = fit.classes
        self.clf.coef_ = fit.coef
        self.clf.intercept_ = fit.intercept
        self.clf.n_iter_ = np.array([fit.n_iter], dtype=np.int32)
        self.clf.n_features_in_ = fit.coef.shape[1]
        self.persist()
        return self._resource

    @staticmethod
    def _feature_blocks(examples: list[Message]) -> tuple[csr_matrix, np.ndarray]:
        """The columns of Rasa's `_create_X` (sparse sentence features, then dense) as two blocks."""
        sparse_rows, dense_rows = [], []
        for example in examples:
            sparse = example.get_sparse_features(attribute=TEXT)[1]
            dense = example.get_dense_features(attribute=TEXT)[1]
            sparse_rows.append(csr_matrix(sparse.features) if sparse else csr_matrix((1, 0)))
            dense_rows.append(np.asarray(dense.features).reshape(1, -1) if dense else np.zeros((1, 0)))
        return vstack(sparse_rows, format="csr"), np.vstack(dense_rows)

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
