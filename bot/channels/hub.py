"""The input channel the backend's hub talks to: `POST /webhooks/hub/webhook`, behind the secret.

The hub has already decided, from the database, that the bot may answer this conversation, so a
tracker that is still paused (a hand-back whose resume did not reach Rasa) is resumed here rather than
silently dropping the shipper's message. Shipper text is never read as a Rasa command: "/restart" or
'/inform{"waybill": ...}' arrive as plain words.
"""

from __future__ import annotations

import logging
import re

from rasa.core.channels.channel import UserMessage
from rasa.shared.core.events import ConversationResumed
from sanic import Sanic
from sanic.request import Request

from bot.channels.rest import ReliableRestInput

logger = logging.getLogger(__name__)

_SLASH_COMMAND = re.compile(r"^\s*/+")


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

    def _extract_input_channel(self, req: Request) -> str:
        # The conversation's own channel (telegram, web) is in the metadata; this is the door it came by.
        return self.name()

    async def before_message(self, message: UserMessage) -> None:
        agent = Sanic.get_app().ctx.agent
        sender = message.sender_id or ""
        # Only a hand-back can leave the tracker paused, and the hub sends nothing while a person has the
        # conversation: a look without the lock (the tracker store keeps the tracker, so no read of the
        # table) settles almost every turn; the lock is taken only to resume.
        tracker = await agent.tracker_store.retrieve(sender)
        if tracker is None or not tracker.is_paused():
            return
        async with agent.lock_store.lock(sender):
            tracker = await agent.tracker_store.retrieve(sender)
            if tracker is not None and tracker.is_paused():
                logger.info("resuming a paused conversation: the hub says the bot has it")
                tracker.update(ConversationResumed())
                await agent.tracker_store.save(tracker)
