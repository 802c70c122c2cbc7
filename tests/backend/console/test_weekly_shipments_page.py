"""The weekly shipment statistics (周期发货表格): volume, freight, regions and change per customer, on the
page and in its CSV, which hold the same lines and agree with the shipment records; in both languages."""

from __future__ import annotations

import csv
import html
import io
import json
import random
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.models import Shipment
from backend.services import volume_watch as vw
from tests.backend.console.clients import Console
from tests.backend.console.test_console_words import HEADERS, assert_in_language, names_of
from tests.backend.console.test_volume_pages import add_weekly_shipper, remove_shipper
from tests.backend.factories import CARRIER_TZ

# Long before the demo data: only the test's customers shipped in it and the four weeks before.
WEEK = vw.Week(2019, 20)
PLANS = {"falling": [10, 12, 8, 10, 3], "growing": [5, 5, 5, 5, 9], "occasional": [0, 0, 0, 2, 0]}
URL = f"/console/reports/weekly-shipments?week={WEEK.key}"
CSV_URL = f"/console/reports/weekly-shipments.csv?week={WEEK.key}"


@pytest.fixture
def shippers(people: dict[str, Console], db_factory: sessionmaker[Session]) -> Iterator[dict[str, str]]:
    """Alice's three customers (falling, growing, occasional) with shipments in 2019-W16..W20; taken out
    after."""
    ids = {kind: f"W{random.randrange(10**7, 10**8)}" for kind in PLANS}
    owner = people["alice"].username
    with session_scope(db_factory) as session:
        for kind, cid in ids.items():
            add_weekly_shipper(session, cid, f"Baise Mango {kind} {cid}", PLANS[kind], WEEK, owner=owner)
    yield ids
    with session_scope(db_factory) as session:
        for cid in ids.values():
            remove_shipper(session, cid)


def from_records(factory: sessionmaker[Session], ids: list[str]) -> dict[str, dict[str, object]]:
    """What the shipment records say, counted here without the service: per customer, by local week."""
    weeks = [WEEK.shift(-n).key for n in range(4, -1, -1)]
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    freight: dict[str, Decimal] = defaultdict(Decimal)
    regions: dict[str, Counter[str]] = defaultdict(Counter)
    with session_scope(factory) as session:
        for s in session.scalars(select(Shipment).where(Shipment.customer_id.in_(ids))):
            year, number, _ = s.created_at.astimezone(CARRIER_TZ).isocalendar()
            key = f"{year}-W{number:02d}"
            counts[s.customer_id][key] += 1
            if key == WEEK.key:
                freight[s.customer_id] += s.freight_amount or Decimal(0)
                regions[s.customer_id]["广州市" if "广州" in s.destination else s.destination] += 1
    return {
        cid: {
            "count": counts[cid][weeks[-1]],
            "previous": counts[cid][weeks[-2]],
            "mean": sum(counts[cid][w] for w in weeks[:-1]) / 4,
            "freight": freight[cid],
            "regions": dict(regions[cid]),
        }
        for cid in ids
    }


