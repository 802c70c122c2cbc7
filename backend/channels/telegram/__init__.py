"""Telegram (python-telegram-bot 22): long polling for local use, a webhook with a secret in production.

Two halves, like every channel: inbound, an update from a private chat becomes one `Inbound` record
for the hub (text, a command as words, a photo as bytes, a shared contact, a pressed button); outbound,
the hub's `Outbound` records become sendMessage calls (buttons as an inline keyboard, a request for the
shipper's own phone number as a contact keyboard). Nothing else in the backend knows Telegram's wire
format. The `Application` runs inside the backend's lifespan: with `updater(None)` in webhook mode,
fed by `POST /telegram/webhook`, or with its own updater in polling mode.

A webhook update is committed to the database (`inbox.UpdateInbox`) before Telegram gets its 200, and
marked processed once the hub has taken it; a process that dies in between leaves it for another (or
for itself after a restart) to feed again once its lease has run out. A polled update goes through the
same inbox (`StoringUpdateQueue`): it is committed before the poller asks for the next offset, which is
what tells Telegram to forget it. Polling runs in one process at a
time, the holder of a leader lock (`leader`). Chats are served fairly (`PerChatUpdateProcessor`).
A reply Telegram finally refuses is marked on the stored message (`message.delivery_error`).

The rate limiter's budget is per process: Telegram's flood limit (about 30 messages a second) is per
bot, but each process counts only what it sends itself. With the webhook on N backend processes, set
TELEGRAM_PROCESSES=N: each then keeps to TELEGRAM_MAX_MESSAGES_PER_S / N, and together they stay
within the bot's limit (a 429 is still waited out, then retried).
"""

from __future__ import annotations

# First, before anything imports python-telegram-bot (no_passport.py says why).
from backend.channels.telegram import no_passport  # noqa: F401

# isort: split

import asyncio
import hmac
import json
import logging
import re
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager, suppress
from dataclasses import replace
from functools import partial
from typing import Any, TypeAlias
from weakref import WeakValueDictionary

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import update as sql_update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from telegram import (
    Document,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    MessageEntity,
    PhotoSize,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ChatAction, ChatType
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from backend.channels.telegram.inbox import UpdateInbox
from backend.channels.telegram.leader import AnyLeaderLock, make_leader_lock, this_process
from backend.channels.telegram.request import KeptAliveRequest
from backend.config import PROJECT_ROOT, Settings
from backend.db import session_scope
from backend.hub import Hub, timings
from backend.hub.records import Inbound, InboundFile, Outbound
from backend.i18n import N_, t
from backend.language import detect_language, language_from_hint
from backend.models import Message as StoredMessage
from backend.phones import mask_phone

logger = logging.getLogger(__name__)
router = APIRouter(tags=["telegram"])

TelegramApp: TypeAlias = "Application[Any, Any, Any, Any, Any, Any]"
Markup: TypeAlias = "InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove"

CHANNEL = "telegram"
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Only what we answer: Telegram does not even send the rest (edits, group events, inline queries).
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]
# The commands in the bot's menu, as the words the bot understands.
COMMAND_TEXTS = {"start": "hello", "help": "help", "human": "I want to talk to a person"}
# Said in the language of the message they come with (a Chinese reply gets a Chinese button).
CONTACT_BUTTON_TEXT = N_("Share my phone number")
# Telegram refuses a message without text; buttons alone still need a line above them.
CHOOSE_TEXT = N_("Please choose one:")
SORRY_TEXT = N_("Sorry, something went wrong on our side. Please send your message again in a moment.")
# Telegram's limit for the text of one message.
MAX_MESSAGE_CHARS = 4096
# Msgids: the hub says them in the conversation's language.
FILE_TOO_LARGE_TEXT = N_("That file is too large for me to receive here. Could you send a smaller photo?")
FILE_FAILED_TEXT = N_("Sorry, I couldn't receive that file. Could you send it again?")
# Bots may download files up to 20 MB with getFile; larger ones cannot be fetched at all.
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
# Retries after a 429 (each waits Telegram's retry_after), so a burst delays messages instead of losing them.
RATE_LIMIT_RETRIES = 3
# sendMessage tries in all on a transient failure (a 5xx, a network error, a 429 beyond the rate limiter's
# own retries), waiting DELIVERY_BACKOFF_S, then twice that, and so on (or Telegram's retry_after).
DELIVERY_ATTEMPTS = 4
DELIVERY_BACKOFF_S = 0.5
MAX_RETRY_AFTER_S = 60.0
# What message.delivery_error holds at most.
MAX_DELIVERY_ERROR_CHARS = 200
MAX_CONCURRENT_UPDATES = 64
# python-telegram-bot's own limit, which it applies before our per-chat lock (see PerChatUpdateProcessor).
UNBOUNDED_LIBRARY_SLOTS = 1_000_000
POLL_TIMEOUT_S = 20
TYPING_TIMEOUT_S = 2.0
# "typing..." is asked for only when the answer is not out this long after the message came: a quicker
# answer arrives before the shipper could see the indicator, and the request would cost a Bot API call
# (counted against the flood limits) and a few milliseconds of this process beside every turn.
TYPING_AFTER_S = 0.3
START_RETRY_MAX_S = 60.0

