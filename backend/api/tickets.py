"""GET /api/tickets and /api/tickets/{number}: the API token, or an integration token with tickets:read."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, status

from backend.api.deps import SessionDep, require_token_or_scope
from backend.domain import TICKET_STATUSES
from backend.services.tickets import get_ticket, list_tickets, ticket_to_dict

router = APIRouter(tags=["tickets"], dependencies=[Depends(require_token_or_scope("tickets:read"))])


@router.get("/tickets")
def read_tickets(
    session: SessionDep,
    conversation_id: str | None = None,
    status_: str | None = Query(default=None, alias="status"),
    limit: int = Query(default=100, ge=1, le=500),
) -> dict[str, list[dict[str, Any]]]:
    """Tickets, newest first, filtered by conversation and/or status."""
    if status_ is not None and status_ not in TICKET_STATUSES:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, detail=f"status must be one of: {', '.join(TICKET_STATUSES)}"
        )
    tickets = list_tickets(session, conversation_id=conversation_id, status=status_, limit=limit)
    return {"tickets": [ticket_to_dict(t) for t in tickets]}


@router.get("/tickets/{number}")
def read_ticket(number: str, session: SessionDep) -> dict[str, Any]:
    """One ticket by its number."""
    ticket = get_ticket(session, number)
    if ticket is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"No ticket {number}.")
    return ticket_to_dict(ticket)
