"""What the end-to-end tests share: clean replies, the complaint's steps, a shipper's Telegram chat."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any

import httpx

from backend.channels.telegram import SECRET_HEADER, WEBHOOK_PATH
from tests.fakes.telegram_api import FakeBotApi, text_update
from tools.stack import Stack


def said(replies: list[str]) -> str:
    return " ".join(replies).lower()


def assert_clean(replies: list[str]) -> None:
    """No template name, no None, no traceback ever reaches the customer."""
    text = " ".join(replies)
    assert replies, "the bot said nothing"
    assert not re.search(r"\butter_\w+|\baction_\w+|\bNone\b|Traceback|Exception|\{[a-z_]+\}", text), text


def assert_never_three_alike(transcript: list[str]) -> None:
    """No bot message is sent three times in a row (the guard of issue 8)."""
    for first, second, third in zip(transcript, transcript[1:], transcript[2:], strict=False):
        assert not (first == second == third), f"said three times in a row: {first!r}"


# The first answer to a complaint acknowledges and apologises, in words that vary.
CALMED = "<calmed>"
# ...and goes on with the complaint: a question of the form or the summary.
COMPLAINT_STEPS = (
    "what happened",
    "which shipment",
    "what would you like",
    "what exactly",
    "value of the goods",
    "photo",
    "when did this happen",
    "is that right",
)


@dataclass
class Telegram:
    """One backend's Telegram channel as seen from Telegram's side."""

    mode: str
    api: FakeBotApi
    backend: Stack
    secret: str = ""

    def push(self, update: dict[str, Any]) -> None:
        """Deliver an update the way Telegram would in this mode."""
        if self.mode == "webhook":
            response = httpx.post(
                self.backend.backend_url + WEBHOOK_PATH,
                json=update,
                headers={SECRET_HEADER: self.secret},
                timeout=10,
            )
            assert response.status_code == 200, response.text
        else:
            self.api.queue_updates(update)

    def new_chat(self) -> Chat:
        return Chat(self, random.randint(10**9, 8 * 10**9))


@dataclass
class Chat:
    """A shipper's private chat with the bot (the chat id is the user id, as in Telegram)."""

    tg: Telegram
    id: int

    def wait(
        self, *, after: int = 0, expect: str | tuple[str, ...] | None = None, quiet: float = 1.0
    ) -> list[dict[str, Any]]:
        return self.tg.api.wait_for_messages(self.id, after=after, expect=expect, quiet=quiet)

    def send(
        self, update: dict[str, Any], *, expect: str | tuple[str, ...] | None = None
    ) -> list[dict[str, Any]]:
        """Push one update; the messages the bot sent this chat in answer."""
        mark = len(self.tg.api.sent(self.id))
        self.tg.push(update)
        return self.wait(after=mark, expect=expect)

    def say(self, text: str, *, expect: str | tuple[str, ...] | None = None) -> list[str]:
        """Send a text; the bot's answers, which must contain `expect` (or one of several) when given."""
        replies = texts(self.send(text_update(self.id, text), expect=expect))
        assert_clean(replies)
        wanted = (expect,) if isinstance(expect, str) else expect or ()
        if wanted:
            assert any(
                w.lower() in said(replies) for w in wanted
            ), f"after {text!r} expected {expect!r} in {replies}"
        return replies

    def tickets(self) -> list[dict[str, Any]]:
        response = httpx.get(
            f"{self.tg.backend.backend_url}/api/tickets",
            params={"conversation_id": f"telegram:{self.id}"},
            headers={"Authorization": f"Bearer {self.tg.backend.api_token}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return list(response.json()["tickets"])


def texts(messages: list[dict[str, Any]]) -> list[str]:
    return [str(m.get("text", "")) for m in messages]
