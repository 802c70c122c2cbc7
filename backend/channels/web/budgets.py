"""The widget's doors and their budgets: new sessions per address, messages per conversation and per
address, uploads per conversation (backend.security.limits; the LIMIT_* settings)."""

from __future__ import annotations

from fastapi import FastAPI

from backend.i18n import N_

SLOW_DOWN_TEXT = N_(
    "You're sending messages faster than we can read them. Please wait a minute, then send it again."
)
TOO_MANY_SESSIONS_TEXT = N_("Too many new chats from your network just now. Please try again in a while.")
TOO_MANY_UPLOADS_TEXT = N_(
    "You've sent as many photos today as this chat can take. A colleague can take more by other means: "
    "just ask for one."
)
# After this many refused messages in a row, the connection is a script's, not a person's: closed (1008).
CLOSE_AFTER_REFUSALS = 20
CLOSE_POLICY_VIOLATION = 1008


def new_session_allowed(app: FastAPI, address: str) -> bool:
    state = app.state
    return bool(state.limiter.spend(state.door_budgets.sessions_per_address, address))


def message_allowed(app: FastAPI, conversation_id: str, address: str) -> bool:
    """Spends one message of the conversation's budget and one of the address's."""
    state = app.state
    budgets = state.door_budgets
    if not state.limiter.spend(budgets.messages_per_conversation, conversation_id):
        return False
    return bool(state.limiter.spend(budgets.messages_per_address, address))


def upload_allowed(app: FastAPI, conversation_id: str, size: int) -> bool:
    """Spends one upload and `size` bytes of the conversation's daily budgets."""
    state = app.state
    budgets = state.door_budgets
    if not state.limiter.spend(budgets.uploads_per_conversation, conversation_id):
        return False
    return bool(state.limiter.spend(budgets.upload_bytes_per_conversation, conversation_id, size))
