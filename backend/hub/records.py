"""The small records channels and the hub exchange: nothing else knows a channel's wire format."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from backend.i18n import N_, t

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# How an agent's message opens where the chat cannot label it (Telegram): "客服 李伟：".
AUTHOR_LINE = N_("{name} (customer service):")


@dataclass(frozen=True)
class Button:
    """A choice offered with a bot message; `payload` is what is sent back when it is pressed."""

    title: str
    payload: str


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class InboundFile:
    """A file the shipper sent (a photo), as bytes; its type is checked from the content, not the name."""

    data: bytes
    filename: str | None = None


@dataclass(frozen=True)
class Inbound:
    """One message from a shipper, as a channel parsed it."""

    channel: str
    external_id: str
    text: str = ""
    # The channel's own id of this message (Telegram update_id, the widget's client message id):
    # a replay with the same id is processed once.
    channel_message_id: str | None = None
    files: tuple[InboundFile, ...] = ()
    # Why a file the shipper sent could not be fetched (too large for the channel, a failed download).
    file_problem: str | None = None
    # A phone number the channel vouches is the sender's own (a Telegram contact whose user_id is
    # the sender's). Any other number a shipper types is only a claim.
    own_phone: str | None = None
    # A phone number shared as a contact that is not the sender's own.
    other_phone: str | None = None
    language_hint: str | None = None
    # A button of one of our own messages was pressed: (message id, index of the button). The hub
    # looks the payload up in the stored message, so a client can only press what it was offered.
    button: tuple[int, int] | None = None
    # The channel's own bookkeeping, done in the transaction that stores the message, so that it
    # costs no trip of its own (Telegram marks its stored update processed: the hub has it now).
    in_store: Callable[[Session], None] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        # Half an emoji (a UTF-16 surrogate alone, from a client that cut a message in the middle of
        # one) cannot be stored as UTF-8: it becomes the replacement character, and the rest is kept.
        if self.text and _LONE_SURROGATE.search(self.text):
            object.__setattr__(self, "text", _LONE_SURROGATE.sub("\ufffd", self.text))

    @property
    def conversation_id(self) -> str:
        return f"{self.channel}:{self.external_id}"


@dataclass(frozen=True)
class Outbound:
    """One message to a shipper, already stored in the transcript."""

    conversation_id: str
    message_id: int
    sender: str  # bot | agent | system
    text: str
    created_at: datetime
    buttons: tuple[Button, ...] = ()
    # Ask the channel to offer the shipper a way to share their own phone number (Telegram's
    # contact button), because the bot needs it to list their shipments.
    request_contact: bool = False
    # The display name of the agent who wrote it ("Li Wei"), shown to the shipper instead of "Agent".
    author: str | None = None

    def signed_text(self, language: str | None) -> str:
        """The text as a chat without name labels shows it: an agent's message opens with their name."""
        if self.sender != "agent" or not self.author:
            return self.text
        return f"{t(language, AUTHOR_LINE, name=self.author)}\n{self.text}"

    def to_json(self) -> dict[str, Any]:
        """The shape the widget and the console read."""
        return {
            "id": self.message_id,
            "direction": "out",
            "sender": self.sender,
            "text": self.text,
            "buttons": [{"title": b.title, "payload": b.payload} for b in self.buttons],
            "author": self.author,
            "created_at": self.created_at.isoformat(),
        }


class ChannelAdapter(Protocol):
    """The outbound half of a channel: sends one stored message to the shipper."""

    name: str

    async def deliver(self, external_id: str, message: Outbound) -> None: ...


@dataclass
class Turn:
    """What the hub did with one inbound message."""

    conversation_id: str
    duplicate: bool = False
    state: str = "bot"
    replies: list[Outbound] = field(default_factory=list)
