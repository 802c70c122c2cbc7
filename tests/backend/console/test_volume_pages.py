"""The volume watch in the console: the flagged customer with its figures and sparkline, the care call's
note closing the flag, the customer page's notice; in English and Chinese."""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from fastapi import FastAPI
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.models import AuditEvent, Customer, ScheduledJobRun, Shipment, VolumeFlag
from backend.services import volume_watch as vw
from backend.waybill import make_waybill
from tests.backend.console.clients import Console, build_app, client_for
from tests.backend.console.test_console_words import HEADERS, assert_in_language, names_of, visible
from tests.backend.factories import CARRIER_TZ, forget_customer

# A week long before the demo data: only the test's customer shipped in it and the weeks before.
WEEK = vw.Week(2020, 10)
PER_WEEK = [10, 12, 8, 10, 3]


@dataclass
class Flagged:
    customer_id: str
    name: str
    flag_id: int


def add_weekly_shipper(
    session: Session, cid: str, name: str, per_week: list[int], last: vw.Week, owner: str | None = None
) -> None:
    """A customer (of `owner`) shipping `per_week` shipments in the weeks ending with `last`, oldest first."""
    session.add(Customer(id=cid, name=name, customer_class="A", owner=owner))
    session.flush()
    for back, count in enumerate(reversed(per_week)):
        thursday = last.shift(-back).start(CARRIER_TZ) + timedelta(days=3, hours=9)
        for n in range(count):
            session.add(
                Shipment(
                    waybill=make_waybill("EV", random.randrange(10**7, 10**8)),
                    customer_id=cid,
                    origin="Nanning",
                    destination="广东省广州市天河区" if n % 2 else "Kunming",
                    status="delivered",
                    freight_amount=Decimal("25.50"),
                    created_at=thursday + timedelta(minutes=n),
                )
            )


def remove_shipper(session: Session, cid: str) -> None:
    session.execute(delete(VolumeFlag).where(VolumeFlag.customer_id == cid))
    session.execute(delete(Shipment).where(Shipment.customer_id == cid))
    forget_customer(session, cid)


@pytest.fixture
def flagged(app: FastAPI, people: dict[str, Console], db_factory: sessionmaker[Session]) -> Iterator[Flagged]:
    """Alice's customer whose 2020-W10 fell from a mean of 10 to 3, flagged; taken out afterwards.

    It comes after `people`: their clients have started the app, whose weekly job must have looked first.
    """
    job = app.state.volume_watch
    deadline = time.monotonic() + 20
    while job.last is None and time.monotonic() < deadline:
        time.sleep(0.05)
    cid = f"V{random.randrange(10**7, 10**8)}"
    name = f"Liuzhou Rice {cid}"
    with session_scope(db_factory) as session:
        add_weekly_shipper(session, cid, name, PER_WEEK, WEEK, owner=people["alice"].username)
    with session_scope(db_factory) as session:
        found = vw.watch(session, WEEK, tz=CARRIER_TZ, weeks=4, drop_share=0.3, min_shipments=8)
        assert found.new == [cid]
        flag_id = session.scalars(select(VolumeFlag.id).where(VolumeFlag.customer_id == cid)).one()
    yield Flagged(cid, name, flag_id)
    with session_scope(db_factory) as session:
        remove_shipper(session, cid)


def test_the_weekly_job_runs_in_the_backend_unless_turned_off(
    app: FastAPI, people: dict[str, Console], db_url: str, db_factory: sessionmaker[Session]
) -> None:
    job = app.state.volume_watch
    deadline = time.monotonic() + 20
    while job.last is None and time.monotonic() < deadline:
        time.sleep(0.05)
    # This process looked at the last complete week, or an earlier backend on this database had it.
    week = vw.last_complete_week(vw.utcnow(), CARRIER_TZ).key
    assert isinstance(job.last, vw.WeeklyRun) and job.last.week == week
    with session_scope(db_factory) as session:
        assert session.get(ScheduledJobRun, (vw.JOB_NAME, week)) is not None
    off = build_app(db_url, volume_watch_job=False)
    with client_for(off):
        assert off.state.volume_watch._task is None


