"""Conversations and their transcripts; the database says who is speaking (bot, queued, agent)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, TextClause, bindparam, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.db import begin_write
from backend.models import MESSAGE_DIRECTIONS, MESSAGE_SENDERS, Conversation, Message, utcnow

# The hand-over reason of a conversation whose message the bot could not answer (Rasa slow or down):
# the queue marks it "not answered" and shows the message.
NOT_ANSWERED_REASON = "The bot could not answer the shipper's message"
# Senders without a "<channel>:" prefix come from Rasa's REST channel (tests, evaluation, curl).
DEFAULT_CHANNEL = "rest"


class ConversationNotFound(LookupError):
    """No conversation has this id."""


class AlreadyClaimed(Exception):
    """Another agent holds the conversation."""

    def __init__(self, owner: str | None) -> None:
        super().__init__(f"conversation is held by {owner}")
        self.owner = owner


def parse_conversation_id(conversation_id: str) -> tuple[str, str]:
    """Split "<channel>:<external id>" into its parts."""
    if not conversation_id or not conversation_id.strip():
        raise ValueError("conversation id must not be empty")
    channel, sep, external = conversation_id.partition(":")
    if not sep or not channel or not external:
        return DEFAULT_CHANNEL, conversation_id
    return channel, external


def ensure_conversation(session: Session, conversation_id: str) -> Conversation:
    """The conversation with this id, created in state "bot" if it does not exist yet."""
    existing = session.get(Conversation, conversation_id)
    if existing is not None:
        return existing
    channel, external = parse_conversation_id(conversation_id)
    begin_write(session)
    try:
        # Two processes may see the first message of a chat at once; the loser reads the winner's row.
        with session.begin_nested():
            conversation = Conversation(
                id=conversation_id, channel=channel, external_id=external, state="bot"
            )
            session.add(conversation)
    except IntegrityError:
        found = session.get(Conversation, conversation_id, populate_existing=True)
        if found is None:
            raise
        return found
    return conversation


# The hub's every turn reads and writes these rows with Core statements on the session's connection:
# the ORM's unit of work, identity map and savepoints were most of a turn's cost (tools/hub_cost.py).
_CONVERSATION: Table = Conversation.__table__  # type: ignore[assignment]
_MESSAGE: Table = Message.__table__  # type: ignore[assignment]
_READ_CONVERSATION = select(_CONVERSATION.c.state, _CONVERSATION.c.language).where(
    _CONVERSATION.c.id == bindparam("cid")
)
_SET_LANGUAGE = (
    update(_CONVERSATION)
    .where(_CONVERSATION.c.id == bindparam("cid"))
    .values(language=bindparam("language"), updated_at=bindparam("now"))
)
_FINISH_TURN = (
    update(_MESSAGE)
    .where(_MESSAGE.c.id == bindparam("message_id"))
    .values(turn_state=bindparam("state"), turn_lease_until=None)
)
_SET_TURN = update(_MESSAGE).where(_MESSAGE.c.id == bindparam("message_id"))


def _message_insert(on_conflict: str) -> TextClause:
    """INSERT INTO message ... RETURNING id as text with typed parameters. SQLite (3.35 and later) and
    PostgreSQL read the same ON CONFLICT ... DO NOTHING RETURNING, and a text statement is compiled once
    and cached, which the dialects' own insert() constructs with ON CONFLICT are not (SQLAlchemy 2.0)."""
    columns = [
        _MESSAGE.c[name]
        for name in (
            "conversation_id",
            "direction",
            "sender",
            "text",
            "channel_message_id",
            "buttons",
            "author",
            "created_at",
            "turn_state",
            "turn_lease_until",
            "turn_attempts",
            "turn_plan",
        )
    ]
    names = ", ".join(c.name for c in columns)
    placeholders = ", ".join(f":{c.name}" for c in columns)
    sql = f"INSERT INTO message ({names}) VALUES ({placeholders}) {on_conflict}RETURNING id"
    return text(sql).bindparams(*(bindparam(c.name, type_=c.type) for c in columns))


_INSERT_MESSAGE = _message_insert("")
# A replayed channel message (the same id again) inserts nothing and returns no id.
_INSERT_NEW_MESSAGE = _message_insert(
    "ON CONFLICT (conversation_id, direction, channel_message_id) DO NOTHING "
)


