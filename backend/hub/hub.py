"""The hub: stores every message once, decides from the database who answers, delivers every reply.

Channels (Telegram, the web widget), the console and proactive jobs all call the hub; the hub calls
the services and Rasa. The conversation's `state` in the database is the single truth for who speaks:
`bot` (the text goes to Rasa), `queued` (waiting for a person) or `agent` (a person has it). Nothing
here knows a channel's wire format.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from weakref import WeakValueDictionary

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from backend.complaints import wording
from backend.db import session_scope
from backend.domain import PHOTO_FOR_BOT
from backend.hub import follow_up
from backend.hub.broker import AGENTS_TOPIC, Broker, conversation_topic
from backend.hub.rasa import BotReply, RasaGateway, RasaUnavailable
from backend.hub.records import Button, ChannelAdapter, Inbound, Outbound, Turn
from backend.i18n import N_, sentences, t
from backend.language import DEFAULT_LANGUAGE, detect_language
from backend.models import Conversation, Message, utcnow
from backend.services import conversations as conv
from backend.services import customers
from backend.services.attachments import (
    PHOTO_ONLY_TEXT,
    AttachmentFile,
    UploadRejected,
    attachment_file,
    store_attachment,
)
from backend.services.tickets import BusinessCalendar, get_ticket

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Longer messages are cut before they reach the bot (the transcript keeps them whole).
MAX_BOT_TEXT = 4000
# Never store more than this of one message: a flood must not fill the database.
MAX_STORED_TEXT = 20_000

TRY_AGAIN_TEXT = N_(
    "Sorry, I'm having trouble answering right now. Please try again in a moment; your message is saved."
)
STALE_BUTTON_TEXT = N_("That choice is no longer available. Could you type your answer instead?")
# A button of an earlier message, or one pressed twice: it belongs to a question already answered.
EARLIER_BUTTON_TEXT = N_(
    "That choice belongs to an earlier question and is no longer available, so nothing has changed."
)
EMPTY_TEXT = N_(
    "I didn't receive any text. How can I help? You can send a waybill number, like EA123456785CN."
)
CUT_TEXT = N_(
    "Your message was very long, so I read its first 4,000 characters. If I missed something, "
    "please send it in a shorter message."
)
WAITING_TEXT = N_(
    "Thank you, I've added that to your conversation. A colleague will reply here as soon as they can."
)
OTHER_CONTACT_TEXT = N_(
    "Thanks. For your privacy I can only look up shipments for the phone number of your own Telegram "
    "account. Please share your own contact, or send a waybill number."
)
# The bot's action that says it is back and what it can do.
BACK_ACTION = "action_back_from_agent"
# Shipper text that starts like a Rasa command ("/restart", '/inform{"x": 1}') is plain text here.
_SLASH_COMMAND = re.compile(r"^\s*/+")
# The session.info key of the live events a transaction publishes once it has committed.
_EVENTS = "hub_events_after_commit"


@dataclass(frozen=True)
class _Stored:
    """What the database step of an inbound message decided."""

    duplicate: bool
    state: str
    send_waiting_notice: bool = False
    system_lines: tuple[str, ...] = ()
    # The payload of a button we offered and the shipper pressed: sent to the bot as it is.
    button_payload: str | None = None
    # The message answered a satisfaction follow-up: this is the reply, and the bot is not asked.
    follow_up_reply: str | None = None
    # Files that were stored as photos (refused ones are not photos for the bot).
    photos: int = 0
    # The conversation's language after this message ("zh" or "en"), passed to the bot.
    language: str = DEFAULT_LANGUAGE
    # A button of an earlier message (or one already answered) was pressed: nothing reaches the bot;
    # the question still open, if any, is asked again as it was (text, buttons).
    stale_press: bool = False
    open_question: tuple[str, tuple[Button, ...]] | None = None


def plain_text(text: str) -> str:
    """The text the bot reads: never an intent command, never longer than MAX_BOT_TEXT."""
    return _SLASH_COMMAND.sub("", text)[:MAX_BOT_TEXT].strip()


def _later_messages(session: Session, cid: str, message_id: int) -> list[Message]:
    return list(
        session.scalars(
            select(Message)
            .where(Message.conversation_id == cid, Message.id > message_id)
            .order_by(Message.id)
        )
    )


def _still_open(session: Session, cid: str, message_id: int) -> bool:
    """Whether the question of message `message_id` still waits for its answer: the shipper has sent
    nothing since (typed or pressed), and no later message offers other buttons. A button is an
    answer to the message that carried it, never to whatever is asked now."""
    return not any(
        m.direction == "in" or (m.direction == "out" and m.buttons)
        for m in _later_messages(session, cid, message_id)
    )


def _open_question(session: Session, cid: str) -> tuple[str, tuple[Button, ...]] | None:
    """The latest message with buttons, when it is still waiting for its answer."""
    latest = session.scalars(
        select(Message)
        .where(Message.conversation_id == cid, Message.direction == "out", Message.sender == "bot")
        .order_by(Message.id.desc())
        .limit(20)
    )
    for message in latest:
        if message.buttons:
            if not _still_open(session, cid, message.id):
                return None
            buttons = tuple(Button(title=str(b["title"]), payload=str(b["payload"])) for b in message.buttons)
            return message.text, buttons
    return None


class Hub:
    """The one router between shippers, the bot and agents."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        rasa: RasaGateway,
        broker: Broker,
        *,
        upload_dir: Path,
        upload_max_bytes: int = 10 * 1024 * 1024,
        calendar: BusinessCalendar | None = None,
    ) -> None:
        self._factory = session_factory
        self._rasa = rasa
        self.broker = broker
        self._upload_dir = upload_dir
        self._upload_max = upload_max_bytes
        self._calendar = calendar or BusinessCalendar()
        self._channels: dict[str, ChannelAdapter] = {}
        # One lock per live conversation keeps its messages in order, in and out.
        self._locks: WeakValueDictionary[str, asyncio.Lock] = WeakValueDictionary()

    # -- wiring -------------------------------------------------------------------------------------

    def register(self, adapter: ChannelAdapter) -> None:
        """A channel that delivers outbound messages for conversations `<adapter.name>:<id>`."""
        self._channels[adapter.name] = adapter

    def _lock(self, conversation_id: str) -> asyncio.Lock:
        lock = self._locks.get(conversation_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[conversation_id] = lock
        return lock

    async def run_db(self, work: Callable[[Session], T]) -> T:
        """Run a short transaction in a worker thread (the database driver blocks).

        Live events the work queued (`_queue_event`) are published only once the transaction has
        committed: a rolled-back message must never appear in a console or a widget.
        """

        def run() -> T:
            with session_scope(self._factory) as session:
                result = work(session)
                events: list[tuple[str, dict[str, Any]]] = session.info.pop(_EVENTS, [])
            for topic, event in events:
                self.broker.publish(topic, event)
            return result

        return await run_in_threadpool(run)

    # -- inbound ------------------------------------------------------------------------------------

    async def receive(self, inbound: Inbound) -> Turn:
        """Store a shipper's message once and have the right party answer it."""
        cid = inbound.conversation_id
        lock = self._lock(cid)
        async with lock:
            stored = await self.run_db(lambda s: self._store_inbound(s, inbound))
            turn = Turn(conversation_id=cid, duplicate=stored.duplicate, state=stored.state)
            if stored.duplicate:
                logger.info("replayed message %s in %s ignored", inbound.channel_message_id, cid)
                return turn
            for line in stored.system_lines:
                turn.replies.append(await self._say(cid, line, sender="system"))
            if stored.state != "bot":
                if stored.send_waiting_notice:
                    waiting = self._waiting_text(stored.language)
                    turn.replies.append(await self._say(cid, waiting, sender="system"))
                return turn
            if stored.stale_press:
                turn.replies.append(
                    await self._say(cid, t(stored.language, EARLIER_BUTTON_TEXT), sender="bot")
                )
                if stored.open_question is not None:
                    question, buttons = stored.open_question
                    turn.replies.append(await self._say(cid, question, sender="bot", buttons=buttons))
                return turn
            if stored.follow_up_reply is not None:
                turn.replies.append(await self._say(cid, stored.follow_up_reply, sender="bot"))
                return turn
            if (inbound.files or inbound.file_problem) and not stored.photos and not inbound.text.strip():
                return turn  # only refused files: the polite refusal above is the whole answer
            replies, state = await self._ask_bot(
                inbound, stored.button_payload, photos=stored.photos, language=stored.language
            )
            turn.replies += replies
            if state is None:
                state = await self.run_db(lambda s: conv.ensure_conversation(s, cid).state)
            if state != "bot":
                turn.state = state
                self._publish_state(cid, state, owner=None)
            return turn

    def _waiting_text(self, language: str | None = None) -> str:
        """ "A colleague will reply", and outside business hours also when they start work again."""
        waiting = t(language, WAITING_TEXT)
        hours = wording.after_hours_text(self._calendar, utcnow(), language)
        return waiting if hours is None else sentences(language, [waiting, hours])

    def _store_inbound(self, session: Session, inbound: Inbound) -> _Stored:
        cid = inbound.conversation_id
        conversation = conv.ensure_conversation(session, cid)
        # Read from every message the shipper types; a message without words keeps the language.
        conversation.language = detect_language(
            inbound.text, previous=conversation.language, hint=inbound.language_hint
        )
        text = inbound.text[:MAX_STORED_TEXT]
        pressed = self._pressed_button(session, cid, inbound.button) if inbound.button else None
        stale = (
            pressed is not None
            and inbound.button is not None
            and not _still_open(session, cid, inbound.button[0])
        )
        # Read before this press is stored: the question still waiting for an answer, if any.
        open_question = _open_question(session, cid) if stale else None
        if pressed is not None:
            text = pressed.title
        if not text and inbound.own_phone:
            text = inbound.own_phone
        elif not text and inbound.other_phone:
            text = inbound.other_phone
        elif not text and (inbound.files or inbound.file_problem):
            text = PHOTO_ONLY_TEXT
        message = conv.record_message(
            session,
            conversation_id=cid,
            direction="in",
            sender="shipper",
            text=text,
            channel_message_id=inbound.channel_message_id,
        )
        if message is None:
            return _Stored(duplicate=True, state=conversation.state)
        # The channel names the problem by its English msgid; it is said in the shipper's language.
        lines: list[str] = [t(conversation.language, inbound.file_problem)] if inbound.file_problem else []
        stored_files = 0
        for file in inbound.files:
            try:
                store_attachment(
                    session,
                    conversation_id=cid,
                    data=file.data,
                    upload_dir=self._upload_dir,
                    max_bytes=self._upload_max,
                    message_id=message.id,
                )
                stored_files += 1
            except UploadRejected as rejected:
                lines.append(rejected.text(conversation.language))
        if inbound.own_phone:
            customers.verify_by_own_contact(session, conversation_id=cid, phone=inbound.own_phone)
        self._publish_message(session, cid, message)
        state = conversation.state
        notice = state != "bot" and conv.take_waiting_notice(session, conversation_id=cid)
        if stale and state == "bot":
            return _Stored(
                duplicate=False,
                state=state,
                system_lines=tuple(lines),
                language=conversation.language,
                stale_press=True,
                open_question=open_question,
            )
        reply = None
        if state == "bot" and (owed := follow_up.pending(session, cid)) is not None:
            reply = follow_up.answer(
                session, owed, pressed.payload if pressed else text, language=conversation.language
            )
        return _Stored(
            duplicate=False,
            state=state,
            send_waiting_notice=notice,
            system_lines=tuple(lines),
            button_payload=pressed.payload if pressed else None,
            follow_up_reply=reply,
            photos=stored_files,
            language=conversation.language,
        )

    @staticmethod
    def _pressed_button(session: Session, cid: str, ref: tuple[int, int]) -> Button | None:
        """The button at `ref` if it is one we offered in this conversation, else None."""
        message_id, index = ref
        message = session.get(Message, message_id)
        if message is None or message.conversation_id != cid or message.direction != "out":
            return None
        buttons = message.buttons or []
        if not 0 <= index < len(buttons):
            return None
        return Button(title=str(buttons[index]["title"]), payload=str(buttons[index]["payload"]))

    async def _ask_bot(
        self,
        inbound: Inbound,
        button_payload: str | None = None,
        *,
        photos: int = 0,
        language: str = DEFAULT_LANGUAGE,
    ) -> tuple[list[Outbound], str | None]:
        """The turn's answers, and the conversation's state after them when it was read on the way."""
        cid = inbound.conversation_id
        if inbound.other_phone and not inbound.own_phone:
            return [await self._say(cid, t(language, OTHER_CONTACT_TEXT), sender="bot")], None
        metadata: dict[str, Any] = {"channel": inbound.channel, "language": language}
        if button_payload is not None:
            # Our own button: its payload may be an intent ("/affirm"); the hub channel trusts it.
            metadata["button"] = True
            return await self._bot_answers(cid, button_payload, metadata, [])
        text = plain_text(inbound.text)
        if inbound.button is not None and not text:
            # A button we did not offer in this conversation (an old keyboard, or someone else's).
            return [await self._say(cid, t(language, STALE_BUTTON_TEXT), sender="bot")], None
        if inbound.own_phone and not text:
            text = inbound.own_phone
        if not text and photos:
            text = PHOTO_FOR_BOT
        if not text:
            return [await self._say(cid, t(language, EMPTY_TEXT), sender="bot")], None
        replies: list[Outbound] = []
        if len(inbound.text) > MAX_BOT_TEXT:
            replies.append(await self._say(cid, t(language, CUT_TEXT), sender="bot"))
        if photos:
            metadata["attachments"] = photos
        return await self._bot_answers(cid, text, metadata, replies)

    async def _bot_answers(
        self, cid: str, text: str, metadata: dict[str, Any], replies: list[Outbound]
    ) -> tuple[list[Outbound], str | None]:
        try:
            answers = await self._rasa.send(cid, text, metadata)
        except RasaUnavailable:
            try_again = t(metadata.get("language"), TRY_AGAIN_TEXT)
            return [*replies, await self._say(cid, try_again, sender="system")], None
        if not answers:
            # Rasa answered nothing: the conversation may have just been handed to a person.
            return replies, None
        said, state = await self._say_all(cid, answers)
        return replies + said, state

    # -- outbound -----------------------------------------------------------------------------------

    async def _say_all(self, cid: str, answers: list[BotReply]) -> tuple[list[Outbound], str]:
        """The bot's answers stored in one transaction, which also reads the conversation's state after
        them (an answer may have handed it to a person), then delivered in order: one trip to the
        database per turn instead of one per answer and another for the state."""

        def store(session: Session) -> tuple[list[Outbound], str]:
            said = [
                self._store_outbound(
                    session, cid, a.text, sender="bot", buttons=a.buttons, request_contact=a.request_contact
                )
                for a in answers
            ]
            return said, conv.ensure_conversation(session, cid).state

        said, state = await self.run_db(store)
        for outbound in said:
            await self._deliver(outbound)
        return said, state

    async def _say(
        self,
        cid: str,
        text: str,
        *,
        sender: str,
        buttons: tuple[Button, ...] = (),
        request_contact: bool = False,
        author: str | None = None,
    ) -> Outbound:
        """Store one outbound message, deliver it on the shipper's channel and publish it."""
        outbound = await self.run_db(
            lambda session: self._store_outbound(
                session,
                cid,
                text,
                sender=sender,
                buttons=buttons,
                request_contact=request_contact,
                author=author,
            )
        )
        await self._deliver(outbound)
        return outbound

    def _store_outbound(
        self,
        session: Session,
        cid: str,
        text: str,
        *,
        sender: str,
        buttons: tuple[Button, ...] = (),
        request_contact: bool = False,
        author: str | None = None,
    ) -> Outbound:
        """One outbound message stored (and published to the console) in the caller's transaction."""
        message = conv.record_message(
            session,
            conversation_id=cid,
            direction="out",
            sender=sender,
            text=text,
            buttons=[{"title": b.title, "payload": b.payload} for b in buttons],
            author=author,
        )
        assert message is not None  # outbound messages carry no channel id, so never a replay
        if sender == "agent":
            conv.mark_person_answered(session, conversation_id=cid)
        self._publish_message(session, cid, message)
        return Outbound(
            conversation_id=cid,
            message_id=message.id,
            sender=sender,
            text=text,
            created_at=message.created_at,
            buttons=buttons,
            request_contact=request_contact,
            author=author,
        )

    async def _deliver(self, outbound: Outbound) -> None:
        channel, external = conv.parse_conversation_id(outbound.conversation_id)
        adapter = self._channels.get(channel)
        if adapter is None:
            return  # a channel without a live adapter (rest, web) reads the transcript or the broker
        try:
            await adapter.deliver(external, outbound)
        except Exception:  # a failed send must not lose the stored message or stop the others
            logger.exception("delivery of message %s on %s failed", outbound.message_id, channel)

    @staticmethod
    def _queue_event(session: Session, topic: str, event: dict[str, Any]) -> None:
        """An event published by run_db after this session's transaction commits (never on a rollback)."""
        session.info.setdefault(_EVENTS, []).append((topic, event))

    def _publish_message(self, session: Session, cid: str, message: Message) -> None:
        # The event is built now, while the message (and its attachments) can be read in the session.
        event = {"type": "message", "conversation_id": cid, "message": conv.message_to_dict(message)}
        self._queue_event(session, conversation_topic(cid), event)
        self._queue_event(session, AGENTS_TOPIC, event)

    def announce(self, conversation_id: str, event: dict[str, Any]) -> None:
        """An event for the agents watching one conversation (a note): never reaches the shipper."""
        self.broker.publish(conversation_topic(conversation_id), event)

    def changed_hands(self, conversation_id: str, owner: str, *, by: str) -> None:
        """A transfer: every console hears it, so the new holder's queue and page show it at once."""
        event = {
            "type": "state",
            "conversation_id": conversation_id,
            "state": "agent",
            "owner": owner,
            "transferred_by": by,
        }
        self.broker.publish(conversation_topic(conversation_id), event)
        self.broker.publish(AGENTS_TOPIC, event)

    def _publish_state(self, cid: str, state: str, owner: str | None) -> None:
        event = {"type": "state", "conversation_id": cid, "state": state, "owner": owner}
        self.broker.publish(conversation_topic(cid), event)
        self.broker.publish(AGENTS_TOPIC, event)

    # -- the agents' side (the console calls these) --------------------------------------------------

    async def push(
        self,
        conversation_id: str,
        text: str,
        *,
        sender: str = "agent",
        buttons: tuple[Button, ...] = (),
        author: str | None = None,
    ) -> Outbound:
        """Send a message into any conversation on its own channel (an agent's reply, a follow-up).

        `author` is the agent's display name: the shipper sees who writes, not "Agent".
        """
        async with self._lock(conversation_id):
            await self.run_db(lambda s: conv.ensure_conversation(s, conversation_id))
            return await self._say(conversation_id, text, sender=sender, buttons=buttons, author=author)

    async def ask_follow_up(self, ticket_number: str) -> Outbound | None:
        """Ask the shipper, once, how satisfied they are with a resolved ticket; None when not due."""

        def due(session: Session) -> tuple[str, str] | None:
            if not follow_up.should_ask(session, ticket_number):
                return None
            ticket = get_ticket(session, ticket_number)
            assert ticket is not None and ticket.conversation_id
            follow_up.mark_asked(session, ticket_number)
            conversation = session.get(Conversation, ticket.conversation_id)
            language = getattr(conversation, "language", None) or getattr(ticket, "language", None)
            return ticket.conversation_id, follow_up.question_text(ticket, language)

        asked = await self.run_db(due)
        if asked is None:
            return None
        cid, text = asked
        async with self._lock(cid):
            return await self._say(cid, text, sender="bot", buttons=follow_up.RATING_BUTTONS)

    async def claim(self, conversation_id: str, *, agent: str) -> Conversation:
        """An agent takes the conversation; raises AlreadyClaimed when another agent holds it."""
        conversation = await self.run_db(
            lambda s: conv.claim_conversation(s, conversation_id=conversation_id, agent=agent)
        )
        self._publish_state(conversation_id, conversation.state, conversation.owner)
        return conversation

    async def release(self, conversation_id: str) -> Conversation:
        """The agent puts the conversation back in the queue."""
        conversation = await self.run_db(
            lambda s: conv.release_conversation(s, conversation_id=conversation_id)
        )
        self._publish_state(conversation_id, conversation.state, None)
        return conversation

    async def hand_back(self, conversation_id: str, *, action: str = BACK_ACTION) -> list[Outbound]:
        """The bot speaks again: the database says so first, then Rasa's tracker is resumed.

        If Rasa cannot be reached now, the database still says `bot`, and the hub channel resumes the
        paused tracker with the shipper's next message, so that message is never silently dropped.
        """
        async with self._lock(conversation_id):
            await self.run_db(lambda s: conv.hand_back_to_bot(s, conversation_id=conversation_id))
            self._publish_state(conversation_id, "bot", None)
            try:
                await self._rasa.resume(conversation_id)
                answers = await self._rasa.execute(conversation_id, action)
            except RasaUnavailable:
                logger.warning(
                    "hand-back of %s: Rasa unreachable; it resumes on the next message", conversation_id
                )
                return []
            said, _ = await self._say_all(conversation_id, answers)
            return said

    async def attachment_file(
        self, attachment_id: int, *, conversation_id: str | None = None
    ) -> AttachmentFile | None:
        """A stored photo's file for the widget (only its own conversation's) or the console, or None."""
        return await self.run_db(
            lambda s: attachment_file(
                s, attachment_id, upload_dir=self._upload_dir, conversation_id=conversation_id
            )
        )

    async def speaker(self, conversation_id: str) -> str:
        """Who speaks in the conversation now: "bot", "queued" or "agent"."""
        return await self.run_db(lambda session: conv.speaker(session, conversation_id))

    async def transcript(self, conversation_id: str, *, limit: int = 200) -> list[dict[str, Any]]:
        """The conversation's messages, oldest first, in the JSON shape of message_to_dict."""

        def read(session: Session) -> list[dict[str, Any]]:
            return [
                conv.message_to_dict(m)
                for m in conv.list_messages(session, conversation_id=conversation_id, limit=limit)
            ]

        return await self.run_db(read)