def row_of(page: str, flag_id: int) -> str:
    match = re.search(rf'<tr data-flag="{flag_id}".*?</tr>', page, re.S)
    assert match, page
    return match.group(0)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_an_agent_sees_the_flag_with_its_figures(
    flagged: Flagged, people: dict[str, Console], db_factory: sessionmaker[Session], language: str
) -> None:
    page = people["alice"].get("/console/volume", headers=HEADERS[language]).text
    row = row_of(page, flagged.flag_id)
    assert flagged.name in row and "2020-W10" in row
    assert 'data-count="3"' in row and 'data-mean="10.0"' in row and 'data-drop="70"' in row
    assert ("76.50 CNY" if language == "en" else "76.50 元") in row
    text = visible(row, language)
    if language == "en":
        assert "10.0 a week over 4 weeks" in text and "Mark handled" in page
        assert "why did your volume drop recently" in visible(page, "en")
    else:
        assert "4 周平均每周 10.0 票" in text and "标记为已处理" in page
    assert_in_language(page, language, names_of(db_factory), "volume watch")
    sparks = json.loads(re.search(r'id="spark-data" type="application/json">(.*?)</script>', page, re.S)[1])  # type: ignore[index]
    spark = next(s for s in sparks if s["key"] == str(flagged.flag_id))
    assert spark["labels"] == ["2020-W06", "2020-W07", "2020-W08", "2020-W09", "2020-W10"]
    assert spark["values"] == PER_WEEK
    # The customer's page says so, with a way to the care call.
    customer_url = f"/console/customers/{flagged.customer_id}"
    customer = people["alice"].get(customer_url, headers=HEADERS[language]).text
    notice = visible(customer, language)
    if language == "en":
        assert "Volume dropped in 2020-W10: 3 shipment(s) against a mean of 10.0 a week (−70%)." in notice
    else:
        assert "2020-W10 业务量下降：发货 3 票，此前平均每周 10.0 票（−70%）。" in notice
    assert_in_language(customer, language, names_of(db_factory), "customer page")


def test_the_care_calls_note_closes_the_flag(
    flagged: Flagged, people: dict[str, Console], db_factory: sessionmaker[Session]
) -> None:
    alice, bob = people["alice"], people["bob"]
    url = f"/console/volume/{flagged.flag_id}/handled"
    empty = alice.client.post(url, data={"csrf_token": alice.csrf, "note": "  "})
    assert empty.status_code == 303 and empty.headers["location"].startswith("/console/volume?error=")
    refused = alice.get(empty.headers["location"]).text
    assert "Write what the customer said" in refused
    forged = alice.client.post(url, data={"csrf_token": "forged", "note": "x"})
    assert forged.status_code == 403

    note = "Moved half their parcels to a cheaper line; will try our Guangzhou special line next month."
    done = alice.client.post(url, data={"csrf_token": alice.csrf, "note": note})
    assert (done.status_code, done.headers["location"]) == (303, "/console/volume")
    assert f'data-flag="{flagged.flag_id}"' not in alice.get("/console/volume").text
    handled = row_of(alice.get("/console/volume?show=handled").text, flagged.flag_id)
    assert note in handled and f"Handled by {alice.username}" in visible(handled, "en")
    again = bob.client.post(url, data={"csrf_token": bob.csrf, "note": "me too"})
    assert f"{alice.username} handled this flag already." in bob.get(again.headers["location"]).text
    customer = alice.get(f"/console/customers/{flagged.customer_id}").text
    assert "Volume dropped" not in customer

    with session_scope(db_factory) as session:
        flag = session.get(VolumeFlag, flagged.flag_id)
        assert flag is not None
        assert (flag.status, flag.handled_by, flag.note) == ("handled", alice.username, note)
        events = session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == vw.FLAG_HANDLED, AuditEvent.actor == f"agent:{alice.username}"
            )
        ).all()
        assert [(e.data or {}).get("customer_id") for e in events] == [flagged.customer_id]


def test_an_agent_sees_the_flags_of_their_own_customers_a_supervisor_everyones(
    flagged: Flagged, people: dict[str, Console]
) -> None:
    alice, bob, sue = people["alice"], people["bob"], people["sue"]
    mine = row_of(alice.get("/console/volume").text, flagged.flag_id)
    assert alice.username in visible(mine, "en")
    assert f'data-flag="{flagged.flag_id}"' not in bob.get("/console/volume").text
    refused = bob.get(f"/console/volume?owner={alice.username}")
    assert refused.status_code == 403
    # The supervisor sees every owner's flags, each with its owner, or one owner's.
    everyone = sue.get("/console/volume").text
    assert alice.username in visible(row_of(everyone, flagged.flag_id), "en")
    assert '<select name="owner">' in everyone
    assert f'data-flag="{flagged.flag_id}"' in sue.get(f"/console/volume?owner={alice.username}").text
    bobs = sue.get(f"/console/volume?owner={bob.username}").text
    assert f'data-flag="{flagged.flag_id}"' not in bobs and "Show all" in bobs
    assert f'data-flag="{flagged.flag_id}"' not in sue.get("/console/volume?owner=-").text
