"""The Rasa side of turn ids: a retried message Rasa already ran is answered from its tracker, not re-run."""

from __future__ import annotations

import os
import subprocess

import pytest

pytestmark = pytest.mark.rasa


def test_rasa_replay_checks() -> None:
    from tools.stack import RASA_BIN, RASA_ENV, ROOT

    result = subprocess.run(
        [str(RASA_BIN / "python"), "-m", "tests.backend.hub.rasa_replay_checks"],
        cwd=ROOT,
        env={**os.environ, **RASA_ENV, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    passed = {line.removeprefix("ok ") for line in result.stdout.splitlines() if line.startswith("ok ")}
    assert passed == {
        "answers_after_returns_the_bot_messages_of_that_user_message",
        "a_retried_message_the_tracker_holds_is_answered_from_it_not_run",
    }