_CALLBACK_DATA = re.compile(r"b:(\d{1,18}):(\d{1,3})")
# A run of 8 to 15 digits, maybe spaced or after a +: a phone number in an error text.
_PHONE_LIKE = re.compile(r"(?<![\w+])\+?\d(?: ?\d){7,14}(?!\w)")


# -- wire format: pure functions ----------------------------------------------------------------------


def file_base_url(base_url: str) -> str:
    """python-telegram-bot's base_file_url for a base_url: `.../bot` -> `.../file/bot`."""
    head, marker, tail = base_url.rpartition("/bot")
    if not marker:
        return base_url.rstrip("/") + "/file/bot"
    return f"{head}/file/bot{tail}"


def callback_data(message_id: int, index: int) -> str:
    """What a button of our message carries: which message, which button (never the payload)."""
    return f"b:{message_id}:{index}"


def parse_callback_data(data: object) -> tuple[int, int] | None:
    """(message id, button index) from a pressed button's callback_data; None if it is not ours."""
    if not isinstance(data, str):
        return None
    match = _CALLBACK_DATA.fullmatch(data)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2))


def split_text(text: str, limit: int = MAX_MESSAGE_CHARS) -> list[str]:
    """The text in parts Telegram accepts, cut at a line break or space where there is one."""
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        # A line break in the second half, else a space there, else a hard cut.
        cut = rest.rfind("\n", limit // 2, limit)
        if cut < 0:
            cut = rest.rfind(" ", limit // 2, limit)
        if cut < 0:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def inline_keyboard(message: Outbound) -> InlineKeyboardMarkup:
    """The message's buttons, one per row; each carries only a reference the hub looks up."""
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(button.title, callback_data=callback_data(message.message_id, index))]
            for index, button in enumerate(message.buttons)
        ]
    )


def contact_keyboard(language: str = "en") -> ReplyKeyboardMarkup:
    """One button that shares the shipper's own Telegram contact (Telegram fills in their number)."""
    return ReplyKeyboardMarkup(
        [[KeyboardButton(t(language, CONTACT_BUTTON_TEXT), request_contact=True)]],
        one_time_keyboard=True,
        resize_keyboard=True,
    )


def command_of(message: Message) -> str | None:
    """The /command a message starts with, lower case and without @botname; None for other text."""
    entities = message.entities
    text = message.text or ""
    if not entities or entities[0].type != MessageEntity.BOT_COMMAND or entities[0].offset != 0:
        return None
    return text[1 : entities[0].length].split("@", 1)[0].lower()


