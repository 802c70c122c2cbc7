"""Compensation amounts that are not money ("NaN", "inf", absurdly large): a clear refusal, never a 500."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.services.tickets import get_ticket
from tests.backend.console.clients import Console
from tests.backend.factories import escalated

NOT_MONEY = ["NaN", "nan", "sNaN", "inf", "-Infinity", "1e30"]
TOO_LARGE = ["10000000000", "99999999999999999999"]


@pytest.mark.parametrize("amount", NOT_MONEY + TOO_LARGE)
def test_the_api_refuses_amounts_that_are_not_money(
    people: dict[str, Console], db_factory: sessionmaker[Session], amount: str
) -> None:
    cid, number = escalated(db_factory, category="damage")
    alice = people["alice"]
    assert alice.post(f"/console/api/conversations/{cid}/claim").status_code == 200
    refused = alice.post(f"/console/api/tickets/{number}", {"compensation_cny": amount})
    assert refused.status_code == 422, refused.text
    expected = (
        "The compensation must be at most 9,999,999,999.99 CNY."
        if amount in TOO_LARGE
        else "The compensation must be an amount in CNY, like 120 or 120.50."
    )
    assert refused.json()["detail"] == expected
    decided = people["sue"].post("/console/api/approvals/1/approve", {"amount_cny": amount})
    assert decided.status_code == 422
    with session_scope(db_factory) as session:
        ticket = get_ticket(session, number)
        assert ticket is not None and ticket.compensation_cny is None


@pytest.mark.parametrize(
    ("language", "sentence"),
    [("en", "The compensation must be at most 9,999,999,999.99 CNY."), ("zh", "赔偿金额不能超过")],
)
def test_the_ticket_form_lands_back_with_the_sentence(
    people: dict[str, Console], db_factory: sessionmaker[Session], language: str, sentence: str
) -> None:
    cid, number = escalated(db_factory, category="damage")
    alice = people["alice"]
    assert alice.post(f"/console/api/conversations/{cid}/claim").status_code == 200
    for amount in ("NaN", "1e12"):
        form = {"csrf_token": alice.csrf, "conversation_id": cid, "compensation_cny": amount}
        answer = alice.client.post(
            f"/console/tickets/{number}",
            data=form,
            headers={"Accept-Language": language},
            follow_redirects=True,
        )
        assert answer.status_code < 500, answer.text
    assert sentence in answer.text
