"""The customer page's class: supervisors see what it rests on and pin it (audited), agents only read it."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.models import AuditEvent, Customer, utcnow
from backend.services import customer_classes as classes
from tests.backend.console.clients import Console
from tests.backend.console.test_console_words import HEADERS, assert_in_language, names_of, visible
from tests.backend.factories import forget_customer


@pytest.fixture
def a_customer(app: FastAPI, people: dict[str, Console], db_factory: sessionmaker[Session]) -> Iterator[str]:
    """A customer the data put in class B (82% cumulative share), not pinned; taken out afterwards.

    It comes after `people`: their clients have started the app, so its start-up job is there to wait for.
    """
    factory = db_factory
    job = app.state.customer_classes
    deadline = time.monotonic() + 20
    while job.last is None and time.monotonic() < deadline:  # the start-up run must not race the test
        time.sleep(0.05)
    cid = f"K{random.randrange(10**7, 10**8)}"
    with session_scope(factory) as session:
        session.add(
            Customer(
                id=cid,
                name=f"Guilin Tea {cid}",
                customer_class="B",
                computed_class="B",
                class_revenue=Decimal("12345.60"),
                class_share=0.8234,
                class_computed_at=utcnow() - timedelta(days=2),
                class_computed_by=classes.JOB_ACTOR,
            )
        )
    yield cid
    with session_scope(factory) as session:
        forget_customer(session, cid)


def pin(person: Console, cid: str, value: str, **headers: str) -> object:
    return person.client.post(
        f"/console/customers/{cid}/class",
        data={"csrf_token": person.csrf, "customer_class": value},
        headers=headers,
    )


def test_a_supervisor_pins_and_unpins_and_the_history_says_so(
    a_customer: str, people: dict[str, Console], db_factory: sessionmaker[Session]
) -> None:
    cid = a_customer
    sue = people["sue"]
    page = sue.get(f"/console/customers/{cid}", headers=HEADERS["en"]).text
    text = visible(page, "en")
    assert "Computed from revenue" in text and "Class B customer" in text
    assert "cumulative share 82%" in text and "12,345.60" in text
    assert "not pinned: the class follows the revenue" in text and "No class changes yet." in text
    assert f'action="/console/customers/{cid}/class"' in page and "Remove the pin" not in text

    answer = pin(sue, cid, "A")
    assert (answer.status_code, answer.headers["location"]) == (303, f"/console/customers/{cid}")  # type: ignore[attr-defined]
    page = sue.get(f"/console/customers/{cid}", headers=HEADERS["en"]).text
    text = visible(page, "en")
    assert f"Class A customer, pinned by {sue.username}" in text
    assert f"class B → A, pinned by {sue.username}" in text and "Remove the pin" in text
    with session_scope(db_factory) as session:
        customer = session.get(Customer, cid)
        assert customer is not None
        assert (customer.customer_class, customer.pinned_class, customer.computed_class) == ("A", "A", "B")
        event = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.actor == f"supervisor:{sue.username}")
            .order_by(AuditEvent.id.desc())
        ).first()
        assert event is not None and event.action == classes.CLASS_CHANGED
        assert (event.data or {})["why"] == f"pinned by {sue.username}"

    # The same page in Chinese: every word translated, the history too.
    zh = sue.get(f"/console/customers/{cid}", headers=HEADERS["zh"]).text
    assert_in_language(zh, "zh", names_of(db_factory), "customer class (supervisor)")
    zh_text = visible(zh, "zh")
    assert (
        "按营收计算" in zh_text and "人工锁定" in zh_text and f"等级 B → A，由 {sue.username} 锁定" in zh_text
    )

    assert pin(sue, cid, "none").status_code == 303  # type: ignore[attr-defined]
    text = visible(sue.get(f"/console/customers/{cid}", headers=HEADERS["en"]).text, "en")
    assert f"pin removed by {sue.username}; class A → B, from the revenue" in text
    assert text.index("pin removed by") < text.index("pinned by")  # newest first
    assert classes_of(db_factory, cid) == "B"
    zh = sue.get(f"/console/customers/{cid}", headers=HEADERS["zh"]).text
    assert_in_language(zh, "zh", names_of(db_factory), "customer class after unpinning")


def classes_of(factory: sessionmaker[Session], cid: str) -> str:
    with session_scope(factory) as session:
        customer = session.get(Customer, cid)
        assert customer is not None
        return customer.customer_class


def test_agents_read_the_class_but_cannot_pin_it(
    a_customer: str, people: dict[str, Console], db_factory: sessionmaker[Session]
) -> None:
    cid = a_customer
    alice, sue = people["alice"], people["sue"]
    for language, class_word in (("en", "Class B customer"), ("zh", "B 类客户")):
        page = alice.get(f"/console/customers/{cid}", headers=HEADERS[language]).text
        text = visible(page, language)
        assert class_word in text
        assert "/class" not in page and "12,345.60" not in text  # no form, no revenue figures
        assert_in_language(page, language, names_of(db_factory), "customer page (agent)")
    refused = pin(alice, cid, "A", **HEADERS["en"])
    assert refused.status_code == 403  # type: ignore[attr-defined]
    assert "Only supervisors may do this." in refused.text  # type: ignore[attr-defined]
    refused_zh = pin(alice, cid, "A", **HEADERS["zh"])
    assert refused_zh.status_code == 403 and "只有主管" in refused_zh.text  # type: ignore[attr-defined]
    # Without the CSRF token even a supervisor is refused.
    forged = sue.client.post(f"/console/customers/{cid}/class", data={"customer_class": "A"})
    assert forged.status_code == 403
    # A class that does not exist lands back on the page with the sentence.
    bad = pin(sue, cid, "D")
    assert bad.status_code == 303  # type: ignore[attr-defined]
    assert bad.headers["location"] == f"/console/customers/{cid}?error=" + quote(  # type: ignore[attr-defined]
        "Choose class A, B or C, or remove the pin."
    )
    assert classes_of(db_factory, cid) == "B"
    unknown = pin(sue, "NO-SUCH", "A")
    assert unknown.status_code == 303  # type: ignore[attr-defined]
    assert "No%20customer%20NO-SUCH" in unknown.headers["location"]  # type: ignore[attr-defined]
    assert sue.get(unknown.headers["location"]).status_code == 404  # type: ignore[attr-defined]


def test_the_customer_classes_page_lists_customers_by_revenue_for_supervisors(
    a_customer: str, people: dict[str, Console], db_factory: sessionmaker[Session]
) -> None:
    cid = a_customer
    sue, alice = people["sue"], people["alice"]
    page = sue.get("/console/customer-classes", headers=HEADERS["en"])
    assert page.status_code == 200
    assert 'href="/console/customer-classes"' in page.text  # in the supervisor's nav
    text = visible(page.text, "en")
    assert "Customer classes" in text and f"Guilin Tea {cid}" in text and "82%" in text
    with session_scope(db_factory) as session:
        top = session.scalars(
            select(Customer.id).order_by(Customer.class_revenue.desc().nulls_last())
        ).first()
    # Highest revenue first: the first row is the top customer.
    assert page.text.index(f'data-customer="{top}"') < page.text.index('data-customer="C003"')
    assert_in_language(page.text, "en", names_of(db_factory), "customer classes")
    zh = sue.get("/console/customer-classes", headers=HEADERS["zh"])
    assert_in_language(zh.text, "zh", names_of(db_factory), "customer classes")
    assert "累计占比" in visible(zh.text, "zh")
    refused = alice.get("/console/customer-classes", headers=HEADERS["en"])
    assert refused.status_code == 403
    assert 'href="/console/customer-classes"' not in alice.get("/console", headers=HEADERS["en"]).text
