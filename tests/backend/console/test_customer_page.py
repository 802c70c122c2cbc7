"""The customer page: class, masked phone, every conversation and ticket newest first, with links; the
queue and the search link it."""

from __future__ import annotations

import random
import re
import uuid
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.models import Conversation, Customer, utcnow
from backend.services.conversations import mark_for_agent, record_message
from tests.backend.console.clients import Console
from tests.backend.console.test_console_words import HEADERS, assert_in_language, names_of, visible
from tests.backend.factories import a_ticket, forget_customer


def test_the_customer_page_lists_every_conversation_and_ticket_newest_first(
    people: dict[str, Console], db_factory: sessionmaker[Session]
) -> None:
    serial = random.randrange(10**7, 10**8)
    customer_id, phone = f"C8{serial}", f"+86138{serial}"
    on_account, by_ticket = f"web:{uuid.uuid4()}", f"telegram:{serial}"
    earlier = utcnow() - timedelta(days=3)
    with session_scope(db_factory) as session:
        session.add(Customer(id=customer_id, name=f"Harbour Fruit {serial}", customer_class="A", phone=phone))
        session.flush()
        for cid in (on_account, by_ticket):
            record_message(session, conversation_id=cid, direction="in", sender="shipper", text="你好")
        session.get(Conversation, on_account).customer_id = customer_id  # type: ignore[union-attr]
        session.get(Conversation, on_account).updated_at = earlier  # type: ignore[union-attr]
        old = a_ticket(
            session,
            conversation_id=on_account,
            customer_id=customer_id,
            status="resolved",
            category="damage",
            now=earlier,
        )
        new = a_ticket(
            session,
            conversation_id=by_ticket,
            customer_id=customer_id,
            status="escalated",
            category="delay",
            priority="P1",
            level="serious",
        )
        mark_for_agent(session, conversation_id=by_ticket, reason="customer asked for a person")
        old_number, new_number = old.number, new.number
    alice = people["alice"]

    page = alice.get(f"/console/customers/{customer_id}", headers=HEADERS["zh"])
    assert page.status_code == 200
    assert_in_language(page.text, "zh", names_of(db_factory), "customer page")
    text = visible(page.text, "zh")
    assert "A 类客户" in text and phone not in page.text and phone[-4:] in text  # masked: last four only
    assert re.search(r"\*{5,}" + phone[-4:], text)
    # Newest first, both with links to their conversation.
    assert text.index(new_number) < text.index(old_number)
    assert f'href="/console/conversations/{by_ticket.replace(":", "%3A")}"' in page.text
    assert f'href="/console/conversations/{on_account.replace(":", "%3A")}"' in page.text
    assert "已解决" in text and "严重投诉" in text and "会话（2）" in text and "工单（2）" in text
    english = alice.get(f"/console/customers/{customer_id}", headers=HEADERS["en"])
    assert_in_language(english.text, "en", names_of(db_factory), "customer page")
    assert "Class A customer" in english.text

    # The queue row (and a search hit) link the customer's page.
    link = f'href="/console/customers/{customer_id}"'
    assert link in alice.get("/console").text
    assert link in alice.get("/console", params={"q": phone[3:]}).text

    data = alice.get(f"/console/api/customers/{customer_id}").json()
    assert [t["number"] for t in data["tickets"]] == [new_number, old_number]
    assert [c["id"] for c in data["conversations"]] == [by_ticket, on_account]
    assert data["phone"].endswith(phone[-4:]) and phone[3:7] not in data["phone"]

    missing = alice.get("/console/customers/C0000000", headers=HEADERS["zh"])
    assert missing.status_code == 404 and "没有客户" in missing.text
    with session_scope(db_factory) as session:
        forget_customer(session, customer_id)
