"""The bot's stock replies (greeting, thanks, out of scope, "could you rephrase?"), never three alike.

Rasa picks a response variation at random, so a shipper who says the same thing three times could get
the same words three times. These actions take the domain's variations in turn instead, and the third
time in a row they offer what would help more: a person, or a waybill number. The replies to a message
the bot did not take in carry the main paths as buttons, so a misreading costs one tap.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from backend.i18n import N_, t
from backend.waybill import find_in_text

from .base import run_blocking
from .complaint_flow import accepts_offer_in_words
from .dialogue import times_in_a_row
from .shipment_flow import answer_question
from .shipper_language import language

# Replies to a message the bot did not understand: a waybill number in it is answered instead.
ANSWERS_A_WAYBILL = frozenset({"utter_out_of_scope", "utter_rephrase", "utter_inform_without_question"})
STUCK_TEXT = N_(
    "I'm sorry, I don't seem to be helping. You can send me a waybill number (like EA123456785CN), "
    'tell me what went wrong, or say "agent" and a colleague will take over.'
)
# Replies to a message read as out of scope, or not read confidently enough to act on (a hand-over or
# a complaint opens a ticket: bot/nlu/fallback.py): the main paths, each one tap away. The payloads
# are intents, so a press is read with certainty.
OFFERS_THE_PATHS = frozenset({"utter_out_of_scope", "utter_rephrase"})
PATH_BUTTONS = (
    (N_("Track a shipment"), "/track_shipment"),
    (N_("Make a complaint"), "/complain"),
    (N_("Talk to a person"), "/request_human"),
)


def path_buttons(lang: str) -> list[dict[str, Any]]:
    """The three main paths as buttons, titled in the shipper's language."""
    return [{"title": t(lang, title), "payload": payload} for title, payload in PATH_BUTTONS]


class StockReply(Action, ABC):
    """One stock reply: the response's variations in turn, then the way out on the third time running.

    Abstract, so that rasa-sdk registers only the replies made from it below.
    """

    response = ""

    @abstractmethod
    def name(self) -> str:
        """action_<response without utter_>."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if accepted := accepts_offer_in_words(tracker):
            return accepted
        if self.response in ANSWERS_A_WAYBILL and find_in_text(tracker.latest_message.get("text") or ""):
            # Whatever else the message says (markup, noise), a waybill number in it is a question
            # about that shipment: answer it rather than "I can't help with that".
            return await run_blocking(answer_question, dispatcher, tracker, domain)
        turn = times_in_a_row(tracker, self.name())
        lang = language(tracker)
        variations = [
            v["text"]
            for v in domain.get("responses", {}).get(self.response, [])
            if v.get("text") and variation_language(v) == lang
        ]
        if turn % 3 == 2 or not variations:
            text = t(lang, STUCK_TEXT)
        else:
            text = variations[(turn - turn // 3) % len(variations)]
        buttons = path_buttons(lang) if self.response in OFFERS_THE_PATHS else []
        dispatcher.utter_message(text=text, buttons=buttons)
        return []


def variation_language(variation: dict[str, Any]) -> str:
    """The language a response variation is for: its condition on the `language` slot, else English."""
    for condition in variation.get("condition") or []:
        if condition.get("type") == "slot" and condition.get("name") == "language":
            return str(condition.get("value"))
    return "en"


def _stock_reply(response: str) -> type[StockReply]:
    # rasa-sdk registers every Action subclass: one small class per reply, named after its response.
    cls_name = "".join(part.capitalize() for part in response.split("_")) + "Reply"
    action_name = "action_" + response.removeprefix("utter_")
    return type(
        cls_name,
        (StockReply,),
        {"response": response, "name": lambda self: action_name, "__doc__": f"Says {response} in turn."},
    )


STOCK_REPLIES = [
    _stock_reply(response)
    for response in (
        "utter_greet",
        "utter_youre_welcome",
        "utter_capabilities",
        "utter_out_of_scope",
        "utter_rephrase",
        "utter_inform_without_question",
        "utter_anything_else",
        "utter_no_problem",
    )
]