def _insert(session: Session, table: Table) -> postgresql.Insert | sqlite.Insert:
    """INSERT for this database's dialect, which has ON CONFLICT DO NOTHING (SQLite and PostgreSQL)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no INSERT ... ON CONFLICT for {dialect}")


def conversation_row(
    session: Session, conversation_id: str, *, write: bool = False
) -> tuple[str, str | None]:
    """The conversation's (state, language), the conversation created in state "bot" first if it does not
    exist yet. `write`: SQLite's write lock is taken first, for a caller that reads, then writes."""
    if write:
        begin_write(session)
    connection = session.connection()
    row = connection.execute(_READ_CONVERSATION, {"cid": conversation_id}).first()
    if row is not None:
        return row.state, row.language
    channel, external = parse_conversation_id(conversation_id)
    begin_write(session)
    now = utcnow()
    # Two processes may see the first message of a chat at once: the loser's insert does nothing, and it
    # reads the winner's row.
    connection.execute(
        _insert(session, _CONVERSATION).on_conflict_do_nothing(index_elements=["id"]),
        {
            "id": conversation_id,
            "channel": channel,
            "external_id": external,
            "state": "bot",
            "created_at": now,
            "updated_at": now,
        },
    )
    row = connection.execute(_READ_CONVERSATION, {"cid": conversation_id}).one()
    return row.state, row.language


def set_language(session: Session, conversation_id: str, language: str | None) -> None:
    """The conversation's language, written (by the caller only when it changed)."""
    session.connection().execute(
        _SET_LANGUAGE, {"cid": conversation_id, "language": language, "now": utcnow()}
    )


def insert_message(
    session: Session,
    *,
    conversation_id: str,
    direction: str,
    sender: str,
    text: str,
    created_at: datetime,
    channel_message_id: str | None = None,
    buttons: list[dict[str, Any]] | None = None,
    author: str | None = None,
    **turn: Any,
) -> int | None:
    """Append a message to an existing conversation's transcript in one INSERT; its id, or None when this
    channel message was stored before (a replay: the unique constraint decides, without a savepoint).
    `turn`: the message's turn columns (turn_state, turn_lease_until, turn_attempts, turn_plan)."""
    if direction not in MESSAGE_DIRECTIONS or sender not in MESSAGE_SENDERS:
        raise ValueError(f"not a message's direction and sender: {direction!r}, {sender!r}")
    values = {
        "conversation_id": conversation_id,
        "direction": direction,
        "sender": sender,
        "text": text,
        "channel_message_id": channel_message_id,
        "buttons": buttons or None,
        "author": author,
        "created_at": created_at,
        "turn_state": None,
        "turn_lease_until": None,
        "turn_attempts": 0,
        "turn_plan": None,
        **turn,
    }
    statement = _INSERT_MESSAGE if channel_message_id is None else _INSERT_NEW_MESSAGE
    return session.connection().execute(statement, values).scalar()


def set_turn(session: Session, message_id: int, **turn: Any) -> None:
    """A stored message's turn columns (turn_state, turn_lease_until, turn_attempts, turn_plan)."""
    session.connection().execute(_SET_TURN.values(**turn), {"message_id": message_id})


def _set_state(
    session: Session, conversation_id: str, state: str, reason: str | None, owner: str | None = None
) -> Conversation:
    conversation = ensure_conversation(session, conversation_id)
    conversation.state = state
    conversation.handoff_reason = reason
    conversation.owner = owner
    # A new wait for a person (or none at all, back with the bot): its notice is still to be said.
    conversation.waiting_notice_at = None
    # An offer to the customer's owner belongs to one wait (a release goes to everyone).
    conversation.offered_to = conversation.offered_at = conversation.offer_expired_at = None
    session.flush()
    return conversation


def mark_for_agent(session: Session, *, conversation_id: str, reason: str) -> Conversation:
    """Queue the conversation for a human agent; the hub stops passing messages to the bot. An owned
    customer's conversation is offered to its owner first (backend.services.ownership)."""
    # Imported here: ownership audits through backend.services.tickets, which reads conversations.
    from backend.services.ownership import offer_to_owner

    conversation = _set_state(session, conversation_id, "queued", reason)
    offer_to_owner(session, conversation_id)
    return conversation