def inbound_from_update(
    update: Update, files: tuple[InboundFile, ...] = (), file_problem: str | None = None
) -> Inbound | None:
    """The hub's record of one update from a private chat; None for anything we do not answer."""
    query = update.callback_query
    if query is not None:
        chat = query.message.chat if query.message is not None else None
        ref = parse_callback_data(query.data)
        if chat is None or chat.type != ChatType.PRIVATE or ref is None:
            return None
        return Inbound(
            channel=CHANNEL,
            external_id=str(chat.id),
            channel_message_id=str(update.update_id),
            language_hint=query.from_user.language_code,
            button=ref,
        )
    message = update.message  # edits (update.edited_message) are not answered again
    if message is None or message.chat.type != ChatType.PRIVATE:
        return None
    sender = message.from_user
    own_phone = other_phone = None
    text = message.text or message.caption or ""
    if message.contact is not None:
        contact = message.contact
        # Only the shipper's own account vouches for a number: Telegram sets user_id on a contact
        # shared with the contact button, and anyone can forward someone else's card.
        if sender is not None and contact.user_id is not None and contact.user_id == sender.id:
            own_phone = contact.phone_number
        else:
            other_phone = contact.phone_number
        text = ""
    else:
        command = command_of(message)
        if command in COMMAND_TEXTS:
            text = COMMAND_TEXTS[command]
    return Inbound(
        channel=CHANNEL,
        external_id=str(message.chat.id),
        text=text,
        channel_message_id=str(update.update_id),
        files=files,
        file_problem=file_problem,
        own_phone=own_phone,
        other_phone=other_phone,
        language_hint=sender.language_code if sender is not None else None,
    )


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Text fit for a log: no token or secret, phone numbers cut to their last four digits."""
    for secret in secrets:
        if secret:
            # Case-blind: python-telegram-bot capitalises error texts, which lower-cases a quoted token.
            text = re.sub(re.escape(secret), "<redacted>", text, flags=re.IGNORECASE)
    return _PHONE_LIKE.sub(lambda match: mask_phone(match.group(0)), text)


class DeliveryFailed(RuntimeError):
    """Telegram refused a message; the text says why, without the token."""


def retry_after_s(error: RetryAfter) -> float:
    """Telegram's retry_after in seconds (an int or a timedelta, by the library's settings), bounded."""
    value = error.retry_after
    seconds = value.total_seconds() if hasattr(value, "total_seconds") else float(value)
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


class _Redactor(logging.Filter):
    """Takes the token and the webhook secret out of every record of the loggers it guards."""

    def __init__(self, secrets: tuple[str, ...]) -> None:
        super().__init__()
        self._secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self._carries_secret(message):
            record.msg, record.args = scrub(message, self._secrets), None
        if record.exc_info and record.exc_info[1] is not None:
            detail = "".join(traceback.format_exception(*record.exc_info)).rstrip()
            if self._carries_secret(detail):
                record.exc_text = scrub(detail, self._secrets)
        return True

    def _carries_secret(self, text: str) -> bool:
        folded = text.lower()
        return any(s.lower() in folded for s in self._secrets)


def _guarded_loggers() -> list[logging.Logger]:
    # python-telegram-bot makes one logger per module and class; httpx and httpcore see the URLs.
    names = [n for n in logging.root.manager.loggerDict if n == "telegram" or n.startswith("telegram.")]
    return [logging.getLogger(n) for n in [*names, "httpx", "httpcore", __name__]]


def _raise_level(name: str, level: int) -> None:
    log = logging.getLogger(name)
    if log.getEffectiveLevel() < level:
        log.setLevel(level)


# -- the processor: many chats at once, one chat at a time -------------------------------------------


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Processes updates of different chats concurrently and those of one chat in arrival order.

    Fair between chats: an update waits for its chat's turn first and takes one of the shared slots
    only while it runs. The library's own slot is taken before `do_process_update`, that is before the
    per-chat lock, so with it a chat with many queued updates held every slot while they waited for
    their chat (200 queued updates of one chat delayed every other chat by 7 s); its limit is set out
    of reach and the real one is ours.
    """

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(UNBOUNDED_LIBRARY_SLOTS)
        self.slots = max_concurrent_updates
        self._running = asyncio.Semaphore(max_concurrent_updates)
        self._locks: WeakValueDictionary[int, asyncio.Lock] = WeakValueDictionary()
        # Called with each update once its handlers have run (the channel marks stored ones processed).
        self.after: Callable[[object], Awaitable[None]] | None = None

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        await self._run(update, coroutine)
        if self.after is not None:
            await self.after(update)

    async def _run(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            async with self._running:
                await coroutine
            return
        lock = self._locks.get(chat.id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[chat.id] = lock
        # asyncio.Lock wakes its waiters first come, first served: a shipper's second message waits
        # for the answer to their first. Only then a shared slot: a waiting update holds none.
        async with lock, self._running:
            await coroutine

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


# -- the channel --------------------------------------------------------------------------------------


def messages_per_s_per_process(settings: Settings) -> float:
    """This process's share of the bot's flood limit (the limiter counts one process's sends only)."""
    return settings.telegram_max_messages_per_s / settings.telegram_processes


def build_application(settings: Settings, *, polling: bool) -> TelegramApp:
    """The one place the bot is built: token, Bot API URLs, rate limiter, update processing."""
    builder = (
        Application.builder()
        .token(settings.telegram_bot_token or "")
        .base_url(settings.telegram_api_base_url)
        .base_file_url(file_base_url(settings.telegram_api_base_url))
        # Answers on kept-alive connections, without httpx's cost per request (request.py).
        .request(KeptAliveRequest(settings.telegram_api_base_url))
        # Telegram's flood limits, and on a 429 a wait of its retry_after before the same request again.
        .rate_limiter(
            AIORateLimiter(
                overall_max_rate=messages_per_s_per_process(settings), max_retries=RATE_LIMIT_RETRIES
            )
        )
        .concurrent_updates(PerChatUpdateProcessor(MAX_CONCURRENT_UPDATES))
    )
    if not polling:
        # Webhook mode: our own route feeds application.update_queue.
        builder = builder.updater(None)
    return builder.build()


class TelegramChannel:
    """The Telegram adapter: handlers turn updates into `Inbound` for the hub; `deliver` sends replies."""

    name = CHANNEL

    def __init__(self, application: TelegramApp, hub: Hub, settings: Settings) -> None:
        self.application = application
        self.mode = settings.effective_telegram_mode
        self.ready = False
        self._hub = hub
        self._webhook_url = settings.telegram_webhook_url
        self._secret = settings.telegram_webhook_secret or ""
        self.secrets = tuple(s for s in (settings.telegram_bot_token, settings.telegram_webhook_secret) if s)
        self._starter: asyncio.Task[None] | None = None
        # Chats shown the contact keyboard: the next message without one takes it away again.
        self._contact_keyboard: set[int] = set()
        # The "typing..." request of each chat's message in hand: it goes out while the hub and the bot
        # work, and the chat's first answer waits for it (so the indicator never outlives the answer).
        self._typing_sent: dict[int, asyncio.Task[None]] = {}
        # Those whose request has gone out (past TYPING_AFTER_S): the answer waits for them; the others
        # are called off when the answer is ready.
        self._typing_started: set[asyncio.Task[None]] = set()
        # Where updates (webhook or polled) are kept until the hub took them (None: no database, not kept).
        self.inbox: UpdateInbox | None = None
        # Where a message that could not be delivered is marked so (None: only logged).
        self.session_factory: sessionmaker[Session] | None = None
        self._replay_interval_s = settings.telegram_replay_interval_s
        self._replayer: asyncio.Task[None] | None = None
        # Updates whose handler raised: left unprocessed, so they are fed again after the lease.
        self._failed: set[int] = set()
        # Updates marked processed in the transaction that stored their message (Inbound.in_store):
        # _processed has nothing left to do for them.
        self._marked: set[int] = set()
        # When each webhook update was handed to the application (the hub breakdown's queue wait).
        self.arrived: dict[int, float] = {}
        # Polling mode: only the holder of this lock polls (None: poll without asking, one process).
        self.leader: AnyLeaderLock | None = None
        self.polling = False
        self._lock_ttl_s = settings.telegram_poller_lock_ttl_s
        self._leading: asyncio.Task[None] | None = None
        processor = application.update_processor
        if isinstance(processor, PerChatUpdateProcessor):
            processor.after = self._processed
        self.add_handlers()

    def add_handlers(self) -> None:
        """Registers every handler; in one group the first that matches an update handles it."""
        app = self.application
        private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
        # Commands first: "/start" is also text, and the text handler below would take it.
        app.add_handler(CommandHandler(list(COMMAND_TEXTS), self.on_command, filters=private))
        app.add_handler(CallbackQueryHandler(self.on_button))
        app.add_handler(MessageHandler(private & filters.CONTACT, self.on_contact))
        app.add_handler(MessageHandler(private & (filters.PHOTO | filters.Document.ALL), self.on_photo))
        # Any other text, "/restart" included: the hub makes a leading slash plain words.
        app.add_handler(MessageHandler(private & filters.TEXT, self.on_text))
        # Last: whatever is left (a sticker, a voice note) gets the hub's polite "no text" answer.
        app.add_handler(MessageHandler(private, self.on_other))
        app.add_error_handler(self.on_error)

    # -- inbound ------------------------------------------------------------------------------------

    async def on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/start, /help, /human: the words the bot understands for them."""
        await self._receive(update, context)

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A text message, passed on as it is."""
        await self._receive(update, context)

    async def on_contact(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A shared contact: the sender's own number is vouched for by Telegram, anyone else's is not."""
        await self._receive(update, context)

    async def on_photo(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A photo or a file: downloaded with getFile and handed to the hub, which checks and stores it."""
        message = update.message
        files, problem = await self._download(message) if message is not None else ((), None)
        await self._receive(update, context, files, problem)

    async def on_other(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A message with nothing we read (sticker, voice, location): the hub answers it politely."""
        await self._receive(update, context)

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A pressed inline button: answered at once (the client stops its spinner), then handed on."""
        query = update.callback_query
        if query is None:
            return
        try:
            await query.answer()
        except TelegramError as error:
            # An old button (Telegram allows a few minutes to answer) still counts as pressed.
            logger.info("callback query of update %s not answered: %s", update.update_id, error)
        await self._receive(update, context)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Logs a handler's exception with its traceback (never the token); the shipper gets an apology."""
        error = context.error
        if error is None:
            return
        if isinstance(update, Update):
            self._failed.add(update.update_id)
        where = update.update_id if isinstance(update, Update) else "-"
        detail = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        logger.error("Telegram update %s failed:\n%s", where, scrub(detail, self.secrets))
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is not None and chat.type == ChatType.PRIVATE:
            with suppress(TelegramError):
                user = update.effective_user if isinstance(update, Update) else None
                language = language_from_hint(user.language_code if user else None)
                await context.bot.send_message(chat_id=chat.id, text=t(language, SORRY_TEXT))

    async def _receive(
        self,
        update: Update,
        context: ContextTypes.DEFAULT_TYPE,
        files: tuple[InboundFile, ...] = (),
        file_problem: str | None = None,
    ) -> None:
        inbound = inbound_from_update(update, files, file_problem)
        if inbound is None:
            return
        if self.inbox is not None:
            inbound = replace(
                inbound, in_store=partial(self.inbox.mark_processed_in, update_id=update.update_id)
            )
        chat_id = int(inbound.external_id)
        arrived = self.arrived.pop(update.update_id, None)
        if arrived is not None:
            timings.add("telegram_queue_wait", time.perf_counter() - arrived)
        typing = asyncio.create_task(self._typing(chat_id))
        self._typing_sent[chat_id] = typing
        try:
            await self._hub.receive(inbound)
            if inbound.in_store is not None:
                self._marked.add(update.update_id)
        finally:
            await self._end_typing(typing)
            self._typing_started.discard(typing)
            if self._typing_sent.get(chat_id) is typing:
                del self._typing_sent[chat_id]

    async def _end_typing(self, typing: asyncio.Task[None]) -> None:
        """Before an answer goes out (or the turn ends): a typing request already sent is waited for,
        so the indicator never outlives the answer; one not sent yet never will be."""
        if typing not in self._typing_started:
            typing.cancel()
        await asyncio.gather(typing, return_exceptions=True)  # never raises: bounded, errors suppressed

    async def _typing(self, chat_id: int) -> None:
        """'typing...' while the bot thinks, once it takes longer than TYPING_AFTER_S: sent before the
        answer (Telegram clears it when the answer arrives, so one sent after would linger), and never
        allowed to hold the answer up for long."""
        await asyncio.sleep(TYPING_AFTER_S)
        task = asyncio.current_task()
        if task is not None:
            self._typing_started.add(task)
        with suppress(TelegramError, asyncio.TimeoutError), timings.timed("telegram_typing"):
            await asyncio.wait_for(
                self.application.bot.send_chat_action(chat_id=chat_id, action=ChatAction.TYPING),
                timeout=TYPING_TIMEOUT_S,
            )

    async def _download(self, message: Message) -> tuple[tuple[InboundFile, ...], str | None]:
        """The file of a message, or why it could not be fetched (said to the shipper by the hub)."""
        target: PhotoSize | Document | None = None
        if message.photo:
            # Telegram sends each photo in several sizes: the largest keeps the damage visible.
            target = max(message.photo, key=lambda size: (size.width * size.height, size.file_size or 0))
        elif message.document is not None:
            target = message.document
        if target is None:
            return (), None
        if target.file_size is not None and target.file_size > MAX_DOWNLOAD_BYTES:
            logger.info(
                "file of %s bytes in chat %s is beyond getFile's limit", target.file_size, message.chat.id
            )
            return (), FILE_TOO_LARGE_TEXT
        try:
            file = await target.get_file()
            data = await file.download_as_bytearray()
        except TelegramError as error:
            logger.warning(
                "file of message %s not downloaded: %s", message.message_id, scrub(str(error), self.secrets)
            )
            return (), FILE_FAILED_TEXT
        name = target.file_name if isinstance(target, Document) else None
        return (InboundFile(data=bytes(data), filename=name),), None

    # -- outbound -----------------------------------------------------------------------------------

    async def deliver(self, external_id: str, message: Outbound) -> None:
        """Sends one stored message to its chat: in Telegram-sized parts, the keyboard under the last."""
        chat_id = int(external_id)
        typing = self._typing_sent.get(chat_id)
        if typing is not None:
            with timings.timed("telegram_typing_wait"):
                await self._end_typing(typing)  # bounded by TYPING_TIMEOUT_S
        markup = self._markup(chat_id, message)
        parts = split_text(message.signed_text(detect_language(message.text)))
        if not parts and markup is not None:
            parts = [t(detect_language(" ".join(b.title for b in message.buttons)), CHOOSE_TEXT)]
        sent = 0
        try:
            for number, part in enumerate(parts, start=1):
                await self._send(chat_id, part, markup if number == len(parts) else None)
                sent += 1
        except Forbidden:
            await self._undelivered(
                message, chat_id, "the shipper has blocked the bot (403)", sent, len(parts)
            )
        except TelegramError as error:
            reason = scrub(str(error), self.secrets)
            await self._undelivered(message, chat_id, reason, sent, len(parts))
            raise DeliveryFailed(f"Telegram refused message {message.message_id}: {reason}") from None

    async def _send(self, chat_id: int, text: str, markup: Markup | None) -> None:
        """One sendMessage; a transient failure (5xx, network, 429) is tried again after a pause."""
        delay = DELIVERY_BACKOFF_S
        for attempt in range(1, DELIVERY_ATTEMPTS + 1):
            try:
                with timings.timed("telegram_send"):
                    await self.application.bot.send_message(chat_id=chat_id, text=text, reply_markup=markup)
                return
            except BadRequest:  # a NetworkError to the library, but Telegram refused this message
                raise
            except RetryAfter as error:  # still limited after the rate limiter's own retries
                if attempt == DELIVERY_ATTEMPTS:
                    raise
                pause = retry_after_s(error)
            except NetworkError as error:  # 5xx, timeouts, refused connections (TimedOut included)
                if attempt == DELIVERY_ATTEMPTS:
                    raise
                pause = delay
                delay *= 2
                logger.info(
                    "sendMessage to chat %s failed (%s); try %s of %s in %.1f s",
                    chat_id,
                    scrub(str(error), self.secrets),
                    attempt + 1,
                    DELIVERY_ATTEMPTS,
                    pause,
                )
            await asyncio.sleep(pause)

    async def _undelivered(self, message: Outbound, chat_id: int, reason: str, sent: int, parts: int) -> None:
        """Says so in the log and on the stored message, so the console shows it as not delivered."""
        if sent:
            reason = f"{reason}; parts {sent} of {parts} were delivered"
        reason = reason[:MAX_DELIVERY_ERROR_CHARS]
        logger.warning("message %s to chat %s not delivered: %s", message.message_id, chat_id, reason)
        factory = self.session_factory
        if factory is None:
            return

        def record() -> None:
            with session_scope(factory) as session:
                session.execute(
                    sql_update(StoredMessage)
                    .where(StoredMessage.id == message.message_id, StoredMessage.direction == "out")
                    .values(delivery_error=reason)
                )

        try:
            await run_in_threadpool(record)
        except SQLAlchemyError as error:
            logger.error(
                "message %s not marked undelivered: %s", message.message_id, error.__class__.__name__
            )

    def _markup(self, chat_id: int, message: Outbound) -> Markup | None:
        if message.buttons:
            return inline_keyboard(message)
        if message.request_contact:
            self._contact_keyboard.add(chat_id)
            return contact_keyboard(detect_language(message.text))
        if chat_id in self._contact_keyboard:
            self._contact_keyboard.discard(chat_id)
            return ReplyKeyboardRemove()
        return None

    # -- the webhook --------------------------------------------------------------------------------

    def secret_matches(self, given: str | None) -> bool:
        """The webhook's secret header, compared in constant time."""
        if not given or not self._secret:
            return False
        return hmac.compare_digest(given.encode(), self._secret.encode())

    async def _processed(self, update: object) -> None:
        """After an update's handlers ran: a stored update the hub took is never fed again."""
        if isinstance(update, Update):
            self.arrived.pop(update.update_id, None)  # an update no handler took up (_receive pops it)
        if not isinstance(update, Update) or self.inbox is None:
            return
        if update.update_id in self._marked:
            self._marked.discard(update.update_id)
            return
        if update.update_id in self._failed:
            self._failed.discard(update.update_id)
            return
        try:
            with timings.timed("telegram_mark_processed"):
                await run_in_threadpool(self.inbox.mark_processed, update.update_id)
        except SQLAlchemyError as error:
            # Fed again after the lease; the hub knows the message and does not answer it twice.
            logger.warning("update %s not marked processed: %s", update.update_id, error.__class__.__name__)

    async def replay_stale(self) -> int:
        """Feeds the stored updates whose process died before the hub took them; how many it fed."""
        if self.inbox is None:
            return 0
        payloads = await run_in_threadpool(self.inbox.claim_stale)
        for payload in payloads:
            update = Update.de_json(payload, self.application.bot)
            logger.info("stored Telegram update %s fed again", update.update_id)
            await self.application.update_queue.put(update)
        return len(payloads)

    async def _keep_replaying(self) -> None:
        # At start-up first (what a crash left behind), then every TELEGRAM_REPLAY_INTERVAL_S.
        while True:
            try:
                await self.replay_stale()
            except SQLAlchemyError as error:
                logger.warning("stored Telegram updates not read: %s", error.__class__.__name__)
            await asyncio.sleep(self._replay_interval_s)

    # -- life cycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        """Connects to Telegram; while Telegram cannot be reached, keeps trying in the background."""
        if not await self._try_start():
            self._starter = asyncio.create_task(self._keep_trying(), name="telegram-start")

    async def _keep_trying(self) -> None:
        delay = 1.0
        while True:
            await asyncio.sleep(delay)
            if await self._try_start():
                return
            delay = min(delay * 2, START_RETRY_MAX_S)

    async def _try_start(self) -> bool:
        """True when started, or when retrying cannot help (the token was refused)."""
        app = self.application
        try:
            await app.initialize()
            if self.mode == "webhook":
                await self._set_webhook()
            elif app.updater is not None and self.leader is None:
                await self._start_polling()
            await app.start()
        except InvalidToken:
            # Its message quotes the token: never log it.
            logger.error("Telegram refused TELEGRAM_BOT_TOKEN; the Telegram channel stays off")
            return True
        except TelegramError as error:
            logger.warning("Telegram not reachable yet (%s); retrying", scrub(str(error), self.secrets))
            return False
        self.ready = True
        logger.info("Telegram channel started (%s) as @%s", self.mode, app.bot.username)
        if self.inbox is not None:
            self._replayer = asyncio.create_task(self._keep_replaying(), name="telegram-replay")
        if self.mode == "polling" and self.leader is not None:
            self._leading = asyncio.create_task(self._lead(), name="telegram-poller-lock")
        return True

    async def _start_polling(self) -> None:
        assert self.application.updater is not None
        await self.application.updater.start_polling(allowed_updates=ALLOWED_UPDATES, timeout=POLL_TIMEOUT_S)
        self.polling = True

    async def _stop_polling(self) -> None:
        updater = self.application.updater
        if updater is not None and updater.running:
            await updater.stop()
        self.polling = False

    async def _lead(self) -> None:
        """Polls while this process holds the poller lock; without it, serves and keeps asking for it."""
        assert self.leader is not None
        interval = self._lock_ttl_s / 3  # renewed twice before a Redis lock could expire
        me = this_process()
        told_follower = False
        while True:
            try:
                if self.polling:
                    if not await self.leader.renew():
                        logger.warning(
                            "this process (%s) lost the Telegram poller lock; it stops polling", me
                        )
                        await self._stop_polling()
                elif await self.leader.acquire():
                    try:
                        await self._start_polling()
                    except TelegramError as error:
                        logger.warning("polling did not start (%s)", scrub(str(error), self.secrets))
                        await self.leader.release()
                    else:
                        logger.info("this process (%s) polls Telegram (%s lock)", me, self.leader.kind)
                        told_follower = False
                elif not told_follower:
                    holder = await self.leader.holder() or "another process"
                    logger.info(
                        "Telegram is polled by %s; this process (%s) serves without polling and asks for "
                        "the poller lock every %.0f s",
                        holder,
                        me,
                        interval,
                    )
                    told_follower = True
            except Exception as error:  # the lock's store is unreachable: never poll without the lock
                logger.warning("Telegram poller lock unavailable (%s)", error.__class__.__name__)
                if self.polling:
                    await self._stop_polling()
            await asyncio.sleep(interval)

    async def _set_webhook(self) -> None:
        if not self._webhook_url:
            logger.info("TELEGRAM_WEBHOOK_URL is unset: the webhook is taken as configured elsewhere")
            return
        try:
            await self.application.bot.set_webhook(
                url=self._webhook_url, secret_token=self._secret, allowed_updates=ALLOWED_UPDATES
            )
        except InvalidToken:
            raise
        except TelegramError as error:
            # A URL Telegram refuses is a configuration error, not an outage: say so and serve on.
            logger.error("setWebhook failed: %s", scrub(str(error), self.secrets))

    async def stop(self) -> None:
        """Stops fetching updates, finishes the ones in hand, and closes the connections."""
        for task in (self._starter, self._replayer, self._leading):
            if task is not None:
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task
        app = self.application
        await self._stop_polling()
        if self.leader is not None:
            # Freed at once, so another process takes over polling without waiting for the TTL.
            with suppress(Exception):
                await self.leader.release()
            with suppress(Exception):
                await self.leader.close()
        if app.running:
            await app.stop()
        await app.shutdown()
        self.ready = False


# -- wiring into the backend --------------------------------------------------------------------------


def _reply(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


@router.post(WEBHOOK_PATH, include_in_schema=False)
async def telegram_webhook(request: Request) -> JSONResponse:
    """Telegram's webhook: the secret header first, then one update handed to the application."""
    channel: TelegramChannel | None = getattr(request.app.state, "telegram", None)
    if channel is None or channel.mode != "webhook":
        return _reply(404, "The Telegram webhook is not enabled on this server.")
    # Before reading the body: an unauthenticated caller costs us nothing.
    if not channel.secret_matches(request.headers.get(SECRET_HEADER)):
        return _reply(403, "Forbidden.")
    if not channel.ready:
        # Telegram keeps the update and sends it again later.
        return _reply(503, "The Telegram channel is starting; please retry.")
    try:
        data = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        return _reply(400, "The body is not JSON.")
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        return _reply(400, "The body is not a Telegram update.")
    try:
        update = Update.de_json(data, channel.application.bot)
    except Exception as error:  # anything the library cannot read is the sender's mistake, not ours
        logger.warning("unreadable update %s: %s", data.get("update_id"), error.__class__.__name__)
        return _reply(400, "The body is not a Telegram update.")
    if channel.inbox is not None:
        # Committed before the 200: from then on Telegram forgets the update and only our row remains.
        try:
            with timings.timed("telegram_inbox_store"):
                fresh = await run_in_threadpool(channel.inbox.store, update.update_id, data)
        except SQLAlchemyError as error:
            logger.error("update %s not stored: %s", update.update_id, error.__class__.__name__)
            return _reply(503, "The update could not be stored; please retry.")
        if not fresh:
            logger.info("Telegram update %s delivered again; already stored", update.update_id)
            return JSONResponse({"ok": True})
    channel.arrived[update.update_id] = time.perf_counter()
    await channel.application.update_queue.put(update)
    return JSONResponse({"ok": True})


class StoringUpdateQueue(asyncio.Queue[object]):
    """The polling updater's queue: each fetched update is committed to the inbox before it is handed
    to the application, so it is stored before the updater's next getUpdates acknowledges its offset.

    An update that cannot be stored raises NetworkError: python-telegram-bot's polling loop then waits
    and asks again from the same offset, so Telegram keeps the update. An update already stored (fetched
    again after such a retry) is not handed over twice; the inbox's sweep feeds it if its process died."""

    def __init__(self, target: asyncio.Queue[object], inbox: UpdateInbox) -> None:
        super().__init__()
        self.target = target
        self.inbox = inbox

    async def put(self, item: object) -> None:
        if isinstance(item, Update):
            payload = json.loads(item.to_json())
            try:
                fresh = await run_in_threadpool(self.inbox.store, item.update_id, payload)
            except SQLAlchemyError as error:
                logger.error("polled update %s not stored: %s", item.update_id, error.__class__.__name__)
                raise NetworkError("the update could not be stored; fetched again") from error
            if not fresh:
                logger.info("Telegram update %s fetched again; already stored", item.update_id)
                return
        await self.target.put(item)


def bot_id_of(token: str) -> int:
    """The bot's id, the number before the colon of its token (0 for a token without one)."""
    head = token.split(":", 1)[0]
    return int(head) if head.isdigit() else 0


@asynccontextmanager
async def running(app: FastAPI, settings: Settings, hub: Hub) -> AsyncIterator[None]:
    """Runs the Telegram channel for the app's lifetime (nothing when TELEGRAM_MODE is off)."""
    # httpx logs every request URL at INFO, and a Bot API URL contains the token; our own HTTP client
    # to Rasa puts its token in the query string too.
    _raise_level("httpx", logging.WARNING)
    # python-telegram-bot logs its URLs (with the token) and request parameters at DEBUG.
    _raise_level("telegram", logging.INFO)
    app.state.telegram = None
    mode = settings.effective_telegram_mode
    if mode == "off":
        logger.info("Telegram is off (no TELEGRAM_BOT_TOKEN, or TELEGRAM_MODE=off)")
        yield
        return
    channel = TelegramChannel(build_application(settings, polling=mode == "polling"), hub, settings)
    factory: sessionmaker[Session] | None = getattr(app.state, "session_factory", None)
    bot_id = bot_id_of(settings.telegram_bot_token or "")
    channel.session_factory = factory
    if factory is not None:
        channel.inbox = UpdateInbox(factory, bot_id, lease_s=settings.telegram_update_lease_s)
        updater = channel.application.updater
        if mode == "polling" and updater is not None:
            updater.update_queue = StoringUpdateQueue(channel.application.update_queue, channel.inbox)
    if mode == "polling":
        channel.leader = make_leader_lock(
            redis_url=settings.redis_url,
            database_url=settings.database_url,
            bot_id=bot_id,
            ttl_s=settings.telegram_poller_lock_ttl_s,
            var_dir=PROJECT_ROOT / "var",
        )
    redactor = _Redactor(channel.secrets)
    guarded = _guarded_loggers()
    for log in guarded:
        log.addFilter(redactor)
    hub.register(channel)
    app.state.telegram = channel
    try:
        await channel.start()
        yield
    finally:
        app.state.telegram = None
        await channel.stop()
        for log in guarded:
            log.removeFilter(redactor)
