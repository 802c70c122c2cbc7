"""The intent classifier's fit (bot/nlu/logistic_fit.py, bot/nlu/classifiers.py), run in .venv-rasa."""

from __future__ import annotations

import pytest

from tests.rasa.checks import assert_checks_pass

pytestmark = pytest.mark.rasa


def test_logistic_fit_checks() -> None:
    """Our fit against scikit-learn's newton-cg on the same data, and the classifier with either fit."""
    assert_checks_pass("logistic_fit_checks", at_least=6)
