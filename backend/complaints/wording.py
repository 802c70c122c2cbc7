"""Customer-facing wording: the calming acknowledgement, and when the team will pick a message up.

Every sentence is polite, never blames the customer and never says "I don't know". Variants are picked
deterministically from a seed (for example the conversation id), so one conversation reads naturally
and tests stay stable.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import datetime

from backend.complaints.sla import DEFAULT_TZ
from backend.formatting import local_time_text

_ACKNOWLEDGE: dict[str, tuple[str, ...]] = {
    "delay": (
        "I understand how frustrating it is to wait for a shipment that should already be with you.",
        "Waiting without knowing when your shipment will arrive is stressful, and I completely understand.",
        "I can see your shipment hasn't reached you when it should have, and I understand why that's "
        "upsetting.",
    ),
    "missed_pickup": (
        "I understand you kept time free for the pickup and nobody came. That's really inconvenient.",
        "Waiting in for a courier who doesn't turn up wastes your time, and I completely understand your "
        "frustration.",
        "I can see the pickup you booked didn't happen as arranged, and I understand how disruptive that is.",
    ),
    "damage": (
        "I'm sorry to hear your shipment arrived damaged. That's not how it should reach you.",
        "Receiving your goods damaged is disappointing, and I completely understand how you feel.",
        "I understand how upsetting it is to open a parcel and find the contents damaged.",
    ),
    "loss": (
        "I understand how worrying it is when a shipment, or part of it, goes missing.",
        "Not knowing where your goods are is stressful, and I completely understand your concern.",
        "I can see that something you sent with us hasn't reached its destination, and I understand how "
        "serious that is for you.",
    ),
    "wrong_delivery": (
        "I understand how confusing it is to see a shipment marked as delivered when it hasn't reached you.",
        "Your parcel should have come to you, and I completely understand why you're concerned.",
        "I can see your shipment didn't reach the right hands, and I understand how frustrating that is.",
    ),
    "billing": (
        "I understand that being charged more than you expected is frustrating.",
        "A bill that doesn't match what you were quoted is worrying, and I completely understand.",
        "I can see you have questions about your charge, and you're right to want it checked.",
    ),
    "staff_conduct": (
        "I'm sorry you were treated that way. Everyone who contacts us deserves courtesy and respect.",
        "Nobody should be spoken to or treated like that, and I completely understand how you feel.",
        "I understand how upsetting it is when our staff don't treat you with the care you deserve.",
    ),
    "other": (
        "I understand something has gone wrong, and I want to help put it right.",
        "I can see this has caused you trouble, and I completely understand how you feel.",
        "I understand how frustrating this is, and I'm here to help.",
    ),
}
# Intensity tiers: calm or annoyed, angry, furious.
_APOLOGISE: tuple[tuple[str, ...], ...] = (
    (
        "I'm sorry for the trouble.",
        "Please accept my apologies for the inconvenience.",
        "I'm sorry this has happened.",
    ),
    (
        "I'm truly sorry. You have every reason to be upset, and I'm taking this seriously.",
        "I sincerely apologise. This is not the service you should get from us.",
        "I'm really sorry. You're right to be annoyed, and I want to sort this out for you.",
    ),
    (
        "I'm deeply sorry. You have every right to be angry, and this now has my full attention.",
        "I sincerely apologise. We've let you down, and I'll make sure this is handled with priority.",
        "I'm very sorry. I hear how strongly you feel, and I'm going to make this a priority.",
    ),
)
_THANK: tuple[str, ...] = (
    "Thank you for telling us; it helps us put things right.",
    "Thank you for taking the time to let us know.",
    "Thank you for raising this with us; please tell me everything that happened.",
)


def _pick(options: Sequence[str], seed: int | str, salt: int) -> str:
    """One option, chosen stably from the seed."""
    key = seed if isinstance(seed, int) else zlib.crc32(seed.encode("utf-8"))
    return options[(key + salt) % len(options)]


def calm_message(category: str | None, anger: int, *, name: str | None = None, seed: int | str = 0) -> str:
    """Acknowledge the feeling, apologise and thank: the Calm stage of the complaint script."""
    acknowledge = _ACKNOWLEDGE.get(category or "other", _ACKNOWLEDGE["other"])
    tier = 0 if anger <= 1 else 1 if anger == 2 else 2
    # Different salts so the three parts do not move in lockstep across seeds.
    parts = [
        _pick(acknowledge, seed, 0),
        _pick(_APOLOGISE[tier], seed, 1),
        _pick(_THANK, seed, 2),
    ]
    text = " ".join(parts)
    if not name or not name.strip():
        return text
    first_word = text.split(maxsplit=1)[0]
    if first_word != "I" and not first_word.startswith("I'"):
        text = text[:1].lower() + text[1:]
    return f"{name.strip()}, {text}"


def after_hours_text(opening: datetime, *, start_hour: int, end_hour: int, tz: str = DEFAULT_TZ) -> str:
    """Said outside business hours: when the team works, and when they will pick the message up."""
    return (
        f"Our team works {start_hour}:00-{end_hour}:00 on working days (public holidays excepted), "
        f"so they will pick this up from {local_time_text(opening, tz)}."
    )
