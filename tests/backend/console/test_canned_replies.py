"""Canned replies (快捷回复): shared ones by supervisors, personal ones per agent, filled per conversation."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.models import Conversation
from backend.services.tickets import get_ticket
from tests.backend.console.clients import Console
from tests.backend.factories import escalated

DELAY_ZH = "您好，运单 {waybill} 的投诉 {ticket} 由{agent}跟进，{customer}，我们会在{due}前给您答复。"


def form(who: Console, path: str, **fields: str) -> Any:
    return who.client.post(path, data={"csrf_token": who.csrf, **fields})


def add(who: Console, **fields: str) -> Any:
    return form(who, "/console/canned-replies", **fields)


def ids_on_page(who: Console) -> str:
    return str(who.get("/console/canned-replies").text)


def test_a_shared_reply_is_filled_from_the_conversation_and_sent_as_filled(
    people: dict[str, Console], db_factory: sessionmaker[Session]
) -> None:
    alice, bob, sue = people["alice"], people["bob"], people["sue"]
    code = f"delay{id(alice) % 10000}"
    made = add(sue, title="延误致歉", code=f"/{code}", language="zh", body=DELAY_ZH, shared="1")
    assert (made.status_code, made.headers["location"]) == (303, "/console/canned-replies")
    assert add(alice, title="Mine", code=code, language="en", body="Hi {customer}").status_code == 303
    cid, number = escalated(db_factory)
    with session_scope(db_factory) as session:
        session.get(Conversation, cid).language = "zh"  # type: ignore[union-attr]
        ticket = get_ticket(session, number)
        assert ticket is not None and ticket.sla_due_at is not None
    alice.post(f"/console/api/conversations/{cid}/claim")

    # The picker offers the conversation's language only: the shared Chinese reply, not Alice's English one.
    page = alice.get(f"/console/conversations/{quote(cid, safe='')}").text
    assert f'data-code="{code}">/{code} · 延误致歉</option>' in page
    assert "Mine</option>" not in page
    reply_id = page.split(f'data-code="{code}"')[0].rsplit('<option value="', 1)[1].split('"')[0]

    filled = alice.get(f"/console/conversations/{cid}/canned-replies/{reply_id}").json()["text"]
    assert f"运单 EA100000034CN 的投诉 {number} 由Agent {alice.username}跟进" in filled
    assert "{" not in filled and "月" in filled  # the due time in Chinese words, the customer's name in
    sent = alice.post(f"/console/api/conversations/{cid}/messages", {"text": filled})
    assert sent.status_code == 200
    last = alice.get(f"/console/api/conversations/{cid}").json()["messages"][-1]
    assert (last["sender"], last["text"]) == ("agent", filled)  # what the shipper's channel gets

    # Personal replies are their owner's; shared ones are the supervisors' to change.
    assert "Mine" not in ids_on_page(bob)
    refused = form(alice, f"/console/canned-replies/{reply_id}/delete")
    assert refused.headers["location"].startswith("/console/canned-replies?error=")
    assert f'data-reply="{reply_id}"' in ids_on_page(alice)
    shared = add(alice, title="x", code="x1", language="en", body="x", shared="1")
    assert "error=" in shared.headers["location"]
    assert form(sue, f"/console/canned-replies/{reply_id}/delete").status_code == 303
    assert f'data-reply="{reply_id}"' not in ids_on_page(alice)


def test_a_reply_names_only_known_variables_and_one_code_per_language(people: dict[str, Console]) -> None:
    alice = people["alice"]
    unknown = add(alice, title="t", code="bad1", language="en", body="Your {parcel} is late")
    assert "Unknown%20variable%20%7Bparcel%7D" in unknown.headers["location"]
    assert add(alice, title="t", code="twice", language="en", body="Hello {customer}").status_code == 303
    again = add(alice, title="t", code="twice", language="en", body="Hello")
    assert "already%20a%20reply" in again.headers["location"]
    assert "error=" not in add(alice, title="t", code="twice", language="zh", body="您好").headers["location"]
