"""Reading the conversation so far: is a message a question, what the shipper said, what the bot said.

Pure functions of the tracker and the text; they keep the dialogue from trapping anyone: a question is
answered before anything else, and the bot never sends the same message a third time in a row.
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker

# Messages that are questions about a shipment, whatever else they say ("it's late, where is it?").
_QUESTION_OPENERS = re.compile(
    r"^\s*(where|when|why|who|what|how|whats|wheres|hows|has|have|is|are|was|were|did|does|do|can|could|"
    r"will|would|any)\b",
    re.I,
)
_QUESTION_PHRASES = re.compile(
    r"\b(where\s+(is|are|'s)|where'?s|wheres|when\s+(will|does|is|can|do)|why\s+(is|has|hasn'?t|isn'?t|did|"
    r"does|are)|who\s+signed|tell me where|track(ing)?\s+(it|my|this)|any\s+(update|news)|status of)\b",
    re.I,
)
_ASPECTS = (
    ("signed_by", re.compile(r"\b(who\s+(signed|received|took|got)|signed\s+(for|by)|signature)\b", re.I)),
    ("delay_reason", re.compile(r"\b(why|reason|what'?s (the )?hold[- ]?up|what happened to)\b", re.I)),
    ("eta", re.compile(r"\b(when|eta|how long|arrive|arriving|arrival|get here|deliver(ed)? by)\b", re.I)),
)
# A message that leaves a phone number to be called back on, or asks for a person: the number is for a
# colleague to ring, not for a shipment search, though the classifier leans on the number
# ("叫客服打我电话 139 1234 5678", "agent please, call me on +86 138 ...").
_CALL_BACK = re.compile(
    r"\b(call|ring|phone|contact)\s+(me|us)\b|\bcall\s*back\b|\bget\s+back\s+to\s+me\b|"
    r"\b(agent|human|real\s+person|operator)\b|"
    r"回电|回拨|回个?电话|回我电话|打(给我|过来|回来)|打我的?(电话|手机)|给我(打|回)|联系我|人工|真人|专人",
    re.I,
)
# The intents that ask about a shipment.
QUESTION_INTENTS = frozenset({"track_shipment", "ask_eta", "ask_signed_by", "ask_delay_reason"})


def looks_like_question(text: str) -> bool:
    """Whether the message asks something (a question mark, a question word first, "where is ...")."""
    return "?" in text or bool(_QUESTION_OPENERS.match(text) or _QUESTION_PHRASES.search(text))


def asks_for_call_back(text: str) -> bool:
    """Whether the shipper wants a person to call them (or a person at all), not a search by phone."""
    return bool(_CALL_BACK.search(text))


def question_aspect(text: str) -> str:
    """Which part of the record a question is about: 'signed_by', 'delay_reason', 'eta' or 'status'."""
    if _QUESTION_PHRASES.search(text) and re.search(r"\bwhere\b", text, re.I):
        return "status"
    for aspect, pattern in _ASPECTS:
        if pattern.search(text):
            return aspect
    return "status"


def _user_text(event: dict[str, Any]) -> str:
    text = str(event.get("text") or "").strip()
    # A pressed button arrives as its payload ("/affirm"): not the shipper's words.
    return "" if text.startswith("/") else text


def complaint_messages(tracker: Tracker) -> list[str]:
    """Everything the shipper wrote since the complaint began, in order (the analysis reads it all).

    The complaint begins with the message that started it; when that was an answer to the bot's offer
    of a complaint ("yes", or what they want done), with the message the bot made the offer about.
    """
    events = tracker.events
    start = None
    for index in range(len(events) - 1, -1, -1):
        if events[index].get("event") == "action" and events[index].get("name") == "action_start_complaint":
            start = index
            break
    if start is None:
        return [text for text in (_user_text(e) for e in events if e.get("event") == "user") if text]
    users = [i for i in range(start) if events[i].get("event") == "user"]
    first = users[-1] if users else start
    if users and len(users) >= 2 and _awaiting_before(events, first) == "complaint_offer":
        # The opener answered the offer of a complaint: what it was about counts as well.
        first = users[-2]
    texts = [_user_text(e) for e in events[first:] if e.get("event") == "user"]
    return [text for text in texts if text]


def _awaiting_before(events: list[dict[str, Any]], index: int) -> Any:
    """The question the bot had open (the `awaiting` slot) when the event at `index` came."""
    for event in reversed(events[:index]):
        if event.get("event") == "slot" and event.get("name") == "awaiting":
            return event.get("value")
    return None


def last_action(tracker: Tracker) -> str | None:
    """The action the bot ran last ("action_listen" when the shipper's message came after it)."""
    for event in reversed(tracker.events):
        if event.get("event") == "action" and event.get("name"):
            return str(event.get("name"))
    return None


def previous_user_text(tracker: Tracker) -> str:
    """What the shipper wrote before their latest message ("" when nothing)."""
    users = [event for event in tracker.events if event.get("event") == "user"]
    # The last user event is the latest message itself.
    texts = [text for text in (_user_text(event) for event in users[:-1]) if text]
    return texts[-1] if texts else ""


def bot_texts(tracker: Tracker) -> list[str]:
    """The bot's messages in this conversation, oldest first."""
    return [str(e["text"]) for e in tracker.events if e.get("event") == "bot" and e.get("text")]


def last_bot_text(tracker: Tracker) -> str | None:
    texts = bot_texts(tracker)
    return texts[-1] if texts else None


def times_in_a_row(tracker: Tracker, action_name: str) -> int:
    """How many of the bot's latest turns, back to back, ran this action (0 when the last did not)."""
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") != "action":
            continue
        name = event.get("name")
        if name in ("action_listen", None) or name == "action_session_start":
            continue
        if name != action_name:
            break
        count += 1
    return count
