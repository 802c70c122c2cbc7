"""Rasa's own checks of the training data and the dialogue, run from .venv-rasa."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tools.stack import DEFAULT_MODEL, RASA_BIN, RASA_ENV, ROOT

pytestmark = pytest.mark.rasa


def rasa(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **RASA_ENV}
    return subprocess.run(
        [str(RASA_BIN / "rasa"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )


def test_training_data_validates_without_warnings() -> None:
    result = rasa(
        "data",
        "validate",
        "--fail-on-warnings",
        "--domain",
        "domain.yml",
        "--data",
        "bot/data",
        "--config",
        "config.yml",
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]


def test_conversation_stories_predict_every_step(tmp_path: Path) -> None:
    result = rasa(
        "test",
        "core",
        "--model",
        str(DEFAULT_MODEL),
        "--stories",
        "tests/conversations",
        "--out",
        str(tmp_path),
        "--fail-on-prediction-errors",
        "--no-plot",
    )
    failed = tmp_path / "failed_test_stories.yml"
    detail = failed.read_text() if failed.exists() else ""
    assert result.returncode == 0, detail[-6000:] + result.stdout[-3000:] + result.stderr[-3000:]
