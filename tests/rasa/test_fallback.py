"""The fallback with per-intent thresholds for the ticket-opening intents (bot/nlu/fallback.py)."""

from __future__ import annotations

import pytest

from tests.rasa.checks import assert_checks_pass

pytestmark = pytest.mark.rasa


def test_fallback_checks() -> None:
    assert_checks_pass("fallback_checks", at_least=4)
