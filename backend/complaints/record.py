"""The shipment record's reading of a complaint: what it implies and what it already answers.

Pure functions beside the analysis: the bot asks the shipper only what the record cannot tell, and
takes the category from the record when the shipper's words do not name one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from backend.domain import ShipmentView
from backend.i18n import N_
from backend.language import CHINESE_CHARACTER
from backend.waybill import without_waybills

# The category a problem status implies when the customer's words do not name one.
STATUS_CATEGORIES = {
    "held": "delay",
    "missing": "loss",
    "pickup_missed": "missed_pickup",
    "returned": "delay",
    "customs_hold": "delay",
}
# What is missing when the record says the whole shipment is: shown in the shipper's language.
WHOLE_SHIPMENT = N_("the whole shipment")

# Fewer words than this, once the waybill and "I want to complain about" are left out, make a request,
# not the customer's account of what happened ("late" names a category; "the box was crushed" tells).
MIN_DESCRIPTION_WORDS = 3
_REQUEST_WORDS = re.compile(
    r"\b(hi|hello|hey|please|pls|i|we|want|wanna|would like|need|to|make|file|lodge|raise|register|open|"
    r"a|an|complain|complaint|complaining|report|about|regarding|re|on|for|my|parcel|shipment|order|"
    r"package|waybill|number|tracking)\b",
    re.I,
)
# Chinese characters that make an account of what happened rather than "我要投诉快递" (I want to complain).
MIN_CHINESE_DESCRIPTION = 8


@dataclass(frozen=True)
class Prefill:
    """Facts of a complaint the record answers (None: the shipper is asked)."""

    declared_value: Decimal | None = None
    extent: str | None = None


def is_description(text: str) -> bool:
    """Whether the message tells what happened, beyond asking to complain and naming the shipment."""
    rest = without_waybills(text)
    if len(CHINESE_CHARACTER.findall(rest)) >= MIN_CHINESE_DESCRIPTION:
        return True  # Chinese has no spaces between words: "我要投诉" asks, a sentence tells
    return len(_REQUEST_WORDS.sub(" ", rest).split()) >= MIN_DESCRIPTION_WORDS


def category_from_record(view: ShipmentView) -> str | None:
    """The complaint a problem on the record implies: a missing parcel is a loss before it is late."""
    if view.signer_is_recipient is False:
        return "wrong_delivery"
    if view.status in STATUS_CATEGORIES:
        return STATUS_CATEGORIES[view.status]
    return "delay" if view.is_late else None


def record_prefills(
    view: ShipmentView | None, category: str | None, *, value_known: bool, extent_known: bool
) -> Prefill:
    """Facts the shipment record already answers, so the customer is not asked for them."""
    if view is None:
        return Prefill()
    value = None
    if category in {"damage", "loss"} and not value_known and view.declared_value:
        value = view.declared_value
    extent = None
    if category == "loss" and not extent_known and view.status == "missing":
        extent = WHOLE_SHIPMENT
    return Prefill(declared_value=value, extent=extent)
