"""Checks of bot.nlu.logistic_fit and the classifier's `fit: blocks`, run by test_logistic_fit.py.

Run with .venv-rasa's Python (`python -m tests.rasa.logistic_fit_checks [NAME...]`): scikit-learn's own
newton-cg fit is the reference, on data shaped like the pipeline's (sparse counts of very different
sizes next to a dense block of unit vectors, unbalanced intents).
"""

from __future__ import annotations

import sys
import tempfile
import warnings
from contextlib import nullcontext
from pathlib import Path
from unittest.mock import patch

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import csr_matrix, hstack
from scipy.sparse import random as sparse_random
from sklearn.linear_model import LogisticRegression

from bot.nlu.classifiers import SafeLogisticRegressionClassifier
from bot.nlu.logistic_fit import fit_multinomial
from tests.rasa.checks import run_checks

ROWS, COUNTS, DENSE, CLASSES = 240, 400, 32, 5


def problem(seed: int = 7) -> tuple[csr_matrix, np.ndarray, np.ndarray]:
    """Counts up to 6 per cell, unit dense vectors that carry the class, 5 classes of 80 down to 16 rows."""
    rng = np.random.default_rng(seed)
    sizes = [80, 64, 48, 32, 16]
    labels = np.repeat([f"intent_{i}" for i in range(CLASSES)], sizes)
    counts = sparse_random(ROWS, COUNTS, density=0.03, random_state=seed, format="csr")
    counts.data = np.ceil(counts.data * 6)
    centres = rng.normal(size=(CLASSES, DENSE))
    dense = centres[np.repeat(np.arange(CLASSES), sizes)] + rng.normal(scale=1.5, size=(ROWS, DENSE))
    dense /= np.linalg.norm(dense, axis=1, keepdims=True)
    return counts, dense * 12, labels


