"""The console's conversation page: the live transcript, the agent's forms on it, and its event stream.

Forms post here (with the CSRF field) and land back on the conversation's page (post, redirect, get);
they call the same use cases as the JSON API, and a refusal lands back there too, with its sentence.
"""

from __future__ import annotations

import html
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse
from sqlalchemy import select

from backend.api.deps import SessionDep, refusals_return_to
from backend.console.conversation_words import ConversationWords
from backend.console.deps import PageAgent, as_view, hub_of, require_csrf
from backend.console.language import reader_language, translator
from backend.console.pages import _events, sse
from backend.console.rendering import render as render_page
from backend.console.rendering import templates
from backend.db import session_scope
from backend.domain import PRACTICE_CHANNELS
from backend.hub.broker import conversation_topic
from backend.language import LANGUAGES
from backend.models import Conversation
from backend.services import agent_work as work
from backend.services import canned_replies as canned
from backend.services import console as reads
from backend.services import notices
from backend.services import transfer as transfers
from backend.services.ownership import visible_filter

router = APIRouter(prefix="/console", tags=["console pages"], include_in_schema=False)


def words(request: Request, agent: Any) -> dict[str, Any]:
    """What the conversation's templates say things with, in the reader's language and the carrier's clock."""
    language = reader_language(request, agent)
    say = ConversationWords.for_reader(language, request.app.state.settings.tz)
    return {"say": say, "local": say.when, "lang": language, "_": translator(language)}


def render(request: Request, agent: Any, name: str, **context: Any) -> HTMLResponse:
    """A console page with the conversation's words (times relative to today, in the reader's language)."""
    return render_page(request, name, words(request, agent) | context)


def conversation_url(conversation_id: str) -> str:
    """The conversation's page."""
    return f"/console/conversations/{quote(conversation_id, safe='')}"


def back_to(conversation_id: str) -> RedirectResponse:
    """After a form: back to the conversation's page (post, redirect, get)."""
    return RedirectResponse(conversation_url(conversation_id), status_code=status.HTTP_303_SEE_OTHER)


@router.get("/next")
def next_in_queue(agent: PageAgent, session: SessionDep) -> RedirectResponse:
    """Alt+N: the conversation that has waited longest for a person, else the queue."""
    waiting = session.scalars(
        select(Conversation.id)
        .where(
            Conversation.state == "queued",
            Conversation.channel.not_in(PRACTICE_CHANNELS),
            # Another owner's customer, while offered to them, is not next for this agent.
            visible_filter(session, agent.username),
        )
        .order_by(Conversation.updated_at, Conversation.id)
        .limit(1)
    ).first()
    target = conversation_url(waiting) if waiting else "/console"
    return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)


@router.get("/conversations/{conversation_id}", response_class=HTMLResponse)
def conversation_page(
    conversation_id: str,
    request: Request,
    agent: PageAgent,
    session: SessionDep,
    error: str | None = None,
    saved: str | None = None,
) -> HTMLResponse:
    """One conversation: live transcript, complaint summary, shipment, customer, and the agent's tools."""
    detail = reads.conversation_detail(session, conversation_id, language=reader_language(request, agent))
    if detail is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"No conversation {conversation_id}.")
    timeline = sorted(
        [("message", m["created_at"], m) for m in detail["messages"]]
        + [("note", n["at"], n) for n in detail["notes"]],
        key=lambda item: datetime.fromisoformat(item[1]),
    )
    # The canned replies in the shipper's language (all of them while the language is not known yet).
    language = detail["language"] if detail["language"] in LANGUAGES else None
    replies = [
        {"id": r.id, "code": r.code, "title": r.title, "language": r.language}
        for r in canned.replies_for(session, agent.username, language=language)
    ]
    return render(
        request,
        agent,
        "console/conversation.html",
        c=detail,
        timeline=timeline,
        canned=replies,
        colleagues=transfers.colleagues(session, besides=detail["owner"]),
        # Proactive notices held because a person has the conversation: the agent sends or dismisses them.
        waiting_notices=notices.waiting_for_agent(session, conversation_id),
        error=error,
        saved=saved,
    )


def _return_to(request: Request, conversation_id: str) -> None:
    refusals_return_to(request, conversation_url(conversation_id))