def claim_conversation(session: Session, *, conversation_id: str, agent: str) -> Conversation:
    """Give the conversation to `agent`, atomically: of two agents claiming at once exactly one wins.

    Raises AlreadyClaimed (with the holder) when another agent has it; claiming one's own is a no-op.
    """
    ensure_conversation(session, conversation_id)
    begin_write(session)
    # One conditional UPDATE decides the race in the database, on SQLite and PostgreSQL alike.
    claimed = session.execute(
        update(Conversation)
        .where(
            Conversation.id == conversation_id,
            (Conversation.owner.is_(None)) | (Conversation.owner == agent),
        )
        .values(state="agent", owner=agent, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    conversation = session.get(Conversation, conversation_id, populate_existing=True)
    assert conversation is not None
    if claimed.rowcount != 1:
        raise AlreadyClaimed(conversation.owner)
    return conversation


def release_conversation(session: Session, *, conversation_id: str) -> Conversation:
    """The agent lets go: the conversation waits in the queue for another person."""
    conversation = ensure_conversation(session, conversation_id)
    return _set_state(session, conversation_id, "queued", conversation.handoff_reason)


def hand_back_to_bot(session: Session, *, conversation_id: str) -> Conversation:
    """Give the conversation back to the bot."""
    return _set_state(session, conversation_id, "bot", None)


def take_back_for_bot(session: Session, *, conversation_id: str) -> bool:
    """Give the conversation back to the bot unless it already has it; True only for the call that did.

    One conditional UPDATE decides, so of two hand-backs at once (a double click, two tabs, two
    processes) exactly one makes the bot say it is back.
    """
    ensure_conversation(session, conversation_id)
    begin_write(session)
    changed = session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.state != "bot")
        .values(state="bot", handoff_reason=None, owner=None, waiting_notice_at=None, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(changed.rowcount == 1)


def take_waiting_notice(session: Session, *, conversation_id: str) -> bool:
    """True once per wait for a person: the caller then tells the shipper a colleague will reply.

    The mark is cleared when the conversation changes hands (queued again, or back to the bot), not when
    an agent writes: once a person is talking, "a colleague will reply" would be wrong.
    """
    begin_write(session)
    result = session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.waiting_notice_at.is_(None))
        .values(waiting_notice_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)


def mark_person_answered(session: Session, *, conversation_id: str) -> None:
    """A person has written in this wait: from now on the shipper needs no "a colleague will reply"."""
    take_waiting_notice(session, conversation_id=conversation_id)


def verify_customer(session: Session, *, conversation_id: str, customer_id: str) -> Conversation:
    """The shipper has proved they hold this customer's account (own contact, or phone plus waybill)."""
    conversation = ensure_conversation(session, conversation_id)
    conversation.verified_customer_id = customer_id
    conversation.customer_id = customer_id
    session.flush()
    return conversation


def speaker(session: Session, conversation_id: str) -> str:
    """Who speaks in the conversation now ("bot" for one not stored yet): a read, never a write."""
    conversation = session.get(Conversation, conversation_id)
    return conversation.state if conversation is not None else "bot"


def verified_customer_id(session: Session, conversation_id: str) -> str | None:
    """The customer this conversation has proved to be, or None."""
    conversation = session.get(Conversation, conversation_id)
    return conversation.verified_customer_id if conversation else None


def record_message(
    session: Session,
    *,
    conversation_id: str,
    direction: str,
    sender: str,
    text: str,
    channel_message_id: str | None = None,
    buttons: list[dict[str, Any]] | None = None,
    author: str | None = None,
) -> Message | None:
    """Append a message to the transcript; None when this channel message was stored before (a replay)."""
    ensure_conversation(session, conversation_id)
    if channel_message_id is not None:
        begin_write(session)
        duplicate = session.scalar(
            select(Message.id).where(
                Message.conversation_id == conversation_id,
                Message.direction == direction,
                Message.channel_message_id == channel_message_id,
            )
        )
        if duplicate is not None:
            return None
    message = Message(
        conversation_id=conversation_id,
        direction=direction,
        sender=sender,
        text=text,
        channel_message_id=channel_message_id,
        buttons=buttons or None,
        author=author,
    )
    try:
        with session.begin_nested():
            session.add(message)
    except IntegrityError:
        if channel_message_id is None:
            raise
        return None
    return message


# A turn that is not answered yet: taken up again once its lease has run out.
OPEN_TURN_STATES = ("received", "with_bot")


def _lease_expired(now: datetime) -> Any:
    return Message.turn_state.in_(OPEN_TURN_STATES) & or_(
        Message.turn_lease_until.is_(None), Message.turn_lease_until < now
    )


def take_up_turn(session: Session, message_id: int, *, lease_s: float, now: datetime | None = None) -> bool:
    """Lease one open turn whose lease ran out to this process; False when it is answered, failed or
    still leased to another. One conditional UPDATE decides, so of two processes exactly one wins."""
    now = now or utcnow()
    begin_write(session)
    taken = session.execute(
        update(Message)
        .where(Message.id == message_id, _lease_expired(now))
        .values(
            turn_state="with_bot",
            turn_lease_until=now + timedelta(seconds=lease_s),
            turn_attempts=Message.turn_attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(taken.rowcount == 1)


def take_up_expired_turns(
    session: Session, *, lease_s: float, limit: int = 50, now: datetime | None = None
) -> list[Message]:
    """Lease up to `limit` open turns whose lease ran out, oldest first, to this process.

    On PostgreSQL the candidates are row-locked with SKIP LOCKED, so concurrent sweepers split them;
    on SQLite the write lock is taken first (one writer). The UPDATE repeats the condition, so a turn
    answered or taken meanwhile is left alone either way.
    """
    now = now or utcnow()
    begin_write(session)
    candidates = list(
        session.scalars(
            select(Message.id)
            .where(_lease_expired(now))
            .order_by(Message.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not candidates:
        return []
    taken = list(
        session.scalars(
            update(Message)
            .where(Message.id.in_(candidates), _lease_expired(now))
            .values(
                turn_state="with_bot",
                turn_lease_until=now + timedelta(seconds=lease_s),
                turn_attempts=Message.turn_attempts + 1,
            )
            .returning(Message.id)
            .execution_options(synchronize_session=False)
        )
    )
    return list(
        session.scalars(
            select(Message)
            .where(Message.id.in_(taken))
            .order_by(Message.id)
            .execution_options(populate_existing=True)
        )
    )


def finish_turn(session: Session, message_id: int, state: str = "answered") -> None:
    """The turn is answered (or failed) in the caller's transaction, with what answered it."""
    session.connection().execute(_FINISH_TURN, {"message_id": message_id, "state": state})


def list_messages(session: Session, *, conversation_id: str, limit: int = 200) -> list[Message]:
    """The last `limit` messages of a conversation, oldest first."""
    stmt = (
        select(Message)
        .where(Message.conversation_id == conversation_id)
        .order_by(Message.id.desc())
        .limit(limit)
    )
    return list(reversed(session.scalars(stmt).all()))


def message_to_dict(message: Message) -> dict[str, Any]:
    """One transcript line in the JSON shape the widget and the console read."""
    return message_dict(
        message_id=message.id,
        direction=message.direction,
        sender=message.sender,
        text=message.text,
        buttons=message.buttons,
        author=message.author,
        delivery_error=message.delivery_error,
        attachments=[
            {"id": a.id, "content_type": a.content_type, "size": a.size} for a in message.attachments
        ],
        created_at=message.created_at,
    )


def message_dict(
    *,
    message_id: int,
    direction: str,
    sender: str,
    text: str,
    created_at: datetime,
    buttons: list[dict[str, Any]] | None = None,
    author: str | None = None,
    delivery_error: str | None = None,
    attachments: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """message_to_dict's shape from a message's values (one the hub has just inserted)."""
    return {
        "id": message_id,
        "direction": direction,
        "sender": sender,
        "text": text,
        "buttons": buttons or [],
        "author": author,
        # Why the channel could not deliver it in the end (the console marks it "not delivered").
        "delivery_error": delivery_error,
        "attachments": attachments or [],
        "created_at": created_at.isoformat(),
    }
