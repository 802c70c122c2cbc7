"""Checks of the Rasa side of turn ids (bot/channels/hub.py), run by test_rasa_replay.py in .venv-rasa."""

from __future__ import annotations

import asyncio
import os
import sys
from types import SimpleNamespace

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.processor import MessageProcessor
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, ConversationPaused, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Sanic

from bot.channels.hub import HubInput, answers_after, resume_for_hub
from tests.rasa.checks import run_checks

SENDER = "telegram:42"
BUTTONS = [{"title": "Yes", "payload": "/affirm"}]
EVENTS = [
    UserUttered("where is it", message_id="hub-1"),
    ActionExecuted("utter_where"),
    BotUttered("It is in Shanghai.", data={"buttons": BUTTONS}),
    BotUttered("Anything else?"),
    ActionExecuted("action_listen"),
    UserUttered("no", message_id="hub-2"),
    BotUttered("Goodbye."),
]


def check_answers_after_returns_the_bot_messages_of_that_user_message() -> None:
    first = answers_after(EVENTS, "hub-1", SENDER)
    assert first == [
        {"recipient_id": SENDER, "text": "It is in Shanghai.", "buttons": BUTTONS},
        {"recipient_id": SENDER, "text": "Anything else?"},
    ], first
    assert answers_after(EVENTS, "hub-2", SENDER) == [{"recipient_id": SENDER, "text": "Goodbye."}]
    assert answers_after(EVENTS, "hub-3", SENDER) is None


def check_a_retried_message_the_tracker_holds_is_answered_from_it_not_run() -> None:
    os.environ.setdefault("RASA_CHANNEL_SECRET", "checks-secret")
    domain = Domain.empty()
    store = InMemoryTrackerStore(domain)
    app = Sanic("hub_replay_checks")
    app.ctx.agent = SimpleNamespace(tracker_store=store, lock_store=InMemoryLockStore())
    channel = HubInput()

    async def scenario() -> None:
        await store.save(DialogueStateTracker.from_events(SENDER, EVENTS))

        def message(metadata: dict[str, object]) -> UserMessage:
            return UserMessage("where is it", CollectingOutputChannel(), SENDER, metadata=metadata)

        retried = await channel.earlier_answers(message({"message_id": "hub-1", "retry": True}))
        assert retried is not None and [a["text"] for a in retried] == [
            "It is in Shanghai.",
            "Anything else?",
        ]
        # A first try is run as usual (no look-up), and so is a retry Rasa never ran.
        assert await channel.earlier_answers(message({"message_id": "hub-1"})) is None
        assert await channel.earlier_answers(message({"message_id": "hub-9", "retry": True})) is None
        # A run that said nothing (its action failed) is run again, not answered with silence.
        unanswered = UserUttered("and now?", message_id="hub-4")
        silent = DialogueStateTracker.from_events(SENDER, [*EVENTS, unanswered])
        await store.save(silent)
        assert await channel.earlier_answers(message({"message_id": "hub-4", "retry": True})) is None
        # The hub's id becomes the user event's id, so a later retry finds it.
        fresh = message({"message_id": "hub-7"})
        await channel.before_message(fresh)
        assert fresh.message_id == "hub-7"

    asyncio.run(scenario())
    request = SimpleNamespace(
        json={"sender": SENDER, "message": "hi", "message_id": "hub-5", "metadata": {"a": 1}}
    )
    assert channel.get_metadata(request) == {"a": 1, "message_id": "hub-5"}  # type: ignore[arg-type]


def check_a_hub_turn_resumes_a_paused_tracker_inside_rasas_own_turn() -> None:
    # Patched into Rasa's turn, on the tracker it fetched under the lock: no second read, no second lock.
    assert getattr(MessageProcessor._handle_message_with_tracker, "resumes_for_hub", False)

    def paused() -> DialogueStateTracker:
        return DialogueStateTracker.from_events(SENDER, [*EVENTS, ConversationPaused()])

    def message(channel: str) -> UserMessage:
        return UserMessage("hello", CollectingOutputChannel(), SENDER, input_channel=channel)

    tracker = paused()
    assert resume_for_hub(message("hub"), tracker) and not tracker.is_paused()
    # Any other door leaves a person's conversation paused: only the hub knows the bot has it again.
    tracker = paused()
    assert not resume_for_hub(message("rest"), tracker) and tracker.is_paused()
    tracker = DialogueStateTracker.from_events(SENDER, EVENTS)
    assert not resume_for_hub(message("hub"), tracker) and not tracker.is_paused()


if __name__ == "__main__":
    sys.exit(run_checks(globals()))
