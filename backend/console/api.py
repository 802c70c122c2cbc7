"""The console's JSON API (`/console/api/...`): the pages' scripts call it, and other tools rely on its names.

Reads need a logged-in agent; every call that changes something also needs the `X-CSRF-Token` header.
The routes are thin: the use cases live in backend.console.work and the pages' forms call the same ones.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Request, status
from fastapi.responses import FileResponse, JSONResponse

from backend.api.deps import SessionDep, SettingsDep
from backend.console import work
from backend.console.auth import current_agent_api, require_csrf, require_supervisor
from backend.hub import Hub
from backend.models import Agent
from backend.services import console as reads
from backend.services.attachments import attachment_file

router = APIRouter(prefix="/console/api", tags=["console"])
AgentDep = Annotated[Agent, Depends(current_agent_api)]
Payload = Annotated[dict[str, Any], Body()]
CHANGES = [Depends(require_csrf)]


def hub_of(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


def as_view(agent: Agent) -> work.AgentView:
    return work.AgentView(username=agent.username, role=agent.role)


def refused(error: work.ConsoleError) -> JSONResponse:
    body: dict[str, Any] = {"detail": error.detail}
    if error.owner is not None:
        body["owner"] = error.owner
    return JSONResponse(body, status_code=error.status_code)


@router.get("/queue")
def read_queue(agent: AgentDep, session: SessionDep) -> dict[str, Any]:
    """Waiting conversations and the ones this agent holds, by priority then SLA due time."""
    return {"conversations": reads.queue(session, agent=agent.username)}


@router.get("/conversations/{conversation_id}")
def read_conversation(conversation_id: str, agent: AgentDep, session: SessionDep) -> dict[str, Any]:
    """Transcript, tickets with their complaint summary, photos, shipment and customer."""
    detail = reads.conversation_detail(session, conversation_id)
    if detail is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"No conversation {conversation_id}.")
    return detail


@router.post("/conversations/{conversation_id}/claim", dependencies=CHANGES)
async def claim(conversation_id: str, agent: AgentDep, request: Request) -> Any:
    """Take the conversation; 409 with the holder when another agent was first."""
    try:
        conversation = await work.claim(hub_of(request), conversation_id, as_view(agent))
    except work.ConsoleError as error:
        return refused(error)
    return {"owner": conversation.owner, "state": conversation.state}


@router.post("/conversations/{conversation_id}/messages", dependencies=CHANGES)
async def send_message(conversation_id: str, agent: AgentDep, request: Request, payload: Payload) -> Any:
    """The agent's reply, delivered on the shipper's own channel."""
    try:
        message = await work.reply(
            hub_of(request), conversation_id, as_view(agent), str(payload.get("text", ""))
        )
    except work.ConsoleError as error:
        return refused(error)
    return message.to_json()


@router.post("/conversations/{conversation_id}/notes", dependencies=CHANGES)
async def write_note(conversation_id: str, agent: AgentDep, request: Request, payload: Payload) -> Any:
    """An internal note on the conversation's ticket: agents see it, the shipper never does."""
    try:
        return await work.note(hub_of(request), conversation_id, as_view(agent), str(payload.get("text", "")))
    except work.ConsoleError as error:
        return refused(error)


@router.post("/conversations/{conversation_id}/release", dependencies=CHANGES)
async def release(conversation_id: str, agent: AgentDep, request: Request) -> Any:
    """Back to the queue for another person."""
    try:
        conversation = await work.release(hub_of(request), conversation_id, as_view(agent))
    except work.ConsoleError as error:
        return refused(error)
    return {"state": conversation.state, "owner": conversation.owner}


@router.post("/conversations/{conversation_id}/hand-back", dependencies=CHANGES)
async def hand_back(conversation_id: str, agent: AgentDep, request: Request) -> Any:
    """The bot speaks again and says so."""
    try:
        replies = await work.hand_back(hub_of(request), conversation_id, as_view(agent))
    except work.ConsoleError as error:
        return refused(error)
    return {"state": "bot", "owner": None, "bot_said": [r.text for r in replies]}


@router.post("/tickets/{number}", dependencies=CHANGES)
async def update_ticket(number: str, agent: AgentDep, request: Request, payload: Payload) -> Any:
    """Status, resolution, compensation and a note; above the agent's limit a supervisor approves (202)."""
    try:
        result = await work.edit_ticket(
            hub_of(request),
            number,
            as_view(agent),
            status=payload.get("status") or None,
            resolution=payload.get("resolution") or None,
            compensation_cny=work.parse_amount(payload.get("compensation_cny")),
            note=payload.get("note") or None,
        )
    except work.ConsoleError as error:
        return refused(error)
    pending = result.get("approval") == "pending"
    return JSONResponse(result, status_code=status.HTTP_202_ACCEPTED if pending else status.HTTP_200_OK)


@router.post("/tickets/{number}/approve-compensation", dependencies=[*CHANGES, Depends(require_supervisor)])
async def approve(number: str, agent: AgentDep, request: Request) -> Any:
    """A supervisor approves the compensation an agent proposed above the agent's limit."""
    try:
        return await hub_of(request).run_db(lambda s: work.approve_compensation(s, number, as_view(agent)))
    except work.ConsoleError as error:
        return refused(error)


@router.get("/attachments/{attachment_id}")
def read_attachment(
    attachment_id: int, agent: AgentDep, session: SessionDep, settings: SettingsDep
) -> FileResponse:
    """A photo the shipper sent, for the agent's eyes (never served without a login)."""
    photo = attachment_file(session, attachment_id, upload_dir=settings.upload_dir)
    if photo is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="No such photo.")
    return FileResponse(
        photo.path, media_type=photo.content_type, headers={"Cache-Control": "private, no-store"}
    )
