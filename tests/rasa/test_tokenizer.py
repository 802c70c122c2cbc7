"""The bilingual tokenizer of the NLU pipeline (bot/nlu/tokenizer.py), run in .venv-rasa."""

from __future__ import annotations

import pytest

from tests.rasa.checks import assert_checks_pass

pytestmark = pytest.mark.rasa


def test_tokenizer_checks() -> None:
    """All checks in one process: loading Rasa takes most of the time."""
    assert_checks_pass("tokenizer_checks", at_least=8)
