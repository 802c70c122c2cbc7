"""The sentence-encoder featurizer of the NLU pipeline (bot/nlu/use_featurizer.py), run in .venv-rasa."""

from __future__ import annotations

import pytest

from tests.rasa.checks import assert_checks_pass

pytestmark = pytest.mark.rasa


def test_use_featurizer_checks() -> None:
    """All checks in one process: loading Rasa and the encoder takes most of the time."""
    assert_checks_pass("use_featurizer_checks", at_least=8)
