"""Checks of bot.nlu.training_cache, run by test_training_cache.py with .venv-rasa's Python."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import rasa
import rasa.shared.utils.io
from rasa.engine.caching import CACHE_LOCATION_ENV, CACHE_SIZE_ENV, LocalTrainingCache
from rasa.engine.graph import ExecutionContext, GraphSchema, SchemaNode
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.training.hooks import TrainingHook
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot import rasa_tuning
from bot.nlu import training_cache
from tests.rasa.checks import run_checks

NODE = "run_WhitespaceTokenizer0"
SCHEMA = GraphSchema(
    {NODE: SchemaNode(needs={}, uses=WhitespaceTokenizer, constructor_name="create", fn="process", config={})}
)


def training_data() -> TrainingData:
    return TrainingData([Message(data={TEXT: "where is my parcel", "intent": "track_shipment"})])


def hook_with_cache(size_mb: str, folder: Path) -> tuple[TrainingHook, LocalTrainingCache]:
    os.environ[CACHE_SIZE_ENV] = size_mb
    os.environ[CACHE_LOCATION_ENV] = str(folder / "cache")
    cache = LocalTrainingCache()
    storage = LocalModelStorage(folder / "storage")
    hook = TrainingHook(cache=cache, model_storage=storage, pruned_schema=SCHEMA)
    return hook, cache


def run_node(hook: TrainingHook, output: Any) -> dict[str, Any]:
    context = ExecutionContext(graph_schema=SCHEMA)
    before = hook.on_before_node(NODE, context, config={}, received_inputs={"training_data": output})
    hook.on_after_node(NODE, context, config={}, output=output, input_hook_data=before)
    return before


def check_the_patch_is_applied_on_the_rasa_it_was_written_for() -> None:
    assert rasa.__version__ == rasa_tuning.SUPPORTED_RASA
    assert training_cache.apply()  # also applied on import of bot.nlu, once
    assert TrainingHook.on_before_node is training_cache._on_before_node
    assert TrainingHook.on_after_node is training_cache._on_after_node


def check_with_the_cache_off_nothing_is_fingerprinted() -> None:
    original = rasa.shared.utils.io.deep_container_fingerprint

    def refused(*_args: Any, **_kwargs: Any) -> str:
        raise AssertionError("fingerprinted although the cache is off")

    with tempfile.TemporaryDirectory() as folder:
        hook, cache = hook_with_cache("0", Path(folder))
        assert training_cache.cache_disabled(hook)
        data = training_data()  # TrainingData hashes its messages when it is made
        rasa.shared.utils.io.deep_container_fingerprint = refused
        try:
            assert run_node(hook, data) == {}
        finally:
            rasa.shared.utils.io.deep_container_fingerprint = original


def check_with_the_cache_on_the_outputs_are_cached_as_rasa_caches_them() -> None:
    with tempfile.TemporaryDirectory() as folder:
        hook, cache = hook_with_cache("100", Path(folder))
        assert not training_cache.cache_disabled(hook)
        data = training_data()
        before = run_node(hook, data)
        key = before["fingerprint_key"]
        assert key
        expected = rasa.shared.utils.io.deep_container_fingerprint(data)
        assert cache.get_cached_output_fingerprint(key) == expected


def check_another_rasa_version_is_left_as_shipped() -> None:
    saved, version = dict(training_cache._originals), rasa.__version__
    hooks = (TrainingHook.on_before_node, TrainingHook.on_after_node)
    try:
        training_cache._originals.clear()
        TrainingHook.on_before_node, TrainingHook.on_after_node = saved["before"], saved["after"]
        rasa.__version__ = "3.7.0"
        assert training_cache.apply() is False
        assert TrainingHook.on_before_node is saved["before"]
    finally:
        rasa.__version__ = version
        training_cache._originals.update(saved)
        TrainingHook.on_before_node, TrainingHook.on_after_node = hooks


if __name__ == "__main__":
    sys.exit(run_checks(globals()))
