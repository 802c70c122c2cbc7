"""The supervisors' Webhooks page: the secret once, the delivery log with its answers, agents refused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.models import AuditEvent, WebhookEndpoint, utcnow
from backend.services import webhooks
from tests.backend.console.clients import Console, build_app, client_for, log_in
from tests.backend.console.test_console_words import assert_in_language, names_of
from tests.backend.factories import a_ticket, new_account
from tests.backend.services.test_webhook_delivery import Receiver, quiet_other_endpoints, receiver, rounds

SECRET = re.compile(r"whsec_[\w-]+")


@pytest.fixture
def app(db_url: str, seeded_today: object) -> FastAPI:
    """The console without its own sender: the tests send with a clock they move."""
    return build_app(db_url, webhook_poll_interval_s=0)


__all__ = ["receiver"]  # the receiver on 127.0.0.1, a fixture shared with the sender's tests


@pytest.fixture
def clean(db_factory: sessionmaker[Session]) -> Iterator[None]:
    """Other tests' endpoints out of the way before, this test's removed after."""
    with session_scope(db_factory) as session:
        quiet_other_endpoints(session)
        before = {e.id for e in webhooks.list_endpoints(session)}
    yield
    with session_scope(db_factory) as session:
        for endpoint in webhooks.list_endpoints(session):
            if endpoint.id not in before:
                webhooks.delete_endpoint(session, endpoint.id)


def form(who: Console, path: str, **fields: Any) -> Any:
    return who.client.post(path, data={"csrf_token": who.csrf, **fields})


def test_a_supervisor_adds_an_endpoint_sees_the_secret_once_and_reads_the_log(
    people: dict[str, Console], db_factory: sessionmaker[Session], receiver: Receiver, clean: None
) -> None:
    sue = people["sue"]
    assert '<a href="/console/webhooks">Webhooks</a>' in sue.get("/console").text
    made = form(sue, "/console/webhooks", url=receiver.url, description="CRM", events=["ticket.created"])
    assert made.status_code == 200
    [secret] = SECRET.findall(made.text)
    assert "it is not shown again" in made.text
    with session_scope(db_factory) as session:
        endpoint = session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.url == receiver.url)).one()
        endpoint_id = endpoint.id
        assert (endpoint.secret, endpoint.events) == (secret, "ticket.created")
        audited = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "webhook_endpoint_created").order_by(AuditEvent.id)
        ).all()[-1]
        assert audited.actor == f"supervisor:{sue.username}" and audited.data
        assert audited.data["url"] == receiver.url and secret not in str(audited.data)
    page = sue.get("/console/webhooks").text
    assert receiver.url in page and secret not in page and "whsec_" not in page

    # A receiver that answers 500 and then 200: the log shows each answer.
    receiver.script = [500]
    with session_scope(db_factory) as session:
        number = a_ticket(session).number
    t0 = utcnow()
    rounds(db_factory, 1, now=t0)
    row = sue.get("/console/webhooks?status=pending").text.split(f"<span data-own-words>{number}</span>")[1]
    assert '<td data-label="Last answer" class="status-code">500</td>' in row.split("</tr>")[0]
    assert "HTTP 500" in row.split("</tr>")[0]
    rounds(db_factory, 1, now=t0 + timedelta(seconds=15))
    log = sue.get(f"/console/webhooks?status=delivered&endpoint={endpoint_id}").text
    row = log.split(f"<span data-own-words>{number}</span>")[1].split("</tr>")[0]
    assert '<td data-label="Attempts">2</td>' in row
    assert '<td data-label="Last answer" class="status-code">200</td>' in row
    assert number not in sue.get("/console/webhooks?status=failed").text
    assert len(receiver.requests) == 2

    # A test event, then deactivate and delete: each audited.
    assert form(sue, f"/console/webhooks/{endpoint_id}/ping").status_code == 303
    rounds(db_factory, 1)
    assert receiver.requests[-1][0]["X-Carrier-Event-Type"] == "ping"
    assert form(sue, f"/console/webhooks/{endpoint_id}/deactivate").status_code == 303
    assert ">inactive<" in sue.get("/console/webhooks").text
    assert form(sue, f"/console/webhooks/{endpoint_id}/delete").status_code == 303
    assert receiver.url not in sue.get("/console/webhooks").text
    with session_scope(db_factory) as session:
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.actor == f"supervisor:{sue.username}")
        ).all()
    assert [a for a in actions if a.startswith("webhook_")] == [
        "webhook_endpoint_created",
        "webhook_endpoint_pinged",
        "webhook_endpoint_deactivated",
        "webhook_endpoint_deleted",
    ]


def test_a_bad_url_is_refused_with_its_sentence(people: dict[str, Console], clean: None) -> None:
    sue = people["sue"]
    refused = form(sue, "/console/webhooks", url="ftp://crm.example/x", events=["ticket.created"])
    assert refused.status_code == 303
    page = sue.get(refused.headers["location"]).text
    assert "The URL must start with http:// or https:// and name a host." in page
    assert "ftp://crm.example/x" not in page


def test_agents_get_403_and_no_link(people: dict[str, Console]) -> None:
    alice = people["alice"]
    assert "/console/webhooks" not in alice.get("/console").text
    assert alice.get("/console/webhooks").status_code == 403
    assert (
        form(alice, "/console/webhooks", url="https://x.example/h", events=["ticket.created"]).status_code
        == 403
    )


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_page_is_in_the_readers_language(
    app: FastAPI, db_factory: sessionmaker[Session], receiver: Receiver, clean: None, language: str
) -> None:
    headers = {"zh": {}, "en": {"Accept-Language": "en"}}[language]  # no header: the console's Chinese
    with client_for(app, headers=headers) as client:
        who = Console(client, log_in(client, new_account(db_factory, "supervisor")), "")
        made = form(who, "/console/webhooks", url=receiver.url, description="CRM", events=["ticket.created"])
        assert made.status_code == 200 and SECRET.search(made.text)
        shown_once = {"zh": "它不会再显示", "en": "it is not shown again"}[language]
        assert shown_once in made.text
        receiver.script = [500]
        with session_scope(db_factory) as session:
            a_ticket(session)
        rounds(db_factory, 1)
        page = who.get("/console/webhooks").text
        assert not SECRET.search(page)
        heading = {"zh": "<h1>回调推送</h1>", "en": "<h1>Webhooks</h1>"}[language]
        assert heading in page and 'class="status-code">500</td>' in page
        for html, where in ((made.text, "after adding"), (page, "the log")):
            assert_in_language(html, language, names_of(db_factory), where)
