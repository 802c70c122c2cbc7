"""Rasa's avoidable per-turn costs are gone and nothing a shipper relies on went with them (issue 17)."""

from __future__ import annotations

import pytest

from tests.rasa.checks import assert_checks_pass

pytestmark = pytest.mark.rasa


def test_tuning_checks() -> None:
    """All checks in one process (tests/rasa/tuning_checks.py): loading Rasa takes most of the time."""
    assert_checks_pass("tuning_checks", at_least=10)
