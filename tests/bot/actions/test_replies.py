"""Stock replies take their variations in turn and never say the same thing three times running."""

from __future__ import annotations

import asyncio
from typing import Any

import yaml
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.replies import STOCK_REPLIES, STUCK_TEXT
from tests.bot.trackers import make_tracker
from tools.stack import ROOT

DOMAIN: dict[str, Any] = {
    "responses": {"utter_rephrase": [{"text": "Say it again?"}, {"text": "Once more?"}]}
}
REPHRASE = next(cls() for cls in STOCK_REPLIES if cls().name() == "action_rephrase")


def reply_after(previous_runs: int, *, interrupted: bool = False) -> str:
    tracker = make_tracker("asdf", intent="nlu_fallback")
    for _ in range(previous_runs):
        tracker.events += [
            {"event": "user", "text": "asdf"},
            {"event": "action", "name": "action_rephrase"},
            {"event": "action", "name": "action_listen"},
        ]
    if interrupted:
        tracker.events.append({"event": "action", "name": "action_answer_shipment"})
    dispatcher = CollectingDispatcher()
    asyncio.run(REPHRASE.run(dispatcher, tracker, DOMAIN))
    return str(dispatcher.messages[0]["text"])


def test_variations_in_turn_then_a_way_out() -> None:
    said = [reply_after(n) for n in range(6)]
    assert said == ["Say it again?", "Once more?", STUCK_TEXT, "Say it again?", "Once more?", STUCK_TEXT]
    assert all(not (a == b == c) for a, b, c in zip(said, said[1:], said[2:], strict=False))


def test_another_action_in_between_starts_afresh() -> None:
    assert reply_after(2, interrupted=True) == "Say it again?"


def test_every_stock_reply_is_a_domain_action() -> None:
    domain = yaml.safe_load((ROOT / "domain.yml").read_text())
    for cls in STOCK_REPLIES:
        action = cls()
        assert action.name() in domain["actions"]
        assert action.response in domain["responses"]


def test_a_waybill_in_a_message_not_understood_is_answered() -> None:
    out_of_scope = next(cls() for cls in STOCK_REPLIES if cls().name() == "action_out_of_scope")
    tracker = make_tracker("<b>where</b> is <script>x</script> EA100000025CN &amp;", intent="out_of_scope")
    dispatcher = CollectingDispatcher()
    events = asyncio.run(out_of_scope.run(dispatcher, tracker, DOMAIN))
    assert "Changsha" in dispatcher.messages[0]["text"]
    assert {"event": "slot", "timestamp": None, "name": "waybill", "value": "EA100000025CN"} in events


def buttons_of(action_name: str, intent: str, language: str = "en") -> list[tuple[str, str]]:
    action = next(cls() for cls in STOCK_REPLIES if cls().name() == action_name)
    domain = yaml.safe_load((ROOT / "domain.yml").read_text())
    tracker = make_tracker("set an alarm for seven", intent=intent, slots={"language": language})
    dispatcher = CollectingDispatcher()
    asyncio.run(action.run(dispatcher, tracker, domain))
    (message,) = dispatcher.messages
    return [(b["title"], b["payload"]) for b in message["buttons"]]


def test_out_of_scope_and_unsure_readings_offer_the_main_paths_as_buttons() -> None:
    """Issue 15: a misread message costs one tap, in the shipper's language; the payloads are intents."""
    paths = [("Track a shipment", "/track_shipment"), ("Make a complaint", "/complain"),
             ("Talk to a person", "/request_human")]  # fmt: skip
    assert buttons_of("action_out_of_scope", "out_of_scope") == paths
    assert buttons_of("action_rephrase", "nlu_fallback") == paths
    assert buttons_of("action_out_of_scope", "out_of_scope", "zh") == [
        ("查询快递", "/track_shipment"), ("我要投诉", "/complain"), ("转人工客服", "/request_human")
    ]  # fmt: skip
    assert buttons_of("action_greet", "greet") == []