def sklearn_fit(counts: csr_matrix, dense: np.ndarray, labels: np.ndarray, tol: float) -> LogisticRegression:
    clf = LogisticRegression(solver="newton-cg", class_weight="balanced", tol=tol, max_iter=3000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return clf.fit(hstack([counts, csr_matrix(dense)], format="csr"), labels)


def check_the_fit_reaches_sklearns_minimum() -> None:
    counts, dense, labels = problem()
    reference = sklearn_fit(counts, dense, labels, tol=1e-8)
    fit = fit_multinomial(counts, dense, list(labels), C=1.0, tol=1e-8, max_iter=3000)
    assert fit.converged
    assert list(fit.classes) == list(reference.classes_)
    assert np.abs(fit.coef - reference.coef_).max() < 1e-5, np.abs(fit.coef - reference.coef_).max()
    assert np.abs(fit.intercept - reference.intercept_).max() < 1e-5


def check_the_same_tolerance_gives_the_same_predictions() -> None:
    counts, dense, labels = problem(seed=11)
    reference = sklearn_fit(counts, dense, labels, tol=1e-4)
    fit = fit_multinomial(counts, dense, list(labels), tol=1e-4, max_iter=3000)
    X = hstack([counts, csr_matrix(dense)], format="csr")
    ours = LogisticRegression().fit(X[: CLASSES * 3], np.repeat(fit.classes, 3))  # any fitted estimator
    ours.coef_, ours.intercept_, ours.classes_ = fit.coef, fit.intercept, fit.classes
    assert np.abs(ours.predict_proba(X) - reference.predict_proba(X)).max() < 1e-3
    assert (ours.predict(X) == reference.predict(X)).all()


def check_fewer_than_three_classes_are_refused() -> None:
    counts, dense, labels = problem()
    two = np.where(labels == "intent_0", "intent_0", "intent_1")
    try:
        fit_multinomial(counts, dense, list(two))
    except ValueError:
        return
    raise AssertionError("two classes were fitted as a multinomial")


def messages(counts: csr_matrix, dense: np.ndarray, labels: np.ndarray) -> list[Message]:
    out = []
    for row, (label, vector) in enumerate(zip(labels, dense, strict=True)):
        message = Message(data={TEXT: f"message {row}", "intent": str(label)})
        message.add_features(Features(counts[row], "sentence", TEXT, "counts"))
        message.add_features(Features(vector.reshape(1, -1), "sentence", TEXT, "encoder"))
        out.append(message)
    return out


def trained(folder: str, fit: str, examples: list[Message]) -> SafeLogisticRegressionClassifier:
    config = {
        **SafeLogisticRegressionClassifier.get_default_config(),
        "solver": "newton-cg",
        "max_iter": 3000,
        "fit": fit,
    }
    storage = LocalModelStorage(Path(folder))
    resource = Resource(f"classifier_{fit}")
    context = ExecutionContext(GraphSchema({}), node_name=f"classifier_{fit}")
    classifier = SafeLogisticRegressionClassifier.create(config, storage, resource, context)
    # fit: blocks is fitted by bot.nlu.logistic_fit, never by scikit-learn (patched on the class: an
    # instance attribute would be persisted with the estimator).
    refuse = patch.object(
        LogisticRegression, "fit", side_effect=AssertionError("scikit-learn's fit was called")
    )
    with warnings.catch_warnings(), refuse if fit == "blocks" else nullcontext():
        warnings.simplefilter("ignore")
        classifier.train(TrainingData(training_examples=examples))
    loaded = SafeLogisticRegressionClassifier.load(config, storage, resource, context)
    assert hasattr(loaded.clf, "coef_"), "the model did not load (Rasa falls back to an untrained one)"
    return loaded


def check_the_classifier_predicts_alike_with_either_fit_after_loading() -> None:
    counts, dense, labels = problem(seed=3)
    examples = messages(counts, dense, labels)
    unseen_counts, unseen_dense, _ = problem(seed=4)
    with tempfile.TemporaryDirectory() as folder:
        rasa_fit = trained(folder, "sklearn", examples)
        fast_fit = trained(folder, "blocks", examples)
        rasa_read = rasa_fit.process(messages(unseen_counts, unseen_dense, np.repeat("?", ROWS)))
        fast_read = fast_fit.process(messages(unseen_counts, unseen_dense, np.repeat("?", ROWS)))
    for a, b in zip(rasa_read, fast_read, strict=True):
        assert a.get("intent")["name"] == b.get("intent")["name"]
        assert abs(a.get("intent")["confidence"] - b.get("intent")["confidence"]) < 1e-3


def check_the_feature_blocks_are_rasas_columns() -> None:
    """Several sparse featurizers (COO and CSR, with token-level features beside), two dense ones: the
    two blocks side by side are exactly the matrix Rasa's own classifier builds (`_create_X`)."""
    counts, dense, labels = problem(seed=5)
    rng = np.random.default_rng(5)
    examples = []
    for row, (label, vector) in enumerate(zip(labels, dense, strict=True)):
        message = Message(data={TEXT: f"message {row}", "intent": str(label)})
        tokens = int(rng.integers(1, 4))
        message.add_features(
            Features(sparse_random(tokens, 7, 0.3, "coo", random_state=row), "sequence", TEXT, "regex")
        )
        message.add_features(Features(counts[row, :150].tocoo(), "sentence", TEXT, "regex"))
        message.add_features(Features(rng.random((tokens, 3)), "sequence", TEXT, "encoder"))
        message.add_features(Features(vector[:20].reshape(1, -1), "sentence", TEXT, "encoder"))
        message.add_features(Features(counts[row, 150:], "sentence", TEXT, "words"))
        message.add_features(Features(vector[20:].reshape(1, -1), "sentence", TEXT, "chars"))
        message.add_features(Features(counts[row, :5].tocoo(), "sentence", "intent", "words"))
        examples.append(message)
    sparse, dense_block = SafeLogisticRegressionClassifier._feature_blocks(examples)
    rasas = SafeLogisticRegressionClassifier._create_X(None, examples)  # type: ignore[arg-type]
    assert sparse.shape == (ROWS, COUNTS) and dense_block.shape == (ROWS, DENSE)
    assert (hstack([sparse, csr_matrix(dense_block)]).tocsr() != rasas.tocsr()).nnz == 0
    assert (sparse != counts).nnz == 0


def check_an_unknown_fit_is_refused() -> None:
    try:
        SafeLogisticRegressionClassifier.validate_config({"fit": "fastest"})
    except InvalidConfigException:
        return
    raise AssertionError("fit: fastest was accepted")


if __name__ == "__main__":
    sys.exit(run_checks(globals()))
