"""Rasa's REST channel, except that the customer is never left without an answer.

When a custom action fails (the action server is down or answers with an error), Rasa logs it and
goes on without the action's messages: the customer would see nothing. This channel notices a turn
that produced no message and, unless the conversation is paused because a person has it, sends a
short apology with what to do instead.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, Sanic

logger = logging.getLogger(__name__)

APOLOGY = (
    "Sorry, something went wrong on our side and I couldn't finish that. Please try again in a minute, "
    'or say "agent" and a person will help you.'
)


async def conversation_paused(sender_id: str) -> bool:
    """True when the conversation is with a person: then silence from the bot is right."""
    agent = Sanic.get_app().ctx.agent
    tracker = await agent.tracker_store.retrieve(sender_id)
    return tracker is not None and tracker.is_paused()


class ReliableRestInput(RestInput):
    """The `rest` channel (same URL and payload) with an apology instead of silence on failure."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        async def answered(message: UserMessage) -> None:
            await on_new_message(message)
            collector = message.output_channel
            # Streaming responses use a queue, not a list: those are left as Rasa sends them.
            if type(collector) is not CollectingOutputChannel or collector.messages:
                return
            if await conversation_paused(message.sender_id or ""):
                return
            logger.warning("no reply produced for a message; sending the apology instead")
            await collector.send_text_message(message.sender_id or "", APOLOGY)

        return super().blueprint(answered)
