"""The hub: stores every message once, decides from the database who answers, delivers every reply.

Channels (Telegram, the web widget), the console and proactive jobs all call the hub; the hub calls
the services and Rasa. The conversation's `state` in the database is the single truth for who speaks:
`bot` (the text goes to Rasa), `queued` (waiting for a person) or `agent` (a person has it). Nothing
here knows a channel's wire format.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from backend.complaints import wording
from backend.db import session_scope
from backend.domain import PHOTO_FOR_BOT
from backend.hub import care_answers, follow_up, timings
from backend.hub.broker import AGENTS_TOPIC, Broker, conversation_topic
from backend.hub.locks import TurnLocks
from backend.hub.owed import owed_answer
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
    StoredUpload,
    UploadRejected,
    attachment_file,
    put_upload,
    record_attachment,
    store_of,
)
from backend.services.tickets import BusinessCalendar, get_ticket
from backend.storage import UploadStore

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Longer messages are cut before they reach the bot (the transcript keeps them whole).
MAX_BOT_TEXT = 4000
# Never store more than this of one message: a flood must not fill the database.
MAX_STORED_TEXT = 20_000

# Said once when the bot could not answer a message even after a retry: a person takes it from here.
NOT_ANSWERED_TEXT = N_(
    "Sorry, I couldn't answer your message just now. It is saved, and a colleague will reply here "
    "as soon as they can."
)
# A turn taken up this many times without an answer is failed without asking the bot again.
MAX_TURN_ATTEMPTS = 3
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
# Set while a shipper's message is handled (Hub.receive): only those trips count in the hub's timings.
_IN_TURN: ContextVar[bool] = ContextVar("hub_in_turn", default=False)


@dataclass(frozen=True)
class _Stored:
    """What the database step of an inbound message decided."""

    duplicate: bool
    state: str
    send_waiting_notice: bool = False
    system_lines: tuple[str, ...] = ()
    # The conversation's language after this message ("zh" or "en"), passed to the bot.
    language: str = DEFAULT_LANGUAGE
    # The turn the hub answers now (the stored message's id) and its plan (see _plan); None: no
    # answer is owed here (a person has the conversation, or only refused files were sent).
    turn: int | None = None
    plan: dict[str, Any] | None = None
    # A replay of a turn whose process died: the lines said before the bot's turn are not said again.
    taken_up: bool = False
    attempts: int = 1


def _line(text: str, buttons: tuple[Button, ...] = ()) -> dict[str, Any]:
    return {"text": text, "buttons": [{"title": b.title, "payload": b.payload} for b in buttons]}


def _plan_lines(plan: dict[str, Any]) -> list[BotReply]:
    return [
        BotReply(
            text=str(line["text"]),
            buttons=tuple(Button(title=str(b["title"]), payload=str(b["payload"])) for b in line["buttons"]),
        )
        for line in plan.get("say") or []
    ]


def turn_message_id(message_id: int) -> str:
    """The id Rasa keeps for a turn (UserMessage.message_id), so a retry is recognised there."""
    return f"hub-{message_id}"


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
        upload_dir: Path | None = None,
        uploads: UploadStore | None = None,
        upload_max_bytes: int = 10 * 1024 * 1024,
        calendar: BusinessCalendar | None = None,
        turn_lease_s: float = 60.0,
        retry_pause_s: float = 1.0,
        locks: TurnLocks | None = None,
    ) -> None:
        self._factory = session_factory
        # How long a process may work on a turn before another takes it up (longer than two tries of
        # Rasa's timeout and the pause between them), and that pause.
        self._lease_s = turn_lease_s
        self._retry_pause_s = retry_pause_s
        self._rasa = rasa
        self.broker = broker
        # Where photos are kept (backend.storage): `uploads`, else a directory store at `upload_dir`.
        self.uploads = store_of(uploads, upload_dir)
        self._upload_max = upload_max_bytes
        self._calendar = calendar or BusinessCalendar()
        self._channels: dict[str, ChannelAdapter] = {}
        # One lock per live conversation keeps its messages in order, in and out.
        self.locks = locks or TurnLocks()

    # -- wiring -------------------------------------------------------------------------------------

    def register(self, adapter: ChannelAdapter) -> None:
        """A channel that delivers outbound messages for conversations `<adapter.name>:<id>`."""
        self._channels[adapter.name] = adapter

    @contextlib.asynccontextmanager
    async def _turn_lock(self, conversation_id: str) -> AsyncIterator[None]:
        """One turn of a conversation at a time (across processes with Redis), so its messages are
        stored and answered in order."""
        asked = time.perf_counter()
        async with self.locks.hold(conversation_id):
            timings.add("lock", time.perf_counter() - asked)
            yield

    async def run_db(self, work: Callable[[Session], T]) -> T:
        """Run a short transaction in a worker thread (the database driver blocks).

        Live events the work queued (`_queue_event`) are published only once the transaction has
        committed: a rolled-back message must never appear in a console or a widget.
        """

        queued = time.perf_counter()
        spent: list[tuple[str, float]] = []

        def run() -> T:
            started = time.perf_counter()
            with session_scope(self._factory) as session:
                result = work(session)
                events: list[tuple[str, dict[str, Any]]] = session.info.pop(_EVENTS, [])
            published = time.perf_counter()
            for topic, event in events:
                self.broker.publish(topic, event)
            spent.extend(
                (
                    ("db_thread_wait", started - queued),
                    ("db_transaction", published - started),
                    ("publish", time.perf_counter() - published),
                )
            )
            return result

        try:
            return await run_in_threadpool(run)
        finally:
            if _IN_TURN.get():  # the hub's breakdown of a turn (backend.hub.timings)
                for part, seconds in (*spent, ("db_total", time.perf_counter() - queued)):
                    timings.add(part, seconds)

    # -- inbound ------------------------------------------------------------------------------------

    async def receive(self, inbound: Inbound) -> Turn:
        """Store a shipper's message once and have the right party answer it.

        A replay of a message whose turn was left unanswered by a process that died (its lease ran
        out) is answered now; a replay of an answered one stays a duplicate.
        """
        cid = inbound.conversation_id
        in_turn = _IN_TURN.set(True)
        try:
            with timings.timed("turn"):
                return await self._receive(cid, inbound)
        finally:
            _IN_TURN.reset(in_turn)

    async def _receive(self, cid: str, inbound: Inbound) -> Turn:
        uploads = await self._put_uploads(inbound)
        async with self._turn_lock(cid):
            stored = await self.run_db(lambda s: self._store_inbound(s, inbound, uploads))
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
            if stored.turn is not None and stored.plan is not None:
                await self._answer_turn(
                    turn,
                    stored.turn,
                    stored.plan,
                    language=stored.language,
                    taken_up=stored.taken_up,
                    attempts=stored.attempts,
                )
            return turn

    def _waiting_text(self, language: str | None = None) -> str:
        """ "A colleague will reply", and outside business hours also when they start work again."""
        waiting = t(language, WAITING_TEXT)
        hours = wording.after_hours_text(self._calendar, utcnow(), language)
        return waiting if hours is None else sentences(language, [waiting, hours])

    async def _put_uploads(self, inbound: Inbound) -> list[StoredUpload | UploadRejected]:
        """The message's files checked and in the upload store before its transaction begins (a remote
        store's upload must not hold a database connection); each one stored, or why it was not."""

        def put(data: bytes) -> StoredUpload | UploadRejected:
            try:
                return put_upload(
                    conversation_id=inbound.conversation_id,
                    data=data,
                    store=self.uploads,
                    max_bytes=self._upload_max,
                )
            except UploadRejected as rejected:
                return rejected

        return [await run_in_threadpool(put, file.data) for file in inbound.files]

    def _store_inbound(
        self, session: Session, inbound: Inbound, uploads: Sequence[StoredUpload | UploadRejected]
    ) -> _Stored:
        cid = inbound.conversation_id
        # Read, then written: SQLite's write lock from the start, so that no other process's turn slips in.
        state, previous = conv.conversation_row(session, cid, write=True)
        # Read from every message the shipper types; a message without words keeps the language.
        detected = detect_language(inbound.text, previous=previous, hint=inbound.language_hint)
        if detected != previous:
            conv.set_language(session, cid, detected)
        language = detected or DEFAULT_LANGUAGE
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
        photos = sum(1 for upload in uploads if not isinstance(upload, UploadRejected))
        # A follow-up or care question the shipper owes an answer to is read now and answered only once
        # the message is known not to be a replay; without one (nearly always) the turn's plan is decided
        # before the message is stored, and the message is inserted leased: one statement.
        owed = owed_answer(session, cid) if state == "bot" and not stale else None
        plan_with = functools.partial(
            self._plan,
            inbound,
            pressed=pressed,
            stale=stale,
            open_question=open_question,
            photos=photos,
            language=language,
        )
        plan = plan_with(follow_up_reply=None) if state == "bot" and owed is None else None
        # A person answers it when the bot does not have the conversation: it is in their queue.
        turn_columns: dict[str, Any] = {} if state == "bot" else {"turn_state": "answered"}
        if plan is not None:
            turn_columns = self._turn_columns(plan)
        created_at = utcnow()
        message_id = conv.insert_message(
            session,
            conversation_id=cid,
            direction="in",
            sender="shipper",
            text=text,
            created_at=created_at,
            channel_message_id=inbound.channel_message_id,
            **turn_columns,
        )
        if inbound.in_store is not None:
            inbound.in_store(session)  # stored (or found stored): the channel's bookkeeping rides along
        if message_id is None:
            return self._replayed(session, cid, state, language, inbound)
        # The channel names the problem by its English msgid; it is said in the shipper's language.
        lines: list[str] = [t(detected, inbound.file_problem)] if inbound.file_problem else []
        attachments: list[dict[str, Any]] = []
        for upload in uploads:
            if isinstance(upload, UploadRejected):
                lines.append(upload.text(detected))
                continue
            attachment = record_attachment(session, conversation_id=cid, upload=upload, message_id=message_id)
            attachments.append(
                {"id": attachment.id, "content_type": attachment.content_type, "size": attachment.size}
            )
        if inbound.own_phone:
            customers.verify_by_own_contact(session, conversation_id=cid, phone=inbound.own_phone)
        self._publish_message(
            session,
            cid,
            conv.message_dict(
                message_id=message_id,
                direction="in",
                sender="shipper",
                text=text,
                created_at=created_at,
                attachments=attachments,
            ),
        )
        if state != "bot":
            return _Stored(
                duplicate=False,
                state=state,
                send_waiting_notice=conv.take_waiting_notice(session, conversation_id=cid),
                system_lines=tuple(lines),
                language=language,
            )
        if plan is None:
            answered = pressed.payload if pressed else text
            if isinstance(owed, follow_up.Pending):
                reply = follow_up.answer(session, owed, answered, language=language)
                plan = plan_with(follow_up_reply=reply)
            else:
                assert owed is not None
                care_reply = care_answers.answer(
                    session, owed, answered, conversation_id=cid, language=language
                )
                plan = plan_with(follow_up_reply=None if care_reply.to_bot else care_reply.text)
                if care_reply.to_bot and care_reply.text:
                    # Not an answer: the questions end with one polite line, then the bot answers it.
                    plan["say"].insert(0, _line(care_reply.text))
            conv.set_turn(session, message_id, **self._turn_columns(plan))
        return _Stored(
            duplicate=False,
            state=state,
            system_lines=tuple(lines),
            language=language,
            turn=message_id,
            plan=plan,
        )

    def _turn_columns(self, plan: dict[str, Any]) -> dict[str, Any]:
        """A new turn's columns for its plan: leased to this process now, in the transaction that stores
        the message (no extra trip to the database), or answered when the plan says nothing at all (only
        refused files: the lines about them are the answer)."""
        if not plan["say"] and not plan["ask"]:
            return {"turn_state": "answered"}
        return {
            "turn_state": "with_bot",
            "turn_lease_until": utcnow() + timedelta(seconds=self._lease_s),
            "turn_attempts": 1,
            "turn_plan": plan,
        }

    def _replayed(self, session: Session, cid: str, state: str, language: str, inbound: Inbound) -> _Stored:
        """A message stored before: a duplicate, unless its turn was left unanswered past its lease
        (the process answering it died); then this process takes the turn up, exactly once."""
        earlier = session.scalar(
            select(Message).where(
                Message.conversation_id == cid,
                Message.direction == "in",
                Message.channel_message_id == inbound.channel_message_id,
            )
        )
        if earlier is None or not conv.take_up_turn(session, earlier.id, lease_s=self._lease_s):
            return _Stored(duplicate=True, state=state)
        logger.info("replayed message %s in %s: its turn is taken up again", earlier.id, cid)
        if state != "bot":
            conv.finish_turn(session, earlier.id)  # a person has it now and reads it in the transcript
            return _Stored(duplicate=True, state=state)
        return _Stored(
            duplicate=False,
            state="bot",
            language=language,
            turn=earlier.id,
            plan=earlier.turn_plan or {"say": [], "ask": None},
            taken_up=True,
            attempts=earlier.turn_attempts + 1,
        )

    @staticmethod
    def _plan(
        inbound: Inbound,
        *,
        pressed: Button | None,
        stale: bool,
        open_question: tuple[str, tuple[Button, ...]] | None,
        follow_up_reply: str | None,
        photos: int,
        language: str,
    ) -> dict[str, Any]:
        """How the turn is answered: `say`, lines the hub says itself (in the shipper's language), then
        `ask`, the text and metadata for the bot (None when the lines are the whole answer). Stored
        with the turn, so whoever takes it up asks the bot the same."""
        if stale:
            lines = [_line(t(language, EARLIER_BUTTON_TEXT))]
            if open_question is not None:
                lines.append(_line(*open_question))
            return {"say": lines, "ask": None}
        if follow_up_reply is not None:
            return {"say": [_line(follow_up_reply)], "ask": None}
        if (inbound.files or inbound.file_problem) and not photos and not inbound.text.strip():
            return {"say": [], "ask": None}
        if inbound.other_phone and not inbound.own_phone:
            return {"say": [_line(t(language, OTHER_CONTACT_TEXT))], "ask": None}
        metadata: dict[str, Any] = {"channel": inbound.channel, "language": language}
        if pressed is not None:
            # Our own button: its payload may be an intent ("/affirm"); the hub channel trusts it.
            metadata["button"] = True
            return {"say": [], "ask": {"text": pressed.payload, "metadata": metadata}}
        text = plain_text(inbound.text)
        if inbound.button is not None and not text:
            # A button we did not offer in this conversation (an old keyboard, or someone else's).
            return {"say": [_line(t(language, STALE_BUTTON_TEXT))], "ask": None}
        if inbound.own_phone and not text:
            text = inbound.own_phone
        if not text and photos:
            text = PHOTO_FOR_BOT
        if not text:
            return {"say": [_line(t(language, EMPTY_TEXT))], "ask": None}
        lines = [_line(t(language, CUT_TEXT))] if len(inbound.text) > MAX_BOT_TEXT else []
        if photos:
            metadata["attachments"] = photos
        return {"say": lines, "ask": {"text": text, "metadata": metadata}}

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

    async def _answer_turn(
        self,
        turn: Turn,
        message_id: int,
        plan: dict[str, Any],
        *,
        language: str,
        taken_up: bool = False,
        attempts: int = 1,
    ) -> None:
        """Carry out a turn's plan; its last answer is stored in the transaction that marks it answered."""
        cid = turn.conversation_id
        ask = plan.get("ask")
        lines = _plan_lines(plan)
        if lines and (ask is None or not taken_up):
            said, _ = await self._say_all(cid, lines, turn=None if ask else message_id)
            turn.replies += said
        if ask is None:
            return
        answers = (
            None
            if attempts > MAX_TURN_ATTEMPTS
            else await self._ask_rasa(cid, message_id, ask, again=taken_up)
        )
        if answers is None:
            replies, state = await self._fail_turn(cid, message_id, language)
        elif answers:
            replies, state = await self._say_all(cid, answers, turn=message_id)
        else:
            # Rasa answered nothing: the conversation may have just been handed to a person.
            replies, state = [], await self.run_db(lambda s: self._finish_silently(s, cid, message_id))
        turn.replies += replies
        if state != "bot":
            turn.state = state
            self._publish_state(cid, state, owner=None)

    async def _ask_rasa(
        self, cid: str, message_id: int, ask: dict[str, Any], *, again: bool = False
    ) -> list[BotReply] | None:
        """The bot's answers, after one retry when Rasa is slow or unreachable; None when both failed.

        Rasa gets the turn's id, and a retry (or a turn taken up again) says so: Rasa then answers a
        message it did run (too late for us) with that run's answers instead of running it again
        (bot/channels/hub.py), so a late answer is neither lost nor sent twice.
        """
        for attempt in range(2):
            metadata = dict(ask.get("metadata") or {})
            if attempt:
                await asyncio.sleep(self._retry_pause_s)
            if attempt or again:
                metadata["retry"] = True
            try:
                with timings.timed("rasa_call"):
                    return await self._rasa.send(
                        cid, str(ask["text"]), metadata, message_id=turn_message_id(message_id)
                    )
            except RasaUnavailable:
                logger.warning(
                    "turn %s of %s: Rasa did not answer (try %d of 2)", message_id, cid, attempt + 1
                )
        return None

    async def _fail_turn(self, cid: str, message_id: int, language: str) -> tuple[list[Outbound], str]:
        """The bot could not answer: the shipper hears so once, and the agents' queue shows the message
        as not answered (the conversation is queued for a person, unless one has it already)."""

        def fail(session: Session) -> tuple[list[Outbound], str]:
            conv.finish_turn(session, message_id, "failed")
            conversation = conv.ensure_conversation(session, cid)
            if conversation.state != "bot":
                return [], conversation.state
            conv.mark_for_agent(session, conversation_id=cid, reason=conv.NOT_ANSWERED_REASON)
            # The apology already says a colleague will reply: the waiting notice is not said again.
            conv.take_waiting_notice(session, conversation_id=cid)
            apology = self._store_outbound(
                session, cid, t(language, NOT_ANSWERED_TEXT), sender="system", conversation_read=True
            )
            return [apology], "queued"

        said, state = await self.run_db(fail)
        logger.warning("turn %s of %s failed: shown to agents as not answered", message_id, cid)
        for outbound in said:
            await self._deliver(outbound)
        return said, state

    @staticmethod
    def _finish_silently(session: Session, cid: str, message_id: int) -> str:
        conv.finish_turn(session, message_id)
        return conv.ensure_conversation(session, cid).state

    async def sweep_turns(self, *, limit: int = 100) -> int:
        """Take up, oldest first, turns left unanswered past their lease (their process died or lost
        Rasa); returns how many were taken up. Each is claimed in its own short transaction, so several
        processes sweeping at once never take the same turn."""
        taken_up = 0
        while taken_up < limit:
            taken = await self.run_db(self._take_up_one)
            if taken is None:
                break
            taken_up += 1
            message_id, cid, plan, attempts, language = taken
            if plan is None:
                continue  # a person has the conversation now: the turn was closed as answered
            async with self._turn_lock(cid):
                turn = Turn(conversation_id=cid)
                await self._answer_turn(
                    turn, message_id, plan, language=language, taken_up=True, attempts=attempts
                )
            logger.info("turn %s of %s taken up again: %d replies", message_id, cid, len(turn.replies))
        return taken_up

    def _take_up_one(self, session: Session) -> tuple[int, str, dict[str, Any] | None, int, str] | None:
        taken = conv.take_up_expired_turns(session, lease_s=self._lease_s, limit=1)
        if not taken:
            return None
        message = taken[0]
        conversation = conv.ensure_conversation(session, message.conversation_id)
        language = conversation.language or DEFAULT_LANGUAGE
        if conversation.state != "bot":
            conv.finish_turn(session, message.id)
            return message.id, conversation.id, None, message.turn_attempts, language
        plan = message.turn_plan or {"say": [], "ask": None}
        return message.id, conversation.id, plan, message.turn_attempts, language

    # -- outbound -----------------------------------------------------------------------------------

    async def _say_all(
        self, cid: str, answers: list[BotReply], *, turn: int | None = None
    ) -> tuple[list[Outbound], str]:
        """The bot's answers stored in one transaction, which also marks `turn` answered and reads the
        conversation's state after them (an answer may have handed it to a person), then delivered in
        order: one trip to the database per turn."""

        def store(session: Session) -> tuple[list[Outbound], str]:
            state, _ = conv.conversation_row(session, cid)
            said = [
                self._store_outbound(
                    session,
                    cid,
                    a.text,
                    sender="bot",
                    buttons=a.buttons,
                    request_contact=a.request_contact,
                    conversation_read=True,
                )
                for a in answers
            ]
            if turn is not None:
                conv.finish_turn(session, turn)
            return said, state

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

        def store(session: Session) -> Outbound:
            return self._store_outbound(
                session,
                cid,
                text,
                sender=sender,
                buttons=buttons,
                request_contact=request_contact,
                author=author,
            )

        outbound = await self.run_db(store)
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
        conversation_read: bool = False,
    ) -> Outbound:
        """One outbound message stored (and published to the console) in the caller's transaction; the
        conversation is created first if it does not exist yet, unless the caller has just read it."""
        if not conversation_read:
            conv.conversation_row(session, cid)
        created_at = utcnow()
        stored_buttons = [{"title": b.title, "payload": b.payload} for b in buttons]
        # What is stored is what the live event shows.
        line: dict[str, Any] = {
            "direction": "out",
            "sender": sender,
            "text": text,
            "created_at": created_at,
            "buttons": stored_buttons,
            "author": author,
        }
        message_id = conv.insert_message(session, conversation_id=cid, **line)
        assert message_id is not None  # outbound messages carry no channel id, so never a replay
        if sender == "agent":
            conv.mark_person_answered(session, conversation_id=cid)
        self._publish_message(session, cid, conv.message_dict(message_id=message_id, **line))
        return Outbound(
            conversation_id=cid,
            message_id=message_id,
            sender=sender,
            text=text,
            created_at=created_at,
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
            with timings.timed("deliver"):
                await adapter.deliver(external, outbound)
        except Exception:  # a failed send must not lose the stored message or stop the others
            logger.exception("delivery of message %s on %s failed", outbound.message_id, channel)

    @staticmethod
    def _queue_event(session: Session, topic: str, event: dict[str, Any]) -> None:
        """An event published by run_db after this session's transaction commits (never on a rollback)."""
        session.info.setdefault(_EVENTS, []).append((topic, event))

    def _publish_message(self, session: Session, cid: str, message: dict[str, Any]) -> None:
        """A stored message's live event (conv.message_dict's shape), published once the session commits."""
        event = {"type": "message", "conversation_id": cid, "message": message}
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
        async with self._turn_lock(conversation_id):
            await self.run_db(lambda s: conv.ensure_conversation(s, conversation_id))
            return await self._say(conversation_id, text, sender=sender, buttons=buttons, author=author)

    async def push_while_bot(self, conversation_id: str, text: str) -> Outbound | None:
        """A proactive bot line (a shipment notice), said only while the bot has the conversation.

        Checked inside the conversation's lock: a person who took it a moment ago sees the line first in
        the console instead of the shipper getting it over their head. None when a person has it.
        """
        async with self._turn_lock(conversation_id):
            state = await self.run_db(lambda s: conv.ensure_conversation(s, conversation_id).state)
            if state != "bot":
                return None
            return await self._say(conversation_id, text, sender="bot")

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
        async with self._turn_lock(cid):
            return await self._say(cid, text, sender="bot", buttons=follow_up.RATING_BUTTONS)

    async def ask_care(self, target_id: int, conversation_id: str) -> Outbound | None:
        """A care campaign's follow-up script (seed 001) opened in the customer's chat, once per period;
        None when not now (a person holds the chat, it owes another follow-up, or another process sent it).

        Decided inside the conversation's lock and in the transaction that stores the message: a person
        who took the chat a moment ago is never talked over, and the target is claimed exactly once.
        """
        async with self._turn_lock(conversation_id):

            def claim(session: Session) -> Outbound | None:
                text = care_answers.opening(session, target_id=target_id, conversation_id=conversation_id)
                if text is None:
                    return None
                return self._store_outbound(
                    session,
                    conversation_id,
                    text,
                    sender="bot",
                    buttons=follow_up.RATING_BUTTONS,
                    conversation_read=True,
                )

            outbound = await self.run_db(claim)
            if outbound is not None:
                await self._deliver(outbound)
            return outbound

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
        """The bot speaks again: the database says so first, then Rasa's tracker is resumed. A hand-back
        of a conversation the bot already has does nothing.

        If Rasa cannot be reached now, the database still says `bot`, and the hub channel resumes the
        paused tracker with the shipper's next message, so that message is never silently dropped.
        """
        async with self._turn_lock(conversation_id):
            if not await self.run_db(lambda s: conv.take_back_for_bot(s, conversation_id=conversation_id)):
                # Already the bot's (a second click, another tab or process): it said it is back once.
                return []
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
                s,
                attachment_id,
                store=self.uploads,
                conversation_id=conversation_id,
                max_bytes=self._upload_max,
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
