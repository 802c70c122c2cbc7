"""Compensation approvals over HTTP: the agent's 202, the supervisors' list, 409 for stale or decided, 403.

The shipper's side is the transcript the hub stores for the conversation (a web conversation here, with
no live socket): what the shipper was told, and how many times.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from sqlalchemy.orm import Session, sessionmaker

from tests.backend.console.clients import Console
from tests.backend.factories import escalated

SURVEY = "1 (not at all) to 5"


def _told(who: Console, cid: str, words: str) -> list[str]:
    messages = who.get(f"/console/api/conversations/{cid}").json()["messages"]
    return [m["text"] for m in messages if m["direction"] == "out" and words in m["text"]]


def _waiting_800(
    people: dict[str, Console], factory: sessionmaker[Session]
) -> tuple[str, str, dict[str, Any]]:
    cid, number = escalated(factory, category="damage")
    alice = people["alice"]
    alice.post(f"/console/api/conversations/{cid}/claim")
    saved = alice.post(
        f"/console/api/tickets/{number}",
        {
            "status": "resolved",
            "resolution": "Compensation of 800 CNY",
            "compensation_cny": "800",
            "note": "Repair quote attached: 800 CNY.",
        },
    )
    assert saved.status_code == 202, saved.text
    return cid, number, saved.json()


def test_800_by_an_agent_waits_and_nothing_reaches_the_shipper(
    people: dict[str, Console], db_factory: sessionmaker[Session]
) -> None:
    cid, number, saved = _waiting_800(people, db_factory)
    assert saved["status"] == "assigned" and saved["held_status"] == "resolved"
    assert saved["compensation_cny"] is None and saved["agreed_resolution"] is None
    assert saved["approval"]["amount_cny"] == "800.00" and saved["approval"]["status"] == "pending"
    # Resolving again is held again; nothing was promised, no survey went out.
    # The page's form posts the held remedy back with it: still held, never on the ticket.
    again = people["alice"].post(
        f"/console/api/tickets/{number}",
        {"status": "resolved", "resolution": "Compensation of 800 CNY", "compensation_cny": "800.00"},
    )
    assert again.status_code == 202 and again.json()["status"] == "assigned"
    assert again.json()["agreed_resolution"] is None and again.json()["compensation_cny"] is None
    assert _told(people["alice"], cid, "800") == [] and _told(people["alice"], cid, SURVEY) == []
    # The agent's page says it waits and keeps the amount in the field.
    page = people["alice"].get(f"/console/conversations/{quote(cid, safe='')}").text
    assert "Waiting for approval:</strong> 800.00 CNY" in page
    assert 'name="compensation_cny" inputmode="decimal" value="800.00"' in page
    assert "/approve" not in page  # no decision buttons for an agent


def test_the_supervisors_list_shows_amount_agent_ticket_and_reason(
    people: dict[str, Console], db_factory: sessionmaker[Session]
) -> None:
    _, number, saved = _waiting_800(people, db_factory)
    listed = people["sue"].get("/console/api/approvals")
    assert listed.status_code == 200
    [row] = [r for r in listed.json()["waiting"] if r["id"] == saved["approval"]["id"]]
    assert (row["amount_cny"], row["agent"], row["ticket"], row["reason"]) == (
        "800.00",
        people["alice"].username,
        number,
        "Repair quote attached: 800 CNY.",
    )
    page = people["sue"].get("/console/approvals").text
    assert "Approve 800.00 CNY" in page and number in page and "Repair quote attached" in page
    assert people["alice"].get("/console/approvals").status_code == 403


def test_a_stale_amount_is_409_and_approval_tells_the_shipper_once_then_the_survey_follows(
    people: dict[str, Console], db_factory: sessionmaker[Session]
) -> None:
    cid, number, saved = _waiting_800(people, db_factory)
    request_id = saved["approval"]["id"]
    sue = people["sue"]
    # The agent corrects the amount after the supervisor read the list: 800 is stale now.
    people["alice"].post(f"/console/api/tickets/{number}", {"compensation_cny": "850"})
    stale = sue.post(f"/console/api/approvals/{request_id}/approve", {"amount_cny": "800"})
    assert stale.status_code == 409
    assert stale.json()["detail"] == (
        f"Request {request_id} is now for 850.00 CNY, not 800.00 CNY; "
        "please look at it again before deciding."
    )
    assert _told(sue, cid, "approved a compensation") == []
    approved = sue.post(f"/console/api/approvals/{request_id}/approve", {"amount_cny": "850.00"})
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    twice = sue.post(f"/console/api/approvals/{request_id}/approve", {"amount_cny": "850.00"})
    assert twice.status_code == 409 and "was approved already" in twice.json()["detail"]
    rejected_late = sue.post(f"/console/api/approvals/{request_id}/reject", {"amount_cny": "850.00"})
    assert rejected_late.status_code == 409
    assert _told(sue, cid, "approved a compensation of 850.00 CNY") == [
        f"Good news about your complaint {number}: we have approved a compensation of 850.00 CNY. "
        "A colleague will confirm the payment with you."
    ]
    assert _told(sue, cid, SURVEY) == []
    done = people["alice"].post(f"/console/api/tickets/{number}", {"status": "resolved"})
    assert done.status_code == 200 and done.json()["status"] == "resolved"
    assert done.json()["compensation_cny"] == "850.00"
    assert len(_told(sue, cid, SURVEY)) == 1
    history = sue.get(f"/console/api/conversations/{cid}").json()["tickets"][0]["events"]
    decided = [e for e in history if e["action"] == "compensation_approved"]
    assert [(e["actor"], e["data"]["request"]) for e in decided] == [
        (f"supervisor:{sue.username}", request_id)
    ]
    assert decided[0]["at"]
    # The list no longer offers it; the decision shows instead.
    listed = sue.get("/console/api/approvals").json()
    assert request_id not in [r["id"] for r in listed["waiting"]]
    assert request_id in [r["id"] for r in listed["decided"]]


def test_a_rejection_is_told_politely_and_the_ticket_can_then_be_resolved(
    people: dict[str, Console], db_factory: sessionmaker[Session]
) -> None:
    cid, number, saved = _waiting_800(people, db_factory)
    rejected = people["sue"].post(
        f"/console/api/approvals/{saved['approval']['id']}/reject", {"amount_cny": "800"}
    )
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    [told] = _told(people["sue"], cid, "could not approve")
    assert told.startswith(f"About your complaint {number}: we could not approve")
    assert people["alice"].post(f"/console/api/tickets/{number}", {"status": "resolved"}).status_code == 200


def test_the_decision_form_without_javascript_lands_back_with_the_refusal(
    people: dict[str, Console], db_factory: sessionmaker[Session]
) -> None:
    _, _, saved = _waiting_800(people, db_factory)
    sue = people["sue"]
    request_id = saved["approval"]["id"]

    def form(amount: str, return_to: str = "/console/approvals") -> Any:
        fields = {"csrf_token": sue.csrf, "amount_cny": amount, "return_to": return_to}
        return sue.client.post(f"/console/approvals/{request_id}/approve", data=fields)

    stale = form("799")
    assert stale.status_code == 303
    assert stale.headers["location"] == "/console/approvals?error=" + quote(
        f"Request {request_id} is now for 800.00 CNY, not 799.00 CNY; "
        "please look at it again before deciding."
    )
    elsewhere = form("800", return_to="https://evil.example/")
    assert (elsewhere.status_code, elsewhere.headers["location"]) == (303, "/console/approvals")
    page = sue.get("/console/approvals").text
    assert f'action="/console/approvals/{request_id}/approve"' not in page
    assert "approved by" in page
