"""The console's pages and JSON API over HTTP (no Rasa): queue, takeover, replies, tickets, reports.

Browser journeys against the real stack are in tests/browser/test_console.py; these check the routes'
contracts, the authorization matrix and the audit trail quickly, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.models import Conversation, utcnow
from backend.services.tickets import get_ticket, list_ticket_events
from tests.backend.console.clients import Console, client_for
from tests.backend.factories import escalated

PAGES = ["/console", "/console/conversations/web:x", "/console/reports", "/console/reports.csv"]
API_READS = ["/console/api/queue", "/console/api/conversations/web:x", "/console/api/attachments/1"]
API_CHANGES = [
    "/console/api/conversations/web:x/claim",
    "/console/api/conversations/web:x/messages",
    "/console/api/conversations/web:x/notes",
    "/console/api/conversations/web:x/release",
    "/console/api/conversations/web:x/hand-back",
    "/console/api/tickets/T-202601-00001",
    "/console/api/approvals/1/approve",
    "/console/api/approvals/1/reject",
]


# -- who may do what ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_pages_go_to_the_login(app: FastAPI, path: str) -> None:
    with client_for(app) as client:
        response = client.get(path)
    assert response.status_code in (302, 303, 307) and "/console/login" in response.headers["location"]


@pytest.mark.parametrize("path", API_READS)
def test_anonymous_api_reads_get_401(app: FastAPI, path: str) -> None:
    with client_for(app) as client:
        assert client.get(path).status_code == 401


@pytest.mark.parametrize("path", API_CHANGES)
def test_anonymous_api_changes_get_401(app: FastAPI, path: str) -> None:
    with client_for(app) as client:
        assert client.post(path, json={}).status_code == 401


@pytest.mark.parametrize("path", API_CHANGES)
def test_changes_without_the_csrf_header_get_403(people: dict[str, Console], path: str) -> None:
    assert people["alice"].client.post(path, json={}).status_code == 403
    wrong = people["alice"].client.post(path, json={}, headers={"X-CSRF-Token": "forged"})
    assert wrong.status_code == 403


@pytest.mark.parametrize("path", ["/console/reports", "/console/reports.csv"])
def test_agents_cannot_open_supervisor_pages(people: dict[str, Console], path: str) -> None:
    assert people["alice"].get(path).status_code == 403
    assert people["sue"].get(path).status_code == 200


def test_agents_cannot_approve_compensation(
    people: dict[str, Console], db_factory: sessionmaker[Session]
) -> None:
    for path in ("/console/api/approvals", "/console/approvals"):
        assert people["alice"].get(path).status_code == 403
    for decision in ("approve", "reject"):
        refused = people["alice"].post(f"/console/api/approvals/1/{decision}", {"amount_cny": "800"})
        assert (refused.status_code, refused.json()) == (403, {"detail": "Only supervisors may do this."})


# -- the queue and the takeover -------------------------------------------------------------------------


def test_the_queue_lists_waiting_conversations_most_urgent_first(
    people: dict[str, Console], db_factory: sessionmaker[Session]
) -> None:
    low, _ = escalated(db_factory, priority="P4")
    high, _ = escalated(db_factory, priority="P1")
    rows = people["alice"].get("/console/api/queue").json()["conversations"]
    ids = [r["id"] for r in rows]
    assert ids.index(high) < ids.index(low)
    row = next(r for r in rows if r["id"] == high)
    assert row["state"] == "queued" and row["owner"] is None and row["channel"] == "web"
    assert row["ticket"]["priority"] == "P1" and row["ticket"]["number"].startswith("T-")
    assert row["ticket"]["sla_due_at"]
    page = people["alice"].get("/console")
    assert (
        page.status_code == 200 and high in page.text and 'sse-connect="/console/events/queue"' in page.text
    )


def test_one_claim_wins_and_the_other_agent_is_told_who_has_it(
    people: dict[str, Console], db_factory: sessionmaker[Session]
) -> None:
    cid, number = escalated(db_factory)
    first = people["alice"].post(f"/console/api/conversations/{cid}/claim")
    assert first.status_code == 200 and first.json()["owner"] == people["alice"].username
    second = people["bob"].post(f"/console/api/conversations/{cid}/claim")
    assert second.status_code == 409 and second.json()["owner"] == people["alice"].username
    with session_scope(db_factory) as session:
        ticket = get_ticket(session, number)
        assert ticket is not None and ticket.status == "assigned"
        assert ("claimed", f"agent:{people['alice'].username}") in [
            (e.action, e.actor) for e in list_ticket_events(session, number)
        ]


def test_only_the_holder_replies_and_the_reply_is_the_first_response(
    people: dict[str, Console], db_factory: sessionmaker[Session]
) -> None:
    cid, number = escalated(db_factory)
    assert (
        people["alice"].post(f"/console/api/conversations/{cid}/messages", {"text": "Hi"}).status_code == 409
    )
    people["alice"].post(f"/console/api/conversations/{cid}/claim")
    assert (
        people["bob"].post(f"/console/api/conversations/{cid}/messages", {"text": "Me too"}).status_code
        == 409
    )
    sent = people["alice"].post(f"/console/api/conversations/{cid}/messages", {"text": "Hello, I'm Alice."})
    assert sent.status_code == 200 and sent.json()["sender"] == "agent"
    assert (
        people["alice"].post(f"/console/api/conversations/{cid}/messages", {"text": "  "}).status_code == 422
    )
    detail = people["bob"].get(f"/console/api/conversations/{cid}").json()
    assert [(m["direction"], m["sender"], m["text"]) for m in detail["messages"]] == [
        ("in", "shipper", "<b>help</b> me"),
        ("out", "agent", "Hello, I'm Alice."),
    ]
    with session_scope(db_factory) as session:
        ticket = get_ticket(session, number)
        assert ticket is not None and ticket.first_responded_at is not None


def test_a_note_is_on_the_ticket_and_never_in_the_transcript(
    people: dict[str, Console], db_factory: sessionmaker[Session]
) -> None:
    cid, number = escalated(db_factory)
    note = people["alice"].post(f"/console/api/conversations/{cid}/notes", {"text": "Called the Wuhan hub."})
    assert note.status_code == 200
    detail = people["alice"].get(f"/console/api/conversations/{cid}").json()
    assert "Called the Wuhan hub." not in [m["text"] for m in detail["messages"]]
    events = detail["tickets"][0]["events"]
    assert {"action": "note", "data": {"text": "Called the Wuhan hub."}}.items() <= events[-1].items()


def test_release_puts_it_back_in_the_queue_and_hand_back_gives_it_to_the_bot(
    people: dict[str, Console], db_factory: sessionmaker[Session]
) -> None:
    cid, number = escalated(db_factory)
    people["alice"].post(f"/console/api/conversations/{cid}/claim")
    released = people["alice"].post(f"/console/api/conversations/{cid}/release")
    assert released.json() == {"state": "queued", "owner": None}
    people["bob"].post(f"/console/api/conversations/{cid}/claim")
    back = people["bob"].post(f"/console/api/conversations/{cid}/hand-back")
    assert back.status_code == 200 and back.json()["state"] == "bot"
    with session_scope(db_factory) as session:
        conversation = session.get(Conversation, cid)
        assert conversation is not None and (conversation.state, conversation.owner) == ("bot", None)
        actions = [e.action for e in list_ticket_events(session, number)]
    assert actions[-4:] == ["claimed", "released", "claimed", "handed_back"]


def test_the_conversation_page_shows_shipper_text_as_text(
    people: dict[str, Console], db_factory: sessionmaker[Session]
) -> None:
    cid, number = escalated(db_factory)
    page = people["alice"].get(f"/console/conversations/{cid}", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert "&lt;b&gt;help&lt;/b&gt; me" in page.text and "<b>help</b>" not in page.text
    assert number in page.text and "Wuhan" in page.text  # the shipment's record beside the transcript
    assert '<meta name="csrf-token"' in page.text


# -- tickets: status, resolution, compensation, follow-up ------------------------------------------------


def test_resolving_a_ticket_asks_the_shipper_for_a_rating_once(
    people: dict[str, Console], db_factory: sessionmaker[Session]
) -> None:
    cid, number = escalated(db_factory)
    people["alice"].post(f"/console/api/conversations/{cid}/claim")
    done = people["alice"].post(
        f"/console/api/tickets/{number}", {"status": "resolved", "resolution": "Delivered with priority."}
    )
    assert done.status_code == 200 and done.json()["status"] == "resolved"
    people["alice"].post(f"/console/api/tickets/{number}", {"note": "checked again"})
    messages = people["alice"].get(f"/console/api/conversations/{cid}").json()["messages"]
    asks = [m for m in messages if "1 (not at all) to 5" in m["text"]]
    assert len(asks) == 1 and [b["title"] for b in asks[0]["buttons"]] == ["1", "2", "3", "4", "5"]


def test_a_closed_ticket_cannot_be_reopened(
    people: dict[str, Console], db_factory: sessionmaker[Session]
) -> None:
    cid, number = escalated(db_factory)
    people["alice"].post(f"/console/api/conversations/{cid}/claim")
    assert people["alice"].post(f"/console/api/tickets/{number}", {"status": "closed"}).status_code == 200
    refused = people["alice"].post(f"/console/api/tickets/{number}", {"status": "open"})
    assert refused.status_code == 409 and "closed" in refused.json()["detail"]


def test_compensation_above_500_waits_for_a_supervisor(
    people: dict[str, Console], db_factory: sessionmaker[Session]
) -> None:
    cid, number = escalated(db_factory, category="damage")
    people["alice"].post(f"/console/api/conversations/{cid}/claim")
    small = people["alice"].post(f"/console/api/tickets/{number}", {"compensation_cny": "400"})
    assert small.status_code == 200 and small.json()["compensation_cny"] == "400.00"
    big = people["alice"].post(f"/console/api/tickets/{number}", {"compensation_cny": "1200"})
    assert big.status_code == 202 and big.json()["approval"]["status"] == "pending"
    assert big.json()["compensation_cny"] == "400.00"
    request_id = big.json()["approval"]["id"]
    approved = people["sue"].post(f"/console/api/approvals/{request_id}/approve", {"amount_cny": "1200"})
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    with session_scope(db_factory) as session:
        ticket = get_ticket(session, number)
        assert ticket is not None and str(ticket.compensation_cny) == "1200.00"
        actors = [(e.action, e.actor) for e in list_ticket_events(session, number)]
    assert ("compensation_approved", f"supervisor:{people['sue'].username}") in actors


def test_bad_amounts_are_refused(people: dict[str, Console], db_factory: sessionmaker[Session]) -> None:
    cid, number = escalated(db_factory)
    people["alice"].post(f"/console/api/conversations/{cid}/claim")
    for amount in ("lots", "-5"):
        assert (
            people["alice"].post(f"/console/api/tickets/{number}", {"compensation_cny": amount}).status_code
            == 422
        )


# -- the monthly report ---------------------------------------------------------------------------------


def test_the_monthly_report_and_its_csv(
    people: dict[str, Console], db_factory: sessionmaker[Session]
) -> None:
    escalated(db_factory, category="billing")
    page = people["sue"].get("/console/reports")
    assert page.status_code == 200
    for key in ("category", "level", "cause", "responsibility", "status", "timing", "satisfaction", "repeat"):
        assert f'id="chart-{key}"' in page.text
    csv = people["sue"].get("/console/reports.csv", params={"table": "category"})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    # The byte-order mark makes Excel on a Chinese Windows read the file as UTF-8.
    assert csv.content.startswith(b"\xef\xbb\xbf")
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "Month,Table,Label,Value,Unit"
    assert any(",By category,Billing," in line for line in lines[1:])
    tickets = people["sue"].get("/console/reports/tickets.csv")
    assert tickets.status_code == 200 and tickets.content.startswith(b"\xef\xbb\xbf")
    assert tickets.content.decode("utf-8-sig").startswith("Ticket number,Kind,Opened,")
    assert people["alice"].get("/console/reports/tickets.csv").status_code == 403
    assert people["sue"].get("/console/reports", params={"month": "2026-13"}).status_code == 422
    assert people["sue"].get("/console/reports.csv", params={"table": "nope"}).status_code == 404


def test_the_queue_marks_breached_and_nearly_breached_tickets(
    people: dict[str, Console], db_factory: sessionmaker[Session]
) -> None:
    late, late_number = escalated(db_factory, priority="P2")
    soon, soon_number = escalated(db_factory, priority="P2")
    now = utcnow()
    with session_scope(db_factory) as session:
        for number, created, due in (
            (late_number, now - timedelta(hours=5), now - timedelta(hours=1)),
            (soon_number, now - timedelta(hours=4), now + timedelta(minutes=20)),
        ):
            ticket = get_ticket(session, number)
            assert ticket is not None
            ticket.created_at, ticket.sla_due_at = created, due
    rows = {r["id"]: r for r in people["alice"].get("/console/api/queue").json()["conversations"]}
    assert rows[late]["ticket"]["sla"] == "breached"
    assert rows[soon]["ticket"]["sla"] == "near"
    page = people["alice"].get("/console").text
    assert "SLA breached" in page and "SLA due soon" in page


# -- refusals: the same sentence on the JSON API and back on the form's page -----------------------------


def test_refusals_answer_with_the_status_and_sentence_on_the_api(
    people: dict[str, Console], db_factory: sessionmaker[Session]
) -> None:
    cid, number = escalated(db_factory)
    first = people["alice"].post(f"/console/api/conversations/{cid}/release")
    assert (first.status_code, first.json()) == (409, {"detail": "Claim the conversation first."})
    people["alice"].post(f"/console/api/conversations/{cid}/claim")
    taken = people["bob"].post(f"/console/api/conversations/{cid}/claim")
    assert taken.json() == {
        "detail": f"{people['alice'].username} is already handling this conversation.",
        "owner": people["alice"].username,
    }
    missing = people["alice"].post("/console/api/tickets/T-190001-00001", {"note": "x"})
    assert (missing.status_code, missing.json()) == (404, {"detail": "No ticket T-190001-00001."})
    bad = people["alice"].post(f"/console/api/tickets/{number}", {"compensation_cny": "lots"})
    assert bad.json() == {"detail": "The compensation must be an amount in CNY, like 120 or 120.50."}
    agent = people["alice"].post("/console/api/approvals/1/approve", {"amount_cny": "800"})
    assert agent.json() == {"detail": "Only supervisors may do this."}
    nothing = people["sue"].post(f"/console/api/approvals/{10**9}/approve", {"amount_cny": "800"})
    assert (nothing.status_code, nothing.json()) == (404, {"detail": f"No compensation request {10**9}."})


def test_forms_land_back_on_the_conversation_with_the_refusal(
    people: dict[str, Console], db_factory: sessionmaker[Session]
) -> None:
    cid, number = escalated(db_factory)
    page = f"/console/conversations/{quote(cid, safe='')}"
    alice, bob = people["alice"], people["bob"]

    def form(who: Console, path: str, **fields: str) -> Any:
        return who.client.post(path, data={"csrf_token": who.csrf, **fields})

    claimed = form(alice, f"/console/conversations/{cid}/claim")
    assert (claimed.status_code, claimed.headers["location"]) == (303, page)
    taken = form(bob, f"/console/conversations/{cid}/claim")
    assert taken.status_code == 303
    assert taken.headers["location"] == (
        f"{page}?error={quote(alice.username + ' is already handling this conversation.')}"
    )
    empty = form(alice, f"/console/conversations/{cid}/reply", text="  ")
    assert empty.headers["location"] == f"{page}?error={quote('The message is empty.')}"
    bad = form(alice, f"/console/tickets/{number}", conversation_id=cid, compensation_cny="-5")
    assert bad.headers["location"] == f"{page}?error={quote('The compensation must not be negative.')}"
    nothing = form(people["sue"], f"/console/approvals/{10**9}/approve", amount_cny="800", return_to=page)
    assert nothing.headers["location"] == f"{page}?error={quote(f'No compensation request {10**9}.')}"
    shown = alice.get(f"{page}?error={quote('The message is empty.')}")
    assert '<p class="error" role="alert">The message is empty.</p>' in shown.text