def page_lines(page: str) -> list[list[str]]:
    body = re.search(r'<table class="cards" id="weekly-shipments">.*?<tbody>(.*?)</tbody>', page, re.S)
    assert body, page
    lines = []
    for row in re.findall(r"<tr data-customer=.*?</tr>", body[1], re.S):
        cells = [
            html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td.*?</td>", row, re.S)
        ]
        customer = re.search(r'data-customer="([^"]+)"', row)[1]  # type: ignore[index]
        lines.append([customer, *("" if c == "—" else c for c in cells)])
    return lines


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_page_and_its_csv_hold_the_records(
    shippers: dict[str, str], people: dict[str, Console], db_factory: sessionmaker[Session], language: str
) -> None:
    alice = people["alice"]  # an agent: the statistics of the customers she owns
    page = alice.get(URL, headers=HEADERS[language])
    assert page.status_code == 200
    lines = page_lines(page.text)
    answer = alice.get(CSV_URL, headers=HEADERS[language])
    assert answer.headers["content-type"].startswith("text/csv")
    assert f"weekly-shipments-{WEEK.key}.csv" in answer.headers["content-disposition"]
    text = answer.content.decode("utf-8")
    assert text.startswith(vw.BOM)
    header, *rows = list(csv.reader(io.StringIO(text.removeprefix(vw.BOM))))
    english = ["Customer id", "Customer", "Class", "Shipments"]
    assert header[:4] == (english if language == "en" else ["客户编号", "客户", "客户等级", "发货量"])
    # The page's lines are the CSV's rows, in the same order: the busiest first.
    ids = shippers
    assert [r[0] for r in rows] == [ids["growing"], ids["falling"], ids["occasional"]]
    assert lines == rows

    records = from_records(db_factory, list(ids.values()))
    for row in rows:
        cid, _, _, count, freight, previous, change, vs_previous, mean, vs_mean, regions, owner = row
        assert owner == alice.username
        expected = records[cid]
        assert int(count) == expected["count"] and int(previous) == expected["previous"]
        assert Decimal(freight) == expected["freight"]
        assert int(change) == int(count) - int(previous)
        assert float(mean) == expected["mean"]
        parsed = dict(
            (part.rsplit(" ", 1)[0], int(part.rsplit(" ", 1)[1])) for part in regions.split(", ") if part
        )
        assert parsed == expected["regions"]
    falling = next(r for r in rows if r[0] == ids["falling"])
    assert falling[3:10] == ["3", "76.50", "10", "-7", "-70.0%", "10.0", "-70.0%"]
    assert falling[10] == "Kunming 2, 广州市 1"
    growing = next(r for r in rows if r[0] == ids["growing"])
    assert growing[3:10] == ["9", "229.50", "5", "+4", "+80.0%", "5.0", "+80.0%"]
    occasional = next(r for r in rows if r[0] == ids["occasional"])
    assert occasional[3:11] == ["0", "0.00", "2", "-2", "-100.0%", "0.5", "-100.0%", ""]

    summary = re.search(r'<p id="weekly-summary">(.*?)</p>', page.text, re.S)[1]  # type: ignore[index]
    if language == "en":
        assert "2019-W20 (2019-05-13 to 2019-05-19): 12 shipment(s) from 2 customer(s)" in summary
    else:
        assert "2019-W20（2019-05-13 至 2019-05-19）：2 位客户发货 12 票" in summary
    data = re.search(r'id="weekly-data" type="application/json">(.*?)</script>', page.text, re.S)
    assert data
    chart = json.loads(data[1])
    assert chart["values"] == [9, 3, 0] and chart["previous"] == [5, 10, 2]
    assert chart["week_label"] == "2019-W20" and chart["previous_label"] == "2019-W19"
    assert_in_language(page.text, language, [*names_of(db_factory), "Kunming", "广州市"], "weekly shipments")


def test_a_bad_week_is_refused_and_logged_out_readers_go_to_the_login(
    people: dict[str, Console], client: object
) -> None:
    sue = people["sue"]
    refused = sue.get("/console/reports/weekly-shipments?week=2019-20", headers=HEADERS["zh"])
    assert refused.status_code == 422 and "周的格式应为 2026-W48。" in refused.text
    english = sue.get("/console/reports/weekly-shipments.csv?week=2019-W54", headers=HEADERS["en"])
    assert english.status_code == 422 and "The week must look like 2026-W48." in english.text
    anonymous = client.get(URL)  # type: ignore[attr-defined]
    assert anonymous.status_code in (302, 303) and "/console/login" in anonymous.headers["location"]
    # The default is the last complete week on the carrier's clock.
    page = sue.get("/console/reports/weekly-shipments", headers=HEADERS["en"]).text
    assert f'value="{vw.last_complete_week(vw.utcnow(), CARRIER_TZ).key}"' in page


GROUPED = vw.Week(2019, 30)
GROUPED_URL = f"/console/reports/weekly-shipments?week={GROUPED.key}"


