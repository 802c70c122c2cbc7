"""The offered and agreed remedy kept as a code and its facts, read in each reader's language (issue 16).

The shipper reads the bot's offer in their language, the agent in theirs, and the API keeps its English
text under the same field names; a resolution an agent types stays exactly as typed.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.complaints.remedies import remedy_from_json
from backend.config import get_settings
from backend.language import CHINESE_CHARACTER
from backend.models import Shipment, ShipmentEvent
from backend.services import complaints as use_cases
from backend.services.agent_work import AgentView, change_ticket
from backend.services.console import complaint_summary
from backend.services.tickets import (
    BusinessCalendar,
    agreed_resolution_text,
    get_ticket,
    list_ticket_events,
    remedy_offered_text,
    ticket_to_dict,
    update_ticket,
)
from backend.waybill import make_waybill
from tests.text_checks import latin_words

LATE = ("EA100000034CN", "Where is my parcel?? It was promised two days ago and it's still stuck in Wuhan.")


def _twin(session: Session, waybill: str) -> str:
    """A copy of a demo shipment under a waybill of its own: no earlier complaint makes this one a repeat."""
    original = session.scalars(select(Shipment).where(Shipment.waybill == waybill)).one()
    columns = {
        c.key: getattr(original, c.key) for c in Shipment.__table__.columns if c.key not in ("id", "waybill")
    }
    twin = Shipment(waybill=make_waybill("EY", uuid.uuid4().int % 10**8), **columns)
    twin.events = [
        ShipmentEvent(
            occurred_at=e.occurred_at,
            location=e.location,
            code=e.code,
            description=e.description,
            force_majeure=e.force_majeure,
        )
        for e in original.events
    ]
    session.add(twin)
    session.flush()
    return twin.waybill


def _draft(session: Session, language: str) -> use_cases.ComplaintDraft:
    waybill, text = LATE
    waybill = _twin(session, waybill)
    return use_cases.ComplaintDraft(
        key=f"complaint:{uuid.uuid4()}",
        conversation_id=f"web:{uuid.uuid4()}",
        category="delay",
        messages=(text,),
        waybill=waybill,
        description=text,
        language=language,
    )


def _offer(session: Session, draft: use_cases.ComplaintDraft) -> Any:
    calendar = BusinessCalendar.from_settings(get_settings())
    return use_cases.offer_remedy(session, draft, now=datetime.now(timezone.utc), calendar=calendar)


def _chinese(text: str | None) -> None:
    assert text and CHINESE_CHARACTER.search(text), text
    assert latin_words(text) == [], text


def test_the_offer_is_kept_as_code_and_facts_and_read_in_each_language(db_session: Session) -> None:
    outcome = _offer(db_session, _draft(db_session, "zh"))
    assert outcome.offer is not None
    ticket = get_ticket(db_session, outcome.ticket_number)
    assert ticket is not None and ticket.remedy_offered_facts is not None
    assert ticket.remedy_offered_facts["code"] == outcome.offer.code == "apology_priority_updates_voucher"
    assert remedy_from_json(ticket.remedy_offered_facts) == outcome.offer
    # The shipper's words and the agent's: the same offer in either language, with the voucher's amount.
    assert remedy_offered_text(ticket, "zh") == outcome.offer.text("zh")
    _chinese(remedy_offered_text(ticket, "zh"))
    assert "元" in (remedy_offered_text(ticket, "zh") or "")
    assert remedy_offered_text(ticket, "en") == ticket.remedy_offered == outcome.offer.description


def test_the_accepted_remedy_reads_in_chinese_and_the_api_keeps_english(db_session: Session) -> None:
    outcome = _offer(db_session, _draft(db_session, "zh"))
    use_cases.accept_remedy(db_session, outcome.ticket_number)
    db_session.commit()
    db_session.expire_all()  # read back from the database, not the session's objects
    ticket = get_ticket(db_session, outcome.ticket_number)
    assert ticket is not None and ticket.status == "open"
    assert ticket.agreed_resolution_facts == ticket.remedy_offered_facts
    _chinese(agreed_resolution_text(ticket, "zh"))
    assert agreed_resolution_text(ticket, "zh") == outcome.offer.text("zh")
    api = ticket_to_dict(ticket)
    assert api["agreed_resolution"] == outcome.offer.description == agreed_resolution_text(ticket, "en")
    assert not CHINESE_CHARACTER.search(api["agreed_resolution"])


def test_the_console_reads_offers_made_refused_and_accepted_in_the_agents_language(
    db_session: Session,
) -> None:
    draft = _draft(db_session, "en")
    first = _offer(db_session, draft)
    calendar = BusinessCalendar.from_settings(get_settings())
    second = use_cases.refuse_remedy(
        db_session,
        draft,
        ticket_number=first.ticket_number,
        refusals=1,
        now=datetime.now(timezone.utc),
        calendar=calendar,
    )
    assert second.offer is not None and second.offer.code == "freight_refund"
    use_cases.accept_remedy(db_session, first.ticket_number)
    ticket = get_ticket(db_session, first.ticket_number)
    assert ticket is not None
    events = list_ticket_events(db_session, ticket.number)
    chinese = complaint_summary(ticket, events, language="zh")["offers"]
    assert chinese["made"] == [first.offer.text("zh"), second.offer.text("zh")]
    assert chinese["refused"] == [first.offer.text("zh")]
    assert chinese["accepted"] == second.offer.text("zh")
    for text in chinese["made"]:
        _chinese(text)
    english = complaint_summary(ticket, events)["offers"]
    assert english == {
        "made": [first.offer.description, second.offer.description],
        "refused": [first.offer.description],
        "accepted": second.offer.description,
    }


def test_an_agents_typed_resolution_stays_as_typed(db_session: Session) -> None:
    outcome = _offer(db_session, _draft(db_session, "zh"))
    use_cases.accept_remedy(db_session, outcome.ticket_number)
    ticket = get_ticket(db_session, outcome.ticket_number)
    assert ticket is not None
    # Saved again unchanged (the form sends the text back): still the bot's remedy, read in Chinese.
    ticket = update_ticket(
        db_session,
        number=ticket.number,
        expected_version=None,
        actor="agent:demo",
        agreed_resolution=ticket.agreed_resolution,
    )
    _chinese(agreed_resolution_text(ticket, "zh"))
    typed = "已退还运费 180 元，并赠送下次寄件优惠券"
    ticket = update_ticket(
        db_session, number=ticket.number, expected_version=None, actor="agent:demo", agreed_resolution=typed
    )
    assert ticket.agreed_resolution_facts is None
    assert agreed_resolution_text(ticket, "zh") == agreed_resolution_text(ticket, "en") == typed
    assert ticket_to_dict(ticket)["agreed_resolution"] == typed
    events = list_ticket_events(db_session, ticket.number)
    assert complaint_summary(ticket, events, language="en")["offers"]["accepted"] == typed


def test_a_chinese_agent_saving_the_form_as_shown_keeps_the_bots_remedy(db_session: Session) -> None:
    """The form shows the agreed remedy in the agent's language; sent back unchanged, it stays the bot's
    remedy (code and facts), not a Chinese sentence that the API and English readers would then get."""
    outcome = _offer(db_session, _draft(db_session, "zh"))
    use_cases.accept_remedy(db_session, outcome.ticket_number)
    ticket = get_ticket(db_session, outcome.ticket_number)
    assert ticket is not None
    shown = agreed_resolution_text(ticket, "zh")
    _chinese(shown)
    li_wei = AgentView("li.wei", "agent")
    change_ticket(db_session, ticket.number, li_wei, status="resolved", resolution=shown)
    ticket = get_ticket(db_session, outcome.ticket_number)
    assert ticket is not None and ticket.status == "resolved"
    assert ticket.agreed_resolution_facts is not None
    assert ticket_to_dict(ticket)["agreed_resolution"] == outcome.offer.description
