"""The input channel the backend's hub talks to: `POST /webhooks/hub/webhook`, behind the secret.

The hub has already decided, from the database, that the bot may answer this conversation, so a
tracker that is still paused (a hand-back whose resume did not reach Rasa) is resumed here rather than
silently dropping the shipper's message. Shipper text is never read as a Rasa command: "/restart" or
'/inform{"waybill": ...}' arrive as plain words.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.processor import MessageProcessor
from rasa.shared.core.events import BotUttered, ConversationResumed, Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Sanic
from sanic.request import Request

from bot import rasa_tuning
from bot.channels.rest import ReliableRestInput

logger = logging.getLogger(__name__)

# What the hub channel answers for a turn that produced nothing while the bot has the conversation (an
# action failed: the action server died or erred). The hub reads it as a failed try (backend/hub/rasa.py).
TURN_FAILED = {"custom": {"turn_failed": True}}

_SLASH_COMMAND = re.compile(r"^\s*/+")


def answers_after(events: Sequence[Event], message_id: str, recipient_id: str) -> list[dict[str, Any]] | None:
    """The bot's messages after the user message `message_id`, as the REST channel sends them; None when
    the tracker holds no such message (it was never run, or its run did not finish)."""
    start = None
    for index, event in enumerate(events):
        if isinstance(event, UserUttered) and event.message_id == message_id:
            start = index
    if start is None:
        return None
    answers: list[dict[str, Any]] = []
    for event in events[start + 1 :]:
        if isinstance(event, UserUttered):
            break
        if isinstance(event, BotUttered):
            extra = {key: value for key, value in (event.data or {}).items() if value}
            answers.append({"recipient_id": recipient_id, "text": event.text, **extra})
    return answers


class HubInput(ReliableRestInput):
    """Rasa's REST payload and reply, for the hub only."""

    @classmethod
    def name(cls) -> str:
        return "hub"

    def _extract_message(self, req: Request) -> str | None:
        text = super()._extract_message(req)
        metadata = req.json.get("metadata") or {}
        if isinstance(metadata, dict) and metadata.get("button") is True:
            # The payload of a button the bot offered, looked up by the hub: it may be an intent.
            return text
        return _SLASH_COMMAND.sub("", text) if isinstance(text, str) else text

    def get_metadata(self, request: Request) -> dict[str, Any] | None:
        # The hub names each message (its turn id): kept on the tracker's user event, so a retry of a
        # message already run is recognised (earlier_answers).
        metadata = super().get_metadata(request)
        metadata = dict(metadata) if isinstance(metadata, dict) else {}
        message_id = request.json.get("message_id")
        if isinstance(message_id, str) and message_id:
            metadata["message_id"] = message_id
        return metadata

    def _extract_input_channel(self, req: Request) -> str:
        # The conversation's own channel (telegram, web) is in the metadata; this is the door it came by.
        return self.name()

    async def earlier_answers(self, message: UserMessage) -> list[dict[str, Any]] | None:
        """A message the hub sends again (its first try timed out, or its process died) that the tracker
        already holds is not run twice: the answers its run gave are returned instead. Only retries are
        looked up, under the conversation's lock, so a first try still running is waited for."""
        metadata = message.metadata if isinstance(message.metadata, dict) else {}
        if metadata.get("retry") is not True or not metadata.get("message_id"):
            return None
        agent = Sanic.get_app().ctx.agent
        sender = message.sender_id or ""
        async with agent.lock_store.lock(sender):
            tracker = await agent.tracker_store.retrieve(sender)
        if tracker is None:
            return None
        answers = answers_after(list(tracker.events), str(metadata["message_id"]), sender)
        if not answers:
            return None  # never run, or its run said nothing (an action failed): run it again
        logger.info("a retried message was answered before: its answers are sent again, not re-run")
        return answers

    async def nothing_said(self, message: UserMessage, collector: CollectingOutputChannel) -> None:
        """Not the REST channel's apology: the hub tries the turn once more, then shows it to agents as
        not answered, so a turn whose action failed is neither lost nor left to the shipper to repeat."""
        logger.warning("no reply produced for a hub message; the hub is told the turn failed")
        collector.messages.append({"recipient_id": message.sender_id, **TURN_FAILED})

    async def before_message(self, message: UserMessage) -> None:
        metadata = message.metadata if isinstance(message.metadata, dict) else {}
        if isinstance(metadata.get("message_id"), str):
            message.message_id = metadata["message_id"]
        if _RESUMES_IN_TURN:
            return  # the paused tracker is resumed inside Rasa's own turn (resume_for_hub)
        agent = Sanic.get_app().ctx.agent
        sender = message.sender_id or ""
        # Another Rasa version: a look without the lock settles almost every turn; the lock is taken
        # only to resume.
        tracker = await agent.tracker_store.retrieve(sender)
        if tracker is None or not tracker.is_paused():
            return
        async with agent.lock_store.lock(sender):
            tracker = await agent.tracker_store.retrieve(sender)
            if tracker is not None and tracker.is_paused():
                logger.info("resuming a paused conversation: the hub says the bot has it")
                tracker.update(ConversationResumed())
                await agent.tracker_store.save(tracker)


def resume_for_hub(message: UserMessage, tracker: DialogueStateTracker) -> bool:
    """Resumes a paused tracker when the message came through the hub; True when it did.

    Only a hand-back can leave the tracker paused, and the hub sends nothing while a person has the
    conversation. Called on the tracker Rasa has just fetched for the turn, under the turn's lock, so
    it costs no second lock and no second read of the tracker store; the resume is saved with the turn.
    """
    if message.input_channel != HubInput.name() or not tracker.is_paused():
        return False
    logger.info("resuming a paused conversation: the hub says the bot has it")
    tracker.update(ConversationResumed())
    return True


def _patch_processor() -> bool:
    """MessageProcessor._handle_message_with_tracker (Rasa 3.6.21) resumes a hub turn's paused tracker
    before the user event is logged, so Rasa then handles the message (_should_handle_message)."""
    if not rasa_tuning.supported():
        return False
    original = MessageProcessor._handle_message_with_tracker
    if getattr(original, "resumes_for_hub", False):
        return True

    async def handle(self: MessageProcessor, message: UserMessage, tracker: DialogueStateTracker) -> None:
        resume_for_hub(message, tracker)
        await original(self, message, tracker)

    handle.resumes_for_hub = True  # type: ignore[attr-defined]
    MessageProcessor._handle_message_with_tracker = handle
    return True


# Applied when Rasa imports this channel (credentials.yml), before Sanic starts serving.
_RESUMES_IN_TURN = _patch_processor()