@pytest.fixture
def two_owners(
    people: dict[str, Console], db_factory: sessionmaker[Session]
) -> Iterator[dict[str, str | None]]:
    """Customers of Alice (two), Bob (one) and nobody (one) shipping in 2019-W26..W30: id -> owner."""
    alice, bob = people["alice"].username, people["bob"].username
    plans: list[tuple[str | None, list[int]]] = [
        (alice, [4, 4, 4, 4, 6]),
        (alice, [2, 2, 2, 2, 1]),
        (bob, [5, 5, 5, 5, 8]),
        (None, [3, 3, 3, 3, 3]),
    ]
    owners: dict[str, str | None] = {}
    with session_scope(db_factory) as session:
        for owner, plan in plans:
            cid = f"G{random.randrange(10**7, 10**8)}"
            add_weekly_shipper(session, cid, f"Hezhou Stone {cid}", plan, GROUPED, owner=owner)
            owners[cid] = owner
    yield owners
    with session_scope(db_factory) as session:
        for cid in owners:
            remove_shipper(session, cid)


def subtotal_rows(page: str) -> dict[str, list[str]]:
    """Each owner's subtotal row ("-" for nobody's customers): the cells after the owner's name."""
    found = {}
    for owner, row in re.findall(r'<tr class="owner-subtotal" data-owner="([^"]+)">(.*?)</tr>', page, re.S):
        cells = [
            html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td.*?</td>", row, re.S)
        ]
        found[owner] = cells
    return found


def test_the_statistics_are_grouped_by_owner_and_an_agent_reads_their_own(
    two_owners: dict[str, str | None], people: dict[str, Console]
) -> None:
    alice, bob, sue = people["alice"], people["bob"], people["sue"]
    page = sue.get(GROUPED_URL).text
    lines = [line for line in page_lines(page) if line[0] in two_owners]
    # Owners by name, nobody's customers last; each customer's owner in the last column.
    order = [two_owners[line[0]] for line in lines]
    assert order == [*sorted([o for o in order if o], key=str), None]
    assert all(line[-1] == (two_owners[line[0]] or "") for line in lines)
    subtotals = subtotal_rows(page)
    for owner in (alice.username, bob.username):
        theirs = [line for line in lines if two_owners[line[0]] == owner]
        cells = subtotals[owner]
        assert f"{len(theirs)} customer(s)" in cells[0]
        assert int(cells[1]) == sum(int(line[3]) for line in theirs)
        assert Decimal(cells[2]) == sum(Decimal(line[4]) for line in theirs)
        assert int(cells[3]) == sum(int(line[5]) for line in theirs)
    assert subtotals[alice.username][1:5] == ["7", "178.50", "6", "+1"]
    # The chart of owners beside each other holds the subtotals.
    bars = dict(re.findall(r'<g class="bar" data-label="([^"]+)" data-value="(\d+)">', page))
    assert bars[alice.username] == subtotals[alice.username][1] and bars[bob.username] == "8"
    _, *rows = list(
        csv.reader(
            io.StringIO(
                sue.get(GROUPED_URL.replace("shipments?", "shipments.csv?")).text.removeprefix(vw.BOM)
            )
        )
    )
    assert [r for r in rows if r[0] in two_owners] == lines

    # Alice: her two customers only, and she may not ask for Bob's.
    hers = page_lines(alice.get(GROUPED_URL).text)
    assert {line[0] for line in hers} == {cid for cid, o in two_owners.items() if o == alice.username}
    assert list(subtotal_rows(alice.get(GROUPED_URL).text)) == [alice.username]
    assert alice.get(f"{GROUPED_URL}&owner={bob.username}").status_code == 403
    # The supervisor's filter: one owner, or nobody's customers.
    bobs = page_lines(sue.get(f"{GROUPED_URL}&owner={bob.username}").text)
    assert {line[0] for line in bobs} == {cid for cid, o in two_owners.items() if o == bob.username}
    nobodys = {line[0] for line in page_lines(sue.get(f"{GROUPED_URL}&owner=-").text)}
    assert nobodys & set(two_owners) == {cid for cid, o in two_owners.items() if o is None}
    csv_bob = bob.get(GROUPED_URL.replace("shipments?", "shipments.csv?")).text
    assert {r[-1] for r in list(csv.reader(io.StringIO(csv_bob.removeprefix(vw.BOM))))[1:]} == {bob.username}
