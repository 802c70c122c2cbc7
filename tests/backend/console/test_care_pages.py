"""Care campaigns in the console: a supervisor defines one (bad forms answered on the page), the owner's
call list with the seed's script in the reader's language, a call's result moving coverage, the
customer's follow-up record; agents kept to their own list; quiet hours on the call list."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote

import pytest
from fastapi import FastAPI
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.models import AuditEvent, CareCampaign, CareTarget, Customer, FollowUpRecord, VolumeFlag
from backend.services import care
from tests.backend.console.clients import Console, build_app, client_for, log_in
from tests.backend.console.test_console_words import HEADERS, assert_in_language, names_of, visible
from tests.backend.factories import CARRIER_TZ, forget_customer, new_account
from tests.backend.services.test_care import drop_flag

SCRIPT_ZH = "感谢您使用我们的物流运输服务，请问您对我们的服务满意吗？"
NOTES = {
    "en": {
        "missed": "voicemail",
        "comment": "Deliveries to Liuzhou were late twice",
        "suggestions": "Call before delivering",
        "reason": "Lost a contract",
        "plans": "New buyers in spring",
        "next": "Ask the Liuzhou station",
    },
    "zh": {
        "missed": "无人接听",
        "comment": "送往柳州的货两次晚到",
        "suggestions": "送货前先打电话",
        "reason": "丢了一份合同",
        "plans": "春天有新买家",
        "next": "询问柳州站",
    },
}
SCRIPT_EN = "Thank you for using our freight transport service. Are you satisfied with our service?"


@pytest.fixture
def book(people: dict[str, Console], db_factory: sessionmaker[Session]) -> Iterator[dict[str, str]]:
    """Alice owns two A-class customers (one whose volume dropped) and a C-class one; removed afterwards."""
    tag = random.randrange(10**6, 10**7)
    ids = {"a1": f"K{tag}1", "a2": f"K{tag}2", "c1": f"K{tag}3"}
    with session_scope(db_factory) as session:
        for key, cid in ids.items():
            cls = "C" if key == "c1" else "A"
            session.add(
                Customer(id=cid, name=f"Guilin Tea {cid}", customer_class=cls, owner=people["alice"].username)
            )
        session.flush()
        drop_flag(session, ids["a2"], week="2020-W10", count=3)
    yield ids
    with session_scope(db_factory) as session:
        mine = list(ids.values())
        campaigns = session.scalars(
            select(CareTarget.campaign_id).where(CareTarget.customer_id.in_(mine))
        ).all()
        session.execute(delete(FollowUpRecord).where(FollowUpRecord.customer_id.in_(mine)))
        session.execute(delete(CareCampaign).where(CareCampaign.id.in_(set(campaigns))))
        session.execute(delete(CareCampaign).where(CareCampaign.owner == people["alice"].username))
        session.execute(delete(VolumeFlag).where(VolumeFlag.customer_id.in_(mine)))
        for cid in mine:
            forget_customer(session, cid)


def form(who: Console, url: str, headers: dict[str, str] | None = None, **fields: Any) -> Any:
    return who.client.post(url, data={"csrf_token": who.csrf, **fields}, headers=headers)


def define(sue: Console, owner: str, **fields: Any) -> Any:
    values: dict[str, Any] = {
        "name": "December care calls",
        "channel": "phone",
        "period": "month",
        "classes": ["A"],
        "owner": owner,
        "starts_on": datetime.now(CARRIER_TZ).date().isoformat(),
    }
    values.update(fields)
    return form(sue, "/console/care", **values)


def error_of(response: Any) -> str:
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert "?error=" in location, location
    return unquote(location.split("?error=", 1)[1])


def campaign_id_of(response: Any) -> int:
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/console/care/(\d+)", response.headers["location"])
    assert match, response.headers["location"]
    return int(match[1])


def test_only_supervisors_see_and_define_campaigns(people: dict[str, Console], book: dict[str, str]) -> None:
    alice = people["alice"]
    assert alice.get("/console/care").status_code == 403
    assert define(alice, alice.username).status_code == 403
    # Without the CSRF token, not even a supervisor.
    refused = people["sue"].client.post("/console/care", data={"name": "x", "channel": "phone"})
    assert refused.status_code == 403
    assert people["sue"].get("/console/care").status_code == 200


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"ends_on": "2000-01-01"}, "The campaign cannot end before it starts."),
        ({"classes": ["A", "D"]}, "There is no customer class D: choose A, B or C."),
        ({"period": "fortnight"}, "Choose a period: week, month or quarter."),
        ({"channel": "pigeon"}, "Choose how customers are followed up: by message or by phone."),
        ({"not_contacted_days": "ten"}, "Not contacted for how many days: a whole number from 1 to 3650."),
        ({"starts_on": "1 Dec"}, "A day must look like 2026-12-01."),
        ({"name": ""}, "Give the campaign a name."),
    ],
)
def test_a_bad_definition_is_answered_on_the_page(
    people: dict[str, Console], book: dict[str, str], fields: dict[str, Any], reason: str
) -> None:
    sue = people["sue"]
    response = define(sue, people["alice"].username, **fields)
    assert error_of(response) == reason
    page = sue.get(response.headers["location"])
    assert page.status_code == 200 and reason in visible(page.text, "en")


def test_a_supervisor_cannot_be_a_campaigns_owner_and_the_reason_is_in_chinese(
    app: FastAPI, people: dict[str, Console], book: dict[str, str], db_factory: sessionmaker[Session]
) -> None:
    sue = people["sue"]
    name, password = new_account(db_factory, "supervisor", language="zh")
    with client_for(app) as client:
        boss = Console(client, log_in(client, (name, password)), name)
        reason = error_of(define(boss, sue.username))
    assert reason == f"{sue.username} 不是在职的客服专员：只有客服专员负责客户。"


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_owner_calls_and_coverage_moves(
    people: dict[str, Console], book: dict[str, str], db_factory: sessionmaker[Session], language: str
) -> None:
    alice, bob, sue = people["alice"], people["bob"], people["sue"]
    headers = HEADERS[language]
    # The campaign's name is the supervisor's words, in the supervisor's language.
    name = "十二月回访" if language == "zh" else "December care calls"
    campaign_id = campaign_id_of(define(sue, alice.username, name=name))
    campaign_page = f"/console/care/{campaign_id}"
    page = sue.get(campaign_page, headers=headers).text
    assert_in_language(page, language, names_of(db_factory), "campaign page")
    missing = re.search(r'<ul id="missing">(.*?)</ul>', page, re.S)
    assert missing and set(re.findall(r'data-customer="([^"]+)"', missing[1])) == {book["a1"], book["a2"]}
    assert 'data-covered="0" data-required="2"' in page
    # The C-class customer is not in an A-class campaign.
    assert book["c1"] not in page

    calls = alice.get("/console/care/calls", headers=headers).text
    assert_in_language(calls, language, names_of(db_factory), "call list")
    text = visible(calls, language)
    assert (SCRIPT_ZH if language == "zh" else SCRIPT_EN) in text
    volume_question = (
        "您在2020-W10发货 3 票，此前平均每周 10.0 票（−70%）。请问最近发货量下降的原因是什么？"
        if language == "zh"
        else "Your shipments in 2020-W10: 3, against a mean of 10.0 a week before (−70%). May I ask why"
    )
    assert volume_question in text
    with session_scope(db_factory) as session:
        ids = {
            t.customer_id: t.id
            for t in session.scalars(select(CareTarget).where(CareTarget.campaign_id == campaign_id))
        }
    assert set(ids) == {book["a1"], book["a2"]}
    for cid, target in ids.items():
        assert f'data-target="{target}" data-customer="{cid}"' in calls
    # Bob's list does not hold Alice's customers, and he may not record for them.
    assert book["a1"] not in bob.get("/console/care/calls").text
    assert error_of(form(bob, f"/console/care/calls/{ids[book['a1']]}", reached="yes", satisfaction="4")) == (
        "This customer is on another agent's call list."
    )
    # A result without saying whether the customer was reached, or with a bad score, is refused.
    url = f"/console/care/calls/{ids[book['a2']]}"
    assert error_of(form(alice, url, satisfaction="4")) == "Say whether the customer was reached."
    assert error_of(form(alice, url, reached="yes", satisfaction="9")) == (
        "Satisfaction is 1 (very unhappy) to 5 (very satisfied)."
    )
    # Not reached first, then reached: the customer leaves the list and the missing list shrinks.
    # What the agent writes is in the agent's language.
    notes = NOTES[language]
    missed = form(alice, url, reached="no", comment=notes["missed"])
    assert missed.headers["location"].startswith("/console/care/calls?saved=")
    assert 'data-count="unreachable">1<' in sue.get(campaign_page).text
    saved = form(
        alice,
        url,
        headers=headers,
        reached="yes",
        satisfaction="3",
        comment=notes["comment"],
        suggestions=notes["suggestions"],
        volume_reason=notes["reason"],
        plans=notes["plans"],
        next_step=notes["next"],
    )
    assert saved.status_code == 303
    after = sue.get(campaign_page).text
    assert 'data-covered="1" data-required="2"' in after
    missing = re.search(r'<ul id="missing">(.*?)</ul>', after, re.S)
    assert missing and re.findall(r'data-customer="([^"]+)"', missing[1]) == [book["a1"]]
    assert f'data-target="{ids[book["a1"]]}"' in alice.get("/console/care/calls").text
    assert f'data-target="{ids[book["a2"]]}"' not in alice.get("/console/care/calls").text
    # The customer's follow-up record, newest first.
    customer = alice.get(f"/console/customers/{book['a2']}", headers=headers).text
    rows = re.findall(r'<tr data-follow-up="\d+">(.*?)</tr>', customer, re.S)
    assert len(rows) == 2 and notes["reason"] in rows[0] and notes["missed"] in rows[1]
    assert_in_language(customer, language, names_of(db_factory), "customer page")
    # The supervisor records the last one: 100%.
    form(sue, f"/console/care/calls/{ids[book['a1']]}", reached="yes", satisfaction="5")
    done = sue.get(campaign_page, headers=headers).text
    assert 'data-complete="yes"' in done and '<ul id="missing">' not in done
    with session_scope(db_factory) as session:
        recorded = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == care.CALL_RECORDED)
            .order_by(AuditEvent.id.desc())
            .limit(3)
        ).all()
        assert {e.actor for e in recorded} == {f"agent:{alice.username}", f"supervisor:{sue.username}"}
        first = session.scalars(
            select(FollowUpRecord).where(
                FollowUpRecord.customer_id == book["a2"], FollowUpRecord.reached.is_(True)
            )
        ).one()
        assert (first.satisfaction, first.plans, first.made_by, first.language) == (
            3,
            notes["plans"],
            alice.username,
            language,
        )
    # Closing: no more calls.
    assert form(sue, f"/console/care/{campaign_id}/close").status_code == 303
    assert "campaigns" in sue.get("/console/care").text
    assert error_of(form(sue, f"/console/care/{campaign_id}/close")).endswith("closed this campaign already.")


def test_a_period_that_is_not_the_campaigns_gets_a_clear_page(
    people: dict[str, Console], book: dict[str, str]
) -> None:
    sue = people["sue"]
    campaign_id = campaign_id_of(define(sue, people["alice"].username))
    bad = sue.get(f"/console/care/{campaign_id}?period=2026-W49")
    assert bad.status_code == 422 and "The period 2026-W49 is not one of this campaign" in visible(
        bad.text, "en"
    )
    none = sue.get(f"/console/care/{campaign_id}?period=2001-01")
    assert none.status_code == 404 and "The campaign has no list for 2001-01." in visible(none.text, "en")
    assert sue.get("/console/care/999999999").status_code == 404


def test_the_call_list_warns_in_quiet_hours(
    db_url: str, people: dict[str, Console], book: dict[str, str], db_factory: sessionmaker[Session]
) -> None:
    define(people["sue"], people["alice"].username)
    now = datetime.now(CARRIER_TZ)
    start, end = (now - timedelta(hours=1)).strftime("%H:%M"), (now + timedelta(hours=1)).strftime("%H:%M")
    quiet = build_app(db_url, quiet_hours=f"{start}-{end}", care_open_job=False)
    name, password = new_account(db_factory, "agent", language="zh")
    with client_for(quiet) as client:
        log_in(client, (name, password))
        page = client.get("/console/care/calls").text
    assert f"现在是客户休息时间：请在 {end} 之后致电。" in visible(page, "zh")
    assert f"客户休息时间：{start} 至 {end}" in visible(page, "zh")
    calm = people["alice"].get("/console/care/calls").text  # the fixtures' app: quiet 21:00-08:00
    assert "Customers' quiet hours: 21:00 to 08:00." in visible(calm, "en")
    hour = now.hour
    assert ('id="quiet-now"' in calm) == (hour >= 21 or hour < 8)


def test_the_care_job_runs_in_the_backend_unless_turned_off(
    app: FastAPI, people: dict[str, Console], db_url: str
) -> None:
    job = app.state.care_open
    deadline = time.monotonic() + 20
    while job.last is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert isinstance(job.last, care.OpenRun)
    off = build_app(db_url, care_open_job=False)
    with client_for(off):
        assert off.state.care_open._task is None
