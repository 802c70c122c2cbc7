"""The secrets make run keeps under var/: readable by their owner only, wherever the value came from."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tools import stack


def test_the_api_token_file_is_private_even_when_the_token_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stack, "VAR", tmp_path)
    kept = tmp_path / "api_token"
    kept.write_text("an old token")
    kept.chmod(0o644)  # left by an older make run
    assert stack.token("api_token", {"API_TOKEN": "from-the-environment-0123"}) == "from-the-environment-0123"
    assert kept.read_text() == "from-the-environment-0123"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert stack.token("rasa_token", {}) == (tmp_path / "rasa_token").read_text().strip()
    assert stat.S_IMODE((tmp_path / "rasa_token").stat().st_mode) == 0o600
