"""Checks of bot.nlu.fallback, run by test_fallback.py with .venv-rasa's Python."""

from __future__ import annotations

import sys

from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.fallback import TicketAwareFallbackClassifier
from tests.rasa.checks import run_checks

CONFIG = {
    **TicketAwareFallbackClassifier.get_default_config(),
    "threshold": 0.25,
    "ambiguity_threshold": 0.02,
    "intent_thresholds": {"complain": 0.5, "request_human": 0.5},
}


def read(intent: str, confidence: float, runner_up: float = 0.05, text: str = "text") -> str:
    message = Message(data={TEXT: text})
    message.set(INTENT, {"name": intent, "confidence": confidence})
    message.set(
        INTENT_RANKING_KEY,
        [{"name": intent, "confidence": confidence}, {"name": "out_of_scope", "confidence": runner_up}],
    )
    TicketAwareFallbackClassifier(CONFIG).process([message])
    return str(message.get(INTENT)["name"])


def check_a_ticket_opening_intent_needs_its_own_threshold() -> None:
    assert read("request_human", 0.45) == "nlu_fallback"
    assert read("complain", 0.49) == "nlu_fallback"
    assert read("complain", 0.62) == "complain"


def check_other_intents_keep_the_common_threshold() -> None:
    assert read("track_shipment", 0.30) == "track_shipment"
    assert read("track_shipment", 0.20) == "nlu_fallback"


def check_ambiguity_still_falls_back() -> None:
    assert read("complain", 0.60, runner_up=0.59) == "nlu_fallback"


def check_junk_falls_back_however_sure_the_classifier_is() -> None:
    assert read("complain", 0.95, text="EA" * 40) == "nlu_fallback"
    assert read("complain", 0.95, text="EAEAEA " * 12) == "nlu_fallback"
    assert read("out_of_scope", 0.95, text="lol " * 30) == "nlu_fallback"
    assert read("deny", 0.95, text="no no no") == "deny"
    assert read("track_shipment", 0.95, text="EA100000034CN") == "track_shipment"


if __name__ == "__main__":
    sys.exit(run_checks(globals()))
