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

import importlib
import logging
import threading
import time
from typing import Any

import numpy as np
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import coo_matrix, csr_matrix

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
        # Rasa persists the model with skops.io, whose first import looks up each of its trusted types in
        # every loaded module (8 s with TensorFlow's thousands loaded): done on the other core meanwhile.
        root_level = logging.getLogger().level
        skops_import = threading.Thread(target=importlib.import_module, args=("skops.io",), daemon=True)
        skops_import.start()
        sparse, dense = self._feature_blocks(examples)
        started = time.perf_counter()
        fit = fit_multinomial(
            sparse,
            dense,
            labels,
            C=float(self.clf.C),
            tol=float(self.config["tol"]),
            max_iter=int(self.config["max_iter"]),
        )
        seconds = time.perf_counter() - started
        skops_import.join()
        # That import loads numpy.distutils, whose log sets the root logger to WARNING: Rasa's level back.
        logging.getLogger().setLevel(root_level)
        # The fit is most of `rasa train`; its cost is logged so that a change of tol can be weighed.
        logger.info(
            f"{self.__class__.__name__}: {fit.n_iter} Newton steps to tol {self.config['tol']} on "
            f"{len(labels)} examples in {seconds:.1f} s."
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
        """The columns of Rasa's `_create_X` (sparse sentence features, then dense) as two blocks.

        Rasa's `Message.get_sparse_features` would combine each message's features with a scipy `hstack`
        per featurizer, its token-level (sequence) features too, which took 8 of the 28 s of this
        node's training; the sentence features are read here and put into one CSR matrix directly, in
        the same order (the featurizers' order in the message, as Rasa combines them).
        """
        data: list[np.ndarray] = []
        columns: list[np.ndarray] = []
        row_sizes = np.zeros(len(examples), dtype=np.int64)
        widths, dense_rows = set(), []
        for row, example in enumerate(examples):
            offset, dense_parts = 0, []
            for feature in example.features:
                if feature.attribute != TEXT or feature.type != FEATURE_TYPE_SENTENCE:
                    continue
                if feature.is_dense():
                    dense_parts.append(np.asarray(feature.features).reshape(1, -1))
                    continue
                part = coo_matrix(feature.features)
                data.append(part.data)
                columns.append(part.col + offset)
                row_sizes[row] += part.nnz
                offset += part.shape[1]
            widths.add(offset)
            dense_rows.append(np.concatenate(dense_parts, axis=1) if dense_parts else np.zeros((1, 0)))
        if len(widths) > 1:
            raise ValueError(f"the messages' sparse sentence features differ in width: {sorted(widths)}")
        indptr = np.zeros(len(examples) + 1, dtype=np.int64)
        np.cumsum(row_sizes, out=indptr[1:])
        sparse = csr_matrix(
            (
                np.concatenate(data) if data else np.zeros(0),
                np.concatenate(columns) if columns else np.zeros(0, dtype=np.int64),
                indptr,
            ),
            shape=(len(examples), widths.pop() if widths else 0),
        )
        sparse.sum_duplicates()  # also sorts each row's columns, as scipy's vstack leaves them
        return sparse, np.vstack(dense_rows)

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
