"""What the console's tests build again and again: a conversation queued for a person with its ticket."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from backend.services import conversations as conv
from backend.services.tickets import open_ticket


def queued_complaint(session: Session, *, priority: str = "P3", category: str = "delay") -> tuple[str, str]:
    """A web conversation queued for a person, with its escalated complaint ticket: (id, ticket number)."""
    cid = f"web:{uuid.uuid4()}"
    conv.record_message(session, conversation_id=cid, direction="in", sender="shipper", text="<b>help</b> me")
    ticket = open_ticket(
        session,
        idempotency_key=f"test:{cid}",
        conversation_id=cid,
        kind="complaint",
        status="escalated",
        actor="bot",
        category=category,
        priority=priority,
        level="serious" if priority == "P1" else "general",
        waybill="EA100000034CN",
        stage_reached="negotiate",
        remedy_offered="A voucher of 36.00 CNY.",
    )
    conv.mark_for_agent(session, conversation_id=cid, reason="customer refused 2 offer(s)")
    return cid, ticket.number