def return_to_conversation(request: Request, conversation_id: str) -> None:
    """A refused form on /conversations/{conversation_id}/... lands back on that conversation's page."""
    _return_to(request, conversation_id)


def return_to_form_conversation(request: Request, conversation_id: Annotated[str, Form()]) -> None:
    """A refused ticket form lands back on the conversation page it was posted from."""
    _return_to(request, conversation_id)


CONVERSATION_FORM = [Depends(require_csrf), Depends(return_to_conversation)]
TICKET_FORM = [Depends(require_csrf), Depends(return_to_form_conversation)]


@router.post("/conversations/{conversation_id}/claim", dependencies=CONVERSATION_FORM)
async def claim_form(conversation_id: str, request: Request, agent: PageAgent) -> RedirectResponse:
    await work.claim(hub_of(request), conversation_id, as_view(agent))
    return back_to(conversation_id)


@router.post("/conversations/{conversation_id}/reply", dependencies=CONVERSATION_FORM)
async def reply_form(
    conversation_id: str, request: Request, agent: PageAgent, text: Annotated[str, Form()] = ""
) -> RedirectResponse:
    await work.reply(hub_of(request), conversation_id, as_view(agent), text)
    return back_to(conversation_id)


@router.post("/conversations/{conversation_id}/note", dependencies=CONVERSATION_FORM)
async def note_form(
    conversation_id: str, request: Request, agent: PageAgent, text: Annotated[str, Form()] = ""
) -> RedirectResponse:
    await work.note(hub_of(request), conversation_id, as_view(agent), text)
    # Without JavaScript the page says the note was saved; with it, conversation.js does.
    return RedirectResponse(f"{conversation_url(conversation_id)}?saved=note", status.HTTP_303_SEE_OTHER)


@router.post("/conversations/{conversation_id}/release", dependencies=CONVERSATION_FORM)
async def release_form(conversation_id: str, request: Request, agent: PageAgent) -> RedirectResponse:
    await work.release(hub_of(request), conversation_id, as_view(agent))
    return back_to(conversation_id)


@router.post("/conversations/{conversation_id}/hand-back", dependencies=CONVERSATION_FORM)
async def hand_back_form(conversation_id: str, request: Request, agent: PageAgent) -> RedirectResponse:
    await work.hand_back(hub_of(request), conversation_id, as_view(agent))
    return back_to(conversation_id)


@router.post("/conversations/{conversation_id}/transfer", dependencies=CONVERSATION_FORM)
async def transfer_form(
    conversation_id: str,
    request: Request,
    agent: PageAgent,
    to: Annotated[str, Form()] = "",
    holder: Annotated[str, Form()] = "",
) -> RedirectResponse:
    """Hand the conversation to a named colleague; `holder` is who had it when the page was drawn."""
    await transfers.transfer(hub_of(request), conversation_id, as_view(agent), to=to, holder=holder)
    return back_to(conversation_id)


@router.post("/conversations/{conversation_id}/notices/{delivery_id}", dependencies=CONVERSATION_FORM)
async def notice_form(
    conversation_id: str,
    delivery_id: int,
    request: Request,
    agent: PageAgent,
    decision: Annotated[str, Form()] = "",
) -> RedirectResponse:
    """A notice held for the agent: "send" pushes it as the bot's line, "dismiss" drops it. Only the
    agent who holds the conversation (or a supervisor) decides, as for a reply."""
    hub = hub_of(request)
    await hub.run_db(lambda s: work.ensure_holder(s, conversation_id, as_view(agent)))
    send = decision == "send"
    text = await hub.run_db(
        lambda s: notices.decide_waiting(
            s, conversation_id=conversation_id, delivery_id=delivery_id, send=send, agent=agent.username
        )
    )
    if text is not None:
        await hub.push(conversation_id, text, sender="bot")
    return back_to(conversation_id)


