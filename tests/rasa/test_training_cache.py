"""Rasa's training cache off for our trainings, and its fingerprints then not computed (issue 17)."""

from __future__ import annotations

import pytest

from tests.rasa.checks import assert_checks_pass

pytestmark = pytest.mark.rasa


def test_training_cache_checks() -> None:
    assert_checks_pass("training_cache_checks", at_least=4)
