"""The conversation page's words in the agent's language: codes, history verbs, shipment scans, times.

The page's data keeps codes (`waiting_customer`, `claimed`, `in_transit`) and the record's own English
text; this is where they become words for the reader, from the same catalog and Babel formats as the
bot's messages. The record's scans, places and reasons go through backend/record_words.py, exactly as
the bot words them for a Chinese shipper. The words for codes come from the console's
shared vocabulary (backend/console/vocabulary.py) and the findings' wish words, so a status reads the same
on every page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from backend.clock import utcnow
from backend.complaints import findings
from backend.console import vocabulary
from backend.domain import EventView
from backend.i18n import N_, Day, Days, Moment, Money, localise, t
from backend.record_words import Place, Signer, Stored, scan_text

# A ticket's status as an agent reads it (the shipper's "waiting for your reply" is not the agent's).
TICKET_STATUS = vocabulary.TICKET_STATUSES
TICKET_KIND = vocabulary.TICKET_KINDS
CATEGORY = vocabulary.CATEGORIES
LEVEL = vocabulary.LEVELS
RESPONSIBILITY = vocabulary.RESPONSIBILITIES
STAGE = vocabulary.COMPLAINT_STAGES
WANTS = {**findings.WANTS_WORDS, "unspecified": N_("nothing in particular (we will suggest what we can do)")}
PHOTO = vocabulary.PHOTO_STATUSES
SENDER = vocabulary.SENDERS
CHANNEL = vocabulary.CHANNELS
SHIPMENT_STATUS = vocabulary.SHIPMENT_STATUSES
# What happened, in the ticket's history: the audit trail's action codes as verbs.
HISTORY = {
    "created": N_("opened the ticket"),
    "claimed": N_("claimed the conversation"),
    "released": N_("released it to the queue"),
    "handed_back": N_("handed it back to the bot"),
    "transferred": N_("transferred the conversation"),
    "replied": N_("replied to the shipper"),
    "note": N_("added a note"),
    "status_changed": N_("changed the status"),
    "updated": N_("updated the ticket"),
    "escalated": N_("escalated the complaint"),
    "reassessed": N_("reassessed the complaint"),
    "analysed": N_("analysed the complaint"),
    "photo_received": N_("sent a photo"),
    "follow_up_asked": N_("asked for a rating"),
    "follow_up_rated": N_("rated the service"),
    "follow_up_commented": N_("commented on the service"),
    "follow_up_finished": N_("finished the follow-up"),
    "sla_first_response_breached": N_("the first-response deadline passed"),
    "sla_resolution_breached": N_("the resolution deadline passed"),
    "compensation_approval_requested": N_("asked a supervisor to approve compensation"),
    "compensation_request_changed": N_("changed the compensation request"),
    "compensation_request_withdrawn": N_("withdrew the compensation request"),
    "compensation_approved": N_("approved the compensation"),
    "compensation_rejected": N_("rejected the compensation"),
}
# The SLA countdown's words (the page gives them to conversation.js too, so the live count reads alike).
HOURS_MINUTES = N_("{hours} h {minutes} min")
MINUTES = N_("{minutes} min")
LEFT = N_("{time} left")
OVERDUE = N_("{time} overdue")
# Who did it, when it is not a person with a name.
ACTOR = {"bot": N_("Bot"), "shipper": N_("Shipper"), "system": N_("System")}


def _moment(value: str | datetime) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


@dataclass(frozen=True)
class ConversationWords:
    """The page's words for one reader: `say.status("open")`, `say.when(iso)`, `say.scan(event)` ..."""

    language: str
    tz: ZoneInfo
    today: date

    @classmethod
    def for_reader(cls, language: str, tz: ZoneInfo, now: datetime | None = None) -> ConversationWords:
        return cls(language, tz, (now or utcnow()).astimezone(tz).date())

    def _word(self, table: Mapping[str, str], code: str | None, default: str = "") -> str:
        if not code:
            return t(self.language, default) if default else ""
        return t(self.language, table[code]) if code in table else code

    def status(self, code: str | None) -> str:
        return self._word(TICKET_STATUS, code)

    def kind(self, code: str | None) -> str:
        return self._word(TICKET_KIND, code)

    def category(self, code: str | None) -> str:
        return self._word(CATEGORY, code)

    def level(self, code: str | None) -> str:
        return self._word(LEVEL, code, N_("not analysed yet"))

    def responsibility(self, code: str | None) -> str:
        return self._word(RESPONSIBILITY, code, N_("not determined yet"))

    def stage(self, code: str) -> str:
        return self._word(STAGE, code)

    def wants(self, code: str | None) -> str:
        # What the shipper wants is a code when the bot read it, else the shipper's own words.
        return self._word(WANTS, code, N_("not said yet"))

    def photo(self, code: str | None) -> str:
        return self._word(PHOTO, code)

    def sender(self, code: str) -> str:
        return self._word(SENDER, code)

    def channel(self, code: str | None) -> str:
        return self._word(CHANNEL, code)

    def shipment_status(self, code: str | None) -> str:
        return self._word(SHIPMENT_STATUS, code)

    def action(self, code: str) -> str:
        return self._word(HISTORY, code)

    def actor(self, event: dict[str, Any]) -> str:
        """A person by their display name; the bot, the shipper or the system by their word."""
        actor = str(event.get("actor") or "")
        if event.get("actor_name"):
            return str(event["actor_name"])
        if actor in ACTOR:
            return t(self.language, ACTOR[actor])
        return actor.partition(":")[2] or actor

    def when(self, value: str | datetime | None) -> str:
        """A stored UTC time on the carrier's clock, relative to today ("yesterday 14:05", "昨天 14:05")."""
        if value is None or value == "":
            return ""
        return str(localise(Moment(_moment(value), self.tz, self.today), self.language))

    def day(self, value: str | date | None) -> str:
        if not value:
            return ""
        day = date.fromisoformat(value) if isinstance(value, str) else value
        return str(localise(Day(day, self.today), self.language))

    def money(self, amount: str | Decimal | None) -> str:
        if amount in (None, ""):
            return ""
        try:
            return str(localise(Money(Decimal(str(amount))), self.language))
        except InvalidOperation:
            return str(amount)

    def countdown(self, due: str | datetime, now: datetime | None = None) -> str:
        """Time left to a deadline ("2 h 5 min left"), or how far past it ("15 min overdue")."""
        seconds = int((_moment(due) - (now or utcnow())).total_seconds())
        minutes = abs(seconds) // 60
        hours, minutes = divmod(minutes, 60)
        span = (
            t(self.language, HOURS_MINUTES, hours=hours, minutes=minutes)
            if hours
            else t(self.language, MINUTES, minutes=minutes)
        )
        return t(self.language, LEFT if seconds >= 0 else OVERDUE, time=span)

    def overdue(self, due: str | datetime, now: datetime | None = None) -> bool:
        return _moment(due) < (now or utcnow())

    def days_late(self, count: int) -> str:
        return t(self.language, "{days} late", days=Days(count))

    def place(self, name: str | None) -> str:
        return Place(name).text(self.language) if name else ""

    def record(self, text: str | None) -> str:
        """A reason or note from the shipment's record, in the reader's words where the catalog has them."""
        return Stored(text).text(self.language) if text else ""

    def signed_by(self, name: str) -> str:
        return t(self.language, "signed for by “{signer}”", signer=Signer(name))

    def scan(self, event: dict[str, Any]) -> str:
        """One tracking scan, worded as the bot words it for a shipper of this language."""
        view = EventView(
            occurred_at=_moment(event["occurred_at"]),
            location=str(event.get("location") or ""),
            code=str(event.get("code") or ""),
            description=str(event.get("description") or ""),
        )
        return scan_text(view, self.language)
