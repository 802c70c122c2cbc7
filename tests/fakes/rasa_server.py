"""A fake Rasa server for the hub's tests: the hub channel, resume and execute, over real HTTP.

It answers like Rasa's REST-style channels (a list of messages) and records what it was sent, so a
test can assert which text reached "the bot" for which sender, and that nothing did.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


@dataclass
class FakeRasa:
    secret: str
    # Replies to every message: a list of Rasa messages ({"text", "buttons"}), or a function of the text.
    replies: Any = field(default_factory=lambda: [{"text": "bot reply"}])
    delay_s: float = 0.0
    down: bool = False
    received: list[dict[str, Any]] = field(default_factory=list)
    api_calls: list[tuple[str, str, Any]] = field(default_factory=list)
    # The conversation each call named in its X-Conversation-Id header (for the balancer), in order.
    named: list[str | None] = field(default_factory=list)
    # Messages being answered right now, and the most there ever were at once.
    in_flight: int = 0
    most_in_flight: int = 0

    def texts_for(self, sender: str) -> list[str]:
        return [r["message"] for r in self.received if r["sender"] == sender]

    def app(self) -> Starlette:
        async def hub_webhook(request: Request) -> JSONResponse:
            if request.headers.get("Authorization") != f"Bearer {self.secret}":
                return JSONResponse({"error": "unauthorised"}, status_code=401)
            if self.down:
                return JSONResponse({"error": "down"}, status_code=500)
            payload = await request.json()
            self.received.append(payload)
            self.named.append(request.headers.get("X-Conversation-Id"))
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            try:
                if self.delay_s:
                    await asyncio.sleep(self.delay_s)
            finally:
                self.in_flight -= 1
            replies = self.replies(payload["message"]) if callable(self.replies) else self.replies
            return JSONResponse([{"recipient_id": payload["sender"], **r} for r in replies])

        async def conversation_api(request: Request) -> JSONResponse:
            if self.down:
                return JSONResponse({"error": "down"}, status_code=500)
            # The raw path, as Rasa's Sanic matches it (it does not percent-decode conversation ids).
            raw = request.scope["raw_path"].decode()
            conversation = raw.split("/")[2]
            what = raw.rsplit("/", 1)[-1]
            self.named.append(request.headers.get("X-Conversation-Id"))
            self.api_calls.append((conversation, what, await request.json()))
            if what == "execute":
                back = (await request.json()).get("name") != "action_listen"
                return JSONResponse({"tracker": {}, "messages": [{"text": "I'm back."}] if back else []})
            return JSONResponse({})

        return Starlette(
            routes=[
                Route("/webhooks/hub/webhook", hub_webhook, methods=["POST"]),
                Route("/conversations/{conversation}/tracker/events", conversation_api, methods=["POST"]),
                Route("/conversations/{conversation}/execute", conversation_api, methods=["POST"]),
            ]
        )
