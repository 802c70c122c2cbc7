"""The console's JSON API (`/console/api/...`): the pages' scripts call it, and other tools rely on its names.

Reads need a logged-in agent; every call that changes something also needs the `X-CSRF-Token` header.
The routes only translate HTTP: the use cases live in backend.services.agent_work (the pages' forms call
the same ones), and a refusal is a domain error that the app's one exception handler answers.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Request, status
from fastapi.responses import JSONResponse, Response

from backend.api.deps import SessionDep, SettingsDep
from backend.console.deps import as_view, current_agent_api, hub_of, require_csrf, require_supervisor
from backend.console.language import reader_language
from backend.errors import NotFound
from backend.i18n import N_, t
from backend.models import Agent
from backend.services import agent_work as work
from backend.services import console as reads
from backend.services.attachments import PHOTO_STORE_DOWN, attachment_file, without_exif
from backend.services.search import QueueFilter, find_conversations
from backend.storage import StoreUnavailable

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/console/api", tags=["console"])
AgentDep = Annotated[Agent, Depends(current_agent_api)]
Payload = Annotated[dict[str, Any], Body()]
CHANGES = [Depends(require_csrf)]


@router.get("/queue")
def read_queue(
    agent: AgentDep, session: SessionDep, wanted: Annotated[QueueFilter, Depends(QueueFilter.of)]
) -> dict[str, Any]:
    """Waiting conversations and the ones this agent holds, by priority then SLA due time; with `q`
    (waybill, phone, ticket number, customer id or name) or a filter (mine, unassigned, language,
    priority, status), what they find."""
    return {"conversations": find_conversations(session, wanted, agent=agent.username)}


@router.get("/conversations/{conversation_id}")
def read_conversation(
    conversation_id: str, agent: AgentDep, session: SessionDep, request: Request
) -> dict[str, Any]:
    """Transcript, tickets with their complaint summary (in the agent's language), photos, shipment and
    customer."""
    detail = reads.conversation_detail(session, conversation_id, language=reader_language(request, agent))
    if detail is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"No conversation {conversation_id}.")
    return detail


@router.get("/customers/{customer_id}")
def read_customer(customer_id: str, agent: AgentDep, session: SessionDep) -> dict[str, Any]:
    """A customer's class, masked phone, conversations and tickets, newest first."""
    customer = reads.customer_view(session, customer_id)
    if customer is None:
        raise NotFound(N_("No customer {customer}."), customer=customer_id)
    return customer


@router.post("/conversations/{conversation_id}/claim", dependencies=CHANGES)
async def claim(conversation_id: str, agent: AgentDep, request: Request) -> Any:
    """Take the conversation; 409 with the holder when another agent was first."""
    conversation = await work.claim(hub_of(request), conversation_id, as_view(agent))
    return {"owner": conversation.owner, "state": conversation.state}


@router.post("/conversations/{conversation_id}/messages", dependencies=CHANGES)
async def send_message(conversation_id: str, agent: AgentDep, request: Request, payload: Payload) -> Any:
    """The agent's reply, delivered on the shipper's own channel."""
    text = str(payload.get("text", ""))
    message = await work.reply(hub_of(request), conversation_id, as_view(agent), text)
    return message.to_json()


@router.post("/conversations/{conversation_id}/notes", dependencies=CHANGES)
async def write_note(conversation_id: str, agent: AgentDep, request: Request, payload: Payload) -> Any:
    """An internal note on the conversation's ticket: agents see it, the shipper never does."""
    return await work.note(hub_of(request), conversation_id, as_view(agent), str(payload.get("text", "")))


@router.post("/conversations/{conversation_id}/release", dependencies=CHANGES)
async def release(conversation_id: str, agent: AgentDep, request: Request) -> Any:
    """Back to the queue for another person."""
    conversation = await work.release(hub_of(request), conversation_id, as_view(agent))
    return {"state": conversation.state, "owner": conversation.owner}


@router.post("/conversations/{conversation_id}/hand-back", dependencies=CHANGES)
async def hand_back(conversation_id: str, agent: AgentDep, request: Request) -> Any:
    """The bot speaks again and says so."""
    replies = await work.hand_back(hub_of(request), conversation_id, as_view(agent))
    return {"state": "bot", "owner": None, "bot_said": [r.text for r in replies]}


@router.post("/tickets/{number}", dependencies=CHANGES)
async def update_ticket(number: str, agent: AgentDep, request: Request, payload: Payload) -> Any:
    """Status, resolution, compensation and a note; 202 while a compensation waits for a supervisor.

    The 202 answer carries `approval` (the waiting request), `detail` (the sentence for the agent) and,
    when a resolved or closed status had to wait for the decision, `held_status`.
    """
    result = await work.edit_ticket(
        hub_of(request),
        number,
        as_view(agent),
        status=payload.get("status") or None,
        resolution=payload.get("resolution") or None,
        compensation_cny=payload.get("compensation_cny"),
        note=payload.get("note") or None,
    )
    waiting = (result.get("approval") or {}).get("status") == "pending"
    return JSONResponse(result, status_code=status.HTTP_202_ACCEPTED if waiting else status.HTTP_200_OK)


@router.get("/approvals", dependencies=[Depends(require_supervisor)])
def read_approvals(session: SessionDep) -> dict[str, Any]:
    """Requests waiting for a supervisor (amount, agent, ticket, reason), and the latest decisions."""
    return reads.approvals(session)


async def _decide(
    request_id: int, agent: Agent, request: Request, payload: dict[str, Any], approve: bool
) -> Any:
    return await work.decide(
        hub_of(request), request_id, as_view(agent), approve=approve, amount_cny=payload.get("amount_cny")
    )


@router.post("/approvals/{request_id}/approve", dependencies=[*CHANGES, Depends(require_supervisor)])
async def approve(request_id: int, agent: AgentDep, request: Request, payload: Payload) -> Any:
    """Approve request `request_id` for `amount_cny`: 409 when it changed or was decided already."""
    return await _decide(request_id, agent, request, payload, True)


@router.post("/approvals/{request_id}/reject", dependencies=[*CHANGES, Depends(require_supervisor)])
async def reject(request_id: int, agent: AgentDep, request: Request, payload: Payload) -> Any:
    """Reject request `request_id` for `amount_cny`: 409 when it changed or was decided already."""
    return await _decide(request_id, agent, request, payload, False)


@router.get("/attachments/{attachment_id}")
def read_attachment(
    attachment_id: int, agent: AgentDep, session: SessionDep, settings: SettingsDep, request: Request
) -> Response:
    """A photo the shipper sent, for the agent's eyes (never served without a login)."""
    try:
        # A sync route: the store's blocking read runs in FastAPI's worker thread, not on the loop.
        photo = attachment_file(
            session, attachment_id, store=request.app.state.uploads, max_bytes=settings.upload_max_bytes
        )
    except StoreUnavailable as error:
        logger.warning("photo %s not served: %s", attachment_id, error)
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail=t(reader_language(request, agent), PHOTO_STORE_DOWN),
        ) from None
    if photo is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="No such photo.")
    # Photos stored before EXIF was dropped at upload lose it here; nosniff: the browser takes the
    # type we checked from the content, never a guess of its own (an "image" that reads as HTML).
    return Response(
        without_exif(photo.data),
        media_type=photo.content_type,
        headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
    )
