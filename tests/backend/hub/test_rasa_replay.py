"""The Rasa side of turn ids: a retried message Rasa already ran is answered from its tracker, not re-run."""

from __future__ import annotations

import pytest

from tests.rasa.checks import run_in_rasa

pytestmark = pytest.mark.rasa


def test_rasa_replay_checks() -> None:
    passed, _ = run_in_rasa("tests.backend.hub.rasa_replay_checks")
    assert passed == {
        "answers_after_returns_the_bot_messages_of_that_user_message",
        "a_retried_message_the_tracker_holds_is_answered_from_it_not_run",
        "a_hub_turn_resumes_a_paused_tracker_inside_rasas_own_turn",
    }
