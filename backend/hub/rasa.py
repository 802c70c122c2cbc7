"""The hub's client of the Rasa server: the `hub` input channel and Rasa's HTTP API.

The hub alone sets the sender id, and the channel only takes messages that carry the shared secret,
so nobody who reaches port 5005 can speak as `telegram:<someone>`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from backend.hub.http1 import Http1Pool, HttpError
from backend.hub.records import Button

logger = logging.getLogger(__name__)

HUB_WEBHOOK = "/webhooks/hub/webhook"
# Names the conversation of every call, so a balancer in front of several Rasa processes sends all of a
# conversation's turns to the same one (deploy/nginx.conf.j2 hashes it): that process keeps its tracker
# (bot/stores/tracker.py) instead of reading it back each turn, and no two processes wait on one lock.
CONVERSATION_HEADER = "X-Conversation-Id"


class RasaUnavailable(RuntimeError):
    """Rasa (or the action server behind it) did not answer in time."""


@dataclass(frozen=True)
class BotReply:
    text: str
    buttons: tuple[Button, ...] = ()
    request_contact: bool = False


def turn_failed(payload: Any) -> bool:
    """Rasa's hub channel says the turn produced nothing although the bot has the conversation (an
    action failed): a failed try, like a timeout, not an empty answer (bot/channels/hub.py)."""
    return isinstance(payload, list) and any(
        isinstance(item, dict) and isinstance(item.get("custom"), dict) and item["custom"].get("turn_failed")
        for item in payload
    )


def parse_replies(payload: Any) -> list[BotReply]:
    """Rasa's collected messages (`text`, `buttons`, `custom`) as BotReply records."""
    replies: list[BotReply] = []
    for item in payload if isinstance(payload, list) else []:
        if not isinstance(item, dict):
            continue
        custom: dict[str, Any] = item["custom"] if isinstance(item.get("custom"), dict) else {}
        text = str(item.get("text") or custom.get("text") or "").strip()
        buttons = tuple(
            Button(title=str(b.get("title", "")), payload=str(b.get("payload", b.get("title", ""))))
            for b in item.get("buttons") or []
            if isinstance(b, dict) and b.get("title")
        )
        if text or buttons:
            replies.append(
                BotReply(text=text, buttons=buttons, request_contact=bool(custom.get("request_contact")))
            )
    return replies


class RasaGateway:
    """Sends shipper text to Rasa and brings back the bot's answers."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str,
        channel_secret: str | None,
        api_token: str | None,
        timeout_s: float = 10.0,
        concurrency: int = 16,
        wait_s: float | None = None,
    ) -> None:
        self._client = client
        self._base = base_url.rstrip("/")
        self._secret = channel_secret or ""
        self._token = api_token
        self._timeout = timeout_s
        # A turn goes through a lighter client than httpx on kept-alive connections (backend.hub.http1):
        # httpx's own work was most of the hop's cost. The rarer calls of Rasa's HTTP API use `client`.
        self._turns = Http1Pool(self._base)
        # At most `concurrency` calls of this process are with Rasa at once; the others wait here, at
        # most `wait_s` (default `timeout_s`). Rasa runs every turn it is sent at once on one CPU-bound
        # loop, so in a surge an unbounded stream of turns made each one slower than the timeout,
        # every turn failed and its retry added to the load. Bounded, a turn in Rasa stays quick and a
        # surge waits in line here; a turn that cannot get a place in time fails as a slow Rasa would.
        self._slots = asyncio.Semaphore(concurrency)
        self._wait = timeout_s if wait_s is None else wait_s

    async def aclose(self) -> None:
        """Close the kept-alive connections of turns to Rasa (the app's shutdown)."""
        await self._turns.aclose()

    @property
    def longest_call_s(self) -> float:
        """The longest one call may take: the wait for a place, then Rasa's own timeout."""
        return self._wait + self._timeout

    async def send(
        self,
        sender_id: str,
        text: str,
        metadata: dict[str, Any] | None = None,
        *,
        message_id: str | None = None,
    ) -> list[BotReply]:
        """One shipper message through the hub channel; raises RasaUnavailable on any failure.

        `message_id` names the turn: Rasa keeps it on the user event, and answers a message it has
        already run with that run's answers instead of running it again.
        """
        payload: dict[str, Any] = {"sender": sender_id, "message": text, "metadata": dict(metadata or {})}
        if message_id is not None:
            payload["message_id"] = message_id
            payload["metadata"]["message_id"] = message_id
        headers = {CONVERSATION_HEADER: sender_id, "Authorization": f"Bearer {self._secret}"}
        body = json.dumps(payload).encode()
        await self._take_place(HUB_WEBHOOK)
        try:
            _, raw = await self._turns.post_json(HUB_WEBHOOK, body, headers, timeout_s=self._timeout)
            answer = json.loads(raw)
        except (HttpError, ValueError) as error:
            logger.warning("rasa webhook failed: %s", error)
            raise RasaUnavailable(str(error)) from error
        finally:
            self._slots.release()
        if turn_failed(answer):
            logger.warning("rasa could not finish a turn of %s (an action failed)", sender_id)
            raise RasaUnavailable("the bot could not finish the turn")
        return parse_replies(answer)

    async def resume(self, sender_id: str) -> None:
        """Un-pause Rasa's tracker so that the bot answers this conversation again."""
        path = self._conversation_path(sender_id, "tracker/events")
        await self._post(path, [{"event": "resume"}], sender_id)

    async def execute(self, sender_id: str, action: str) -> list[BotReply]:
        """Run one of the bot's actions without a shipper message (the bot is back after a hand-back).

        An intent would need training examples, and then shipper text could trigger it too. Rasa runs
        no prediction loop after an executed action, so the tracker is then put back to listening, as
        after any bot turn: the policies read the shipper's next message from the usual state.
        """
        path = self._conversation_path(sender_id, "execute")
        response = await self._post(path, {"name": action}, sender_id)
        await self._post(path, {"name": "action_listen"}, sender_id)
        return parse_replies(response.json().get("messages", []))

    def _conversation_path(self, sender_id: str, tail: str) -> str:
        # Rasa (Sanic) matches the raw path and does not percent-decode it: "telegram%3A42" would be
        # another conversation. The hub's ids are `<channel>:<digits or uuid>`, safe as they are.
        return f"/conversations/{quote(sender_id, safe=':@')}/{tail}"

    async def _take_place(self, path: str) -> None:
        """One of the `concurrency` places with Rasa, waited for at most `wait_s`; the caller releases it."""
        if not self._slots.locked():
            # A place is free: taken at once, without wait_for's task and timer on every turn.
            await self._slots.acquire()
            return
        try:
            await asyncio.wait_for(self._slots.acquire(), self._wait)
        except asyncio.TimeoutError:
            logger.warning("rasa %s not sent: no free place for %.0f s", path.split("/")[-1], self._wait)
            raise RasaUnavailable("Rasa is busy") from None

    async def _post(self, path: str, payload: Any, sender_id: str, *, auth: bool = False) -> httpx.Response:
        headers = {CONVERSATION_HEADER: sender_id}
        if auth:
            headers["Authorization"] = f"Bearer {self._secret}"
        params = {} if auth or not self._token else {"token": self._token}
        await self._take_place(path)
        try:
            response = await self._client.post(
                self._base + path, json=payload, headers=headers, params=params, timeout=self._timeout
            )
            response.raise_for_status()
        except httpx.HTTPError as error:
            logger.warning("rasa %s failed: %s", path.split("/")[-1], error.__class__.__name__)
            raise RasaUnavailable(str(error)) from error
        finally:
            self._slots.release()
        return response
