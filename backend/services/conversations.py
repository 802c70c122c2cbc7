"""Conversations and their transcripts; the database says who is speaking (bot, queued, agent)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.db import begin_write
from backend.models import Conversation, Message

# Senders without a "<channel>:" prefix come from Rasa's REST channel (tests, evaluation, curl).
DEFAULT_CHANNEL = "rest"


class ConversationNotFound(LookupError):
    """No conversation has this id."""


def parse_conversation_id(conversation_id: str) -> tuple[str, str]:
    """Split "<channel>:<external id>" into its parts."""
    if not conversation_id or not conversation_id.strip():
        raise ValueError("conversation id must not be empty")
    channel, sep, external = conversation_id.partition(":")
    if not sep or not channel or not external:
        return DEFAULT_CHANNEL, conversation_id
    return channel, external


def get_conversation(session: Session, conversation_id: str) -> Conversation | None:
    """The conversation with this id, or None."""
    return session.get(Conversation, conversation_id)


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


def _set_state(session: Session, conversation_id: str, state: str, reason: str | None) -> Conversation:
    conversation = ensure_conversation(session, conversation_id)
    conversation.state = state
    conversation.handoff_reason = reason
    session.flush()
    return conversation


def mark_for_agent(session: Session, *, conversation_id: str, reason: str) -> Conversation:
    """Queue the conversation for a human agent; the hub stops passing messages to the bot."""
    return _set_state(session, conversation_id, "queued", reason)


def assign_to_agent(session: Session, *, conversation_id: str) -> Conversation:
    """An agent has taken the conversation over."""
    conversation = ensure_conversation(session, conversation_id)
    return _set_state(session, conversation_id, "agent", conversation.handoff_reason)


def hand_back_to_bot(session: Session, *, conversation_id: str) -> Conversation:
    """Give the conversation back to the bot."""
    return _set_state(session, conversation_id, "bot", None)


def link_customer(session: Session, *, conversation_id: str, customer_id: str) -> Conversation:
    """Remember which customer is talking (once identified by waybill or phone)."""
    conversation = ensure_conversation(session, conversation_id)
    conversation.customer_id = customer_id
    session.flush()
    return conversation


def record_message(
    session: Session,
    *,
    conversation_id: str,
    direction: str,
    sender: str,
    text: str,
    channel_message_id: str | None = None,
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
    )
    try:
        with session.begin_nested():
            session.add(message)
    except IntegrityError:
        if channel_message_id is None:
            raise
        return None
    return message


def list_messages(session: Session, *, conversation_id: str, limit: int = 200) -> list[Message]:
    """The last `limit` messages of a conversation, oldest first."""
    stmt = (
        select(Message)
        .where(Message.conversation_id == conversation_id)
        .order_by(Message.id.desc())
        .limit(limit)
    )
    return list(reversed(session.scalars(stmt).all()))