@router.post("/tickets/{number}", dependencies=TICKET_FORM)
async def ticket_form(
    number: str,
    request: Request,
    agent: PageAgent,
    conversation_id: Annotated[str, Form()],
    ticket_status: Annotated[str, Form()] = "",
    resolution: Annotated[str, Form()] = "",
    compensation_cny: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> RedirectResponse:
    await work.edit_ticket(
        hub_of(request),
        number,
        as_view(agent),
        status=ticket_status or None,
        resolution=resolution or None,
        compensation_cny=compensation_cny,
        note=note or None,
    )
    return back_to(conversation_id)


@router.get("/events/conversations/{conversation_id}")
async def conversation_events(conversation_id: str, request: Request, agent: PageAgent) -> StreamingResponse:
    """Each new transcript line as it is stored, and a notice when who speaks changes."""
    template = templates.get_template("console/_message.html")
    note_template = templates.get_template("console/_note.html")
    notice_template = templates.get_template("console/_notice_arrived.html")
    said = words(request, agent)

    async def stream() -> AsyncIterator[str]:
        async for event in _events(request, conversation_topic(conversation_id)):
            if event["type"] == "message":
                yield sse("message", template.render(m=event["message"], **said))
            elif event["type"] == "note":
                yield sse("message", note_template.render(n=event["note"], **said))
            elif event["type"] == "notice":
                yield sse("notice", notice_template.render(**said))
            elif event["type"] == "state":
                state = json.dumps({"state": event["state"], "owner": event["owner"]})
                yield sse("state", html.escape(state))
            else:
                yield ": keepalive\n\n"

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


# -- canned replies (快捷回复) -------------------------------------------------------------------------

CANNED_URL = "/console/canned-replies"


def return_to_canned(request: Request) -> None:
    """A refused canned-reply form lands back on the management page, with its sentence."""
    refusals_return_to(request, CANNED_URL)


CANNED_FORM = [Depends(require_csrf), Depends(return_to_canned)]


def draft_form(
    title: Annotated[str, Form()] = "",
    code: Annotated[str, Form()] = "",
    language: Annotated[str, Form()] = "",
    body: Annotated[str, Form()] = "",
) -> canned.Draft:
    """The reply as the add and change forms post it (checked by the service)."""
    return canned.Draft(title=title, code=code, language=language, body=body)


DraftForm = Annotated[canned.Draft, Depends(draft_form)]


@router.get("/canned-replies", response_class=HTMLResponse)
def canned_page(
    request: Request,
    agent: PageAgent,
    session: SessionDep,
    error: str | None = None,
    edit: int | None = None,
) -> HTMLResponse:
    """The agent's own replies and the shared ones: add, change, delete (shared ones: supervisors)."""
    replies = [canned.reply_to_dict(r) for r in canned.replies_for(session, agent.username)]
    editing = next((r for r in replies if r["id"] == edit), None)
    return render(
        request,
        agent,
        "console/canned_replies.html",
        replies=replies,
        editing=editing,
        variables=canned.VARIABLES,
        error=error,
    )


@router.post("/canned-replies", dependencies=CANNED_FORM)
def canned_create(
    request: Request, agent: PageAgent, draft: DraftForm, shared: Annotated[str, Form()] = ""
) -> RedirectResponse:
    with session_scope(request.app.state.session_factory) as session:
        canned.create_reply(session, as_view(agent), draft, shared=bool(shared))
    return RedirectResponse(CANNED_URL, status_code=status.HTTP_303_SEE_OTHER)


@router.post("/canned-replies/{reply_id}", dependencies=CANNED_FORM)
def canned_update(reply_id: int, request: Request, agent: PageAgent, draft: DraftForm) -> RedirectResponse:
    with session_scope(request.app.state.session_factory) as session:
        canned.update_reply(session, as_view(agent), reply_id, draft)
    return RedirectResponse(CANNED_URL, status_code=status.HTTP_303_SEE_OTHER)


@router.post("/canned-replies/{reply_id}/delete", dependencies=CANNED_FORM)
def canned_delete(reply_id: int, request: Request, agent: PageAgent) -> RedirectResponse:
    with session_scope(request.app.state.session_factory) as session:
        canned.delete_reply(session, as_view(agent), reply_id)
    return RedirectResponse(CANNED_URL, status_code=status.HTTP_303_SEE_OTHER)


@router.get("/conversations/{conversation_id}/canned-replies/{reply_id}")
def canned_filled(
    conversation_id: str, reply_id: int, request: Request, agent: PageAgent, session: SessionDep
) -> dict[str, Any]:
    """A canned reply filled from this conversation's record, for the reply box (the agent may edit it)."""
    tz = request.app.state.settings.tz
    return canned.fill_reply(session, as_view(agent), reply_id, conversation_id, tz=tz)
