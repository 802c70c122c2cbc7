"""Customer-facing wording: the calming acknowledgement, and when the team will pick a message up.

Every sentence is polite, never blames the customer and never says "I don't know". Variants are picked
deterministically from a seed (for example the conversation id), so one conversation reads naturally
and tests stay stable.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import datetime

from backend.complaints.sla import BusinessCalendar
from backend.i18n import N_, LocalTime, language_of, t

_ACKNOWLEDGE: dict[str, tuple[str, ...]] = {
    "delay": (
        N_("I understand how frustrating it is to wait for a shipment that should already be with you."),
        N_(
            "Waiting without knowing when your shipment will arrive is stressful, and I completely "
            "understand."
        ),
        N_(
            "I can see your shipment hasn't reached you when it should have, and I understand why that's "
            "upsetting."
        ),
    ),
    "missed_pickup": (
        N_("I understand you kept time free for the pickup and nobody came. That's really inconvenient."),
        N_(
            "Waiting in for a courier who doesn't turn up wastes your time, and I completely understand "
            "your frustration."
        ),
        N_(
            "I can see the pickup you booked didn't happen as arranged, and I understand how disruptive "
            "that is."
        ),
    ),
    "damage": (
        N_("I'm sorry to hear your shipment arrived damaged. That's not how it should reach you."),
        N_("Receiving your goods damaged is disappointing, and I completely understand how you feel."),
        N_("I understand how upsetting it is to open a parcel and find the contents damaged."),
    ),
    "loss": (
        N_("I understand how worrying it is when a shipment, or part of it, goes missing."),
        N_("Not knowing where your goods are is stressful, and I completely understand your concern."),
        N_(
            "I can see that something you sent with us hasn't reached its destination, and I understand how "
            "serious that is for you."
        ),
    ),
    "wrong_delivery": (
        N_(
            "I understand how confusing it is to see a shipment marked as delivered when it hasn't reached "
            "you."
        ),
        N_("Your parcel should have come to you, and I completely understand why you're concerned."),
        N_("I can see your shipment didn't reach the right hands, and I understand how frustrating that is."),
    ),
    "billing": (
        N_("I understand that being charged more than you expected is frustrating."),
        N_("A bill that doesn't match what you were quoted is worrying, and I completely understand."),
        N_("I can see you have questions about your charge, and you're right to want it checked."),
    ),
    "staff_conduct": (
        N_("I'm sorry you were treated that way. Everyone who contacts us deserves courtesy and respect."),
        N_("Nobody should be spoken to or treated like that, and I completely understand how you feel."),
        N_("I understand how upsetting it is when our staff don't treat you with the care you deserve."),
    ),
    "other": (
        N_("I understand something has gone wrong, and I want to help put it right."),
        N_("I can see this has caused you trouble, and I completely understand how you feel."),
        N_("I understand how frustrating this is, and I'm here to help."),
    ),
}
# Intensity tiers: calm or annoyed, angry, furious.
_APOLOGISE: tuple[tuple[str, ...], ...] = (
    (
        N_("I'm sorry for the trouble."),
        N_("Please accept my apologies for the inconvenience."),
        N_("I'm sorry this has happened."),
    ),
    (
        N_("I'm truly sorry. You have every reason to be upset, and I'm taking this seriously."),
        N_("I sincerely apologise. This is not the service you should get from us."),
        N_("I'm really sorry. You're right to be annoyed, and I want to sort this out for you."),
    ),
    (
        N_("I'm deeply sorry. You have every right to be angry, and this now has my full attention."),
        N_("I sincerely apologise. We've let you down, and I'll make sure this is handled with priority."),
        N_("I'm very sorry. I hear how strongly you feel, and I'm going to make this a priority."),
    ),
)
_THANK: tuple[str, ...] = (
    N_("Thank you for telling us; it helps us put things right."),
    N_("Thank you for taking the time to let us know."),
    N_("Thank you for raising this with us; please tell me everything that happened."),
)


def _pick(options: Sequence[str], seed: int | str, salt: int) -> str:
    """One option, chosen stably from the seed."""
    key = seed if isinstance(seed, int) else zlib.crc32(seed.encode("utf-8"))
    return options[(key + salt) % len(options)]


def calm_message(
    category: str | None,
    anger: int,
    *,
    name: str | None = None,
    seed: int | str = 0,
    language: str = "en",
) -> str:
    """Acknowledge the feeling, apologise and thank: the Calm stage of the complaint script.

    In Chinese the apology and the thanks come first (非常抱歉给您带来不便，感谢您的反馈), as the
    seeds' service language has it, and the understanding follows.
    """
    acknowledge = _ACKNOWLEDGE.get(category or "other", _ACKNOWLEDGE["other"])
    tier = 0 if anger <= 1 else 1 if anger == 2 else 2
    # Different salts so the three parts do not move in lockstep across seeds.
    understood = t(language, _pick(acknowledge, seed, 0))
    sorry = t(language, _pick(_APOLOGISE[tier], seed, 1))
    thanks = t(language, _pick(_THANK, seed, 2))
    if language_of(language) == "zh":
        text = sorry + thanks + understood
        return f"{name.strip()}，{text}" if name and name.strip() else text
    text = " ".join([understood, sorry, thanks])
    if not name or not name.strip():
        return text
    first_word = text.split(maxsplit=1)[0]
    if first_word != "I" and not first_word.startswith("I'"):
        text = text[:1].lower() + text[1:]
    return f"{name.strip()}, {text}"


def after_hours_text(calendar: BusinessCalendar, now: datetime, language: str | None = None) -> str | None:
    """Said outside business hours: when the team works, and when they will pick the message up (None
    while the team is at work)."""
    if calendar.is_open(now):
        return None
    return t(
        language,
        "Our team works {start}:00-{end}:00 on working days (public holidays excepted), so they will pick "
        "this up from {opening}.",
        start=calendar.start_hour,
        end=calendar.end_hour,
        opening=LocalTime(calendar.next_opening(now), calendar.tz.key),
    )
