"""Rasa's REST channel behind a shared secret, and never leaving the customer without an answer.

Only the backend's hub and the project's own tools (`make chat`, tests, evaluation) talk to Rasa, and
they prove it with `Authorization: Bearer <RASA_CHANNEL_SECRET>`: a process that merely reaches port
5005 cannot speak as `telegram:<someone>`. Without a configured secret every message is refused.

When a custom action fails (the action server is down or answers with an error), Rasa logs it and
goes on without the action's messages: the customer would see nothing. This channel notices a turn
that produced no message and, unless the conversation is paused because a person has it, sends a
short apology with what to do instead.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from backend.i18n import N_, t
from bot import rasa_tuning

logger = logging.getLogger(__name__)

SECRET_VARIABLE = "RASA_CHANNEL_SECRET"
APOLOGY = N_(
    "Sorry, something went wrong on our side and I couldn't finish that. Please try again in a minute, "
    'or say "agent" and a person will help you.'
)


async def conversation_paused(sender_id: str) -> bool:
    """True when the conversation is with a person: then silence from the bot is right."""
    agent = Sanic.get_app().ctx.agent
    tracker = await agent.tracker_store.retrieve(sender_id)
    return tracker is not None and tracker.is_paused()


async def conversation_language(sender_id: str, metadata: dict[str, Any] | None) -> str | None:
    """The language the conversation is answered in: the tracker's slot, else the hub's metadata."""
    agent = Sanic.get_app().ctx.agent
    tracker = await agent.tracker_store.retrieve(sender_id)
    slot = tracker.get_slot("language") if tracker is not None and "language" in tracker.slots else None
    hinted = (metadata or {}).get("language")
    return slot if isinstance(slot, str) else hinted if isinstance(hinted, str) else None


def authorised(request: Request, secret: str) -> bool:
    """The request carries `Authorization: Bearer <secret>` (compared in constant time)."""
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    return (
        bool(secret) and scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), secret.encode())
    )


class ReliableRestInput(RestInput):
    """The `rest` channel (same URL and payload) behind the secret, with an apology instead of silence."""

    def __init__(self) -> None:
        self.secret = os.environ.get(SECRET_VARIABLE, "")
        if not self.secret:
            logger.error("%s is not set: the %s channel refuses every message", SECRET_VARIABLE, self.name())

    @classmethod
    def name(cls) -> str:
        return "rest"

    async def before_message(self, message: UserMessage) -> None:
        """A hook for subclasses, called before Rasa handles the message."""

    async def earlier_answers(self, message: UserMessage) -> list[dict[str, Any]] | None:
        """The answers of an earlier run of this very message, which is then not run again; None: run it."""
        return None

    async def nothing_said(self, message: UserMessage, collector: CollectingOutputChannel) -> None:
        """A turn produced no message although the bot has the conversation (an action failed)."""
        logger.warning("no reply produced for a message; sending the apology instead")
        language = await conversation_language(message.sender_id or "", message.metadata)
        await collector.send_text_message(message.sender_id or "", t(language, APOLOGY))

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        async def answered(message: UserMessage) -> None:
            collector = message.output_channel
            with rasa_tuning.timed("turn"):
                await self.before_message(message)
                earlier = await self.earlier_answers(message)
                if earlier is not None and type(collector) is CollectingOutputChannel:
                    collector.messages.extend(earlier)
                else:
                    await on_new_message(message)
            # Streaming responses use a queue, not a list: those are left as Rasa sends them.
            if type(collector) is not CollectingOutputChannel or collector.messages:
                return
            if await conversation_paused(message.sender_id or ""):
                return
            await self.nothing_said(message, collector)

        blueprint = super().blueprint(answered)

        @blueprint.listener("before_server_stop")
        async def close_action_sessions(_app: Sanic, _loop: object) -> None:
            # The kept-alive sessions of bot.rasa_tuning end with the server, not at garbage collection.
            await rasa_tuning.close_sessions()

        @blueprint.route("/stats", methods=["GET"])
        async def stats(request: Request) -> HTTPResponse:
            """Where this Rasa process's turns spent their time (bot.rasa_tuning.timed), for `make bench`."""
            if not authorised(request, self.secret):
                return response.json({"error": "a valid channel secret is required"}, status=401)
            return response.json(rasa_tuning.timings())

        @blueprint.middleware("request")
        async def require_secret(request: Request) -> HTTPResponse | None:
            if request.method == "POST" and not authorised(request, self.secret):
                return response.json({"error": "a valid channel secret is required"}, status=401)
            return None

        return blueprint
