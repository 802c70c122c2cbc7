"""Rasa's training cache, switched off for this project's trainings, and then not paid for.

Rasa 3.6 caches the output of every node of the training graph so that a later training can reuse the
parts whose inputs did not change. To do that, `TrainingHook` fingerprints every node's inputs before it
runs and its output after: md5 over every token, feature matrix and story event of the 6,000 examples
and 1,900 story trackers, after each of the NLU nodes and three times over the trackers. That was about
15 s of a 62 s `rasa train --force` here (measured per node), paid by every training, to save the NLU
nodes in a later training that changes stories alone. Our trainings start from nothing (CI, a fresh
machine, `make bench`) or follow a change to the NLU data, which retrains every NLU node anyway.

So `make train` and `make bench` train with Rasa's own switch for the cache, `RASA_MAX_CACHE_SIZE=0`
(set `RASA_TRAINING_CACHE_MB` to have it back). With the cache off Rasa still computes the fingerprints
and then throws them away (`LocalTrainingCache.cache_output` returns first thing); on Rasa 3.6.21 the
hook skips them instead. Imported with the pipeline's components (bot/nlu/__init__.py), before the
training graph runs.
"""

from __future__ import annotations

import logging
from typing import Any

import rasa
from rasa.engine.caching import LocalTrainingCache
from rasa.engine.training.hooks import TrainingHook

from bot import rasa_tuning

logger = logging.getLogger(__name__)

_originals: dict[str, Any] = {}


def cache_disabled(hook: TrainingHook) -> bool:
    """The hook's cache is Rasa's local one, switched off (RASA_MAX_CACHE_SIZE=0)."""
    cache = getattr(hook, "_cache", None)
    return isinstance(cache, LocalTrainingCache) and cache._is_disabled()


def _on_before_node(self: TrainingHook, *args: Any, **kwargs: Any) -> dict[str, Any]:
    if cache_disabled(self):
        return {}  # no fingerprint key: nothing will be cached under it
    return dict(_originals["before"](self, *args, **kwargs))


def _on_after_node(self: TrainingHook, *args: Any, **kwargs: Any) -> None:
    if cache_disabled(self):
        return
    _originals["after"](self, *args, **kwargs)


def apply() -> bool:
    """Patches TrainingHook once; False (Rasa as shipped) on another Rasa version."""
    if _originals:
        return True
    # The same Rasa as bot.rasa_tuning's patches: its TrainingHook's fingerprints feed nothing but the cache.
    if not rasa_tuning.supported():
        logger.warning(
            "Rasa %s is installed, %s was written for %s: the training hook is left as shipped",
            rasa.__version__,
            __name__,
            rasa_tuning.SUPPORTED_RASA,
        )
        return False
    _originals.update(before=TrainingHook.on_before_node, after=TrainingHook.on_after_node)
    TrainingHook.on_before_node = _on_before_node
    TrainingHook.on_after_node = _on_after_node
    return True
