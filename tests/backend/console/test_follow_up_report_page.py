"""The monthly follow-up report page (/console/reports/follow-up) in English and Chinese: its record table
and coverage table are its CSV files, the rating chart is drawn from the records, an agent reads their own
customers only, the "done" button is guarded and audited, bad input gets a sentence."""

from __future__ import annotations

import csv
import html
import io
import re
from collections import Counter
from collections.abc import Iterator
from urllib.parse import unquote

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.models import AuditEvent, FollowUpRecord
from backend.services import care_report as cr
from tests.backend.console.clients import Console
from tests.backend.console.test_console_words import HEADERS, assert_in_language, names_of
from tests.backend.services.test_care_report import MONTH, Month, build_month, remove_month

URL = f"/console/reports/follow-up?month={MONTH}"


@pytest.fixture
def month(people: dict[str, Console], db_factory: sessionmaker[Session]) -> Iterator[Month]:
    """The generated month, with Alice and Bob as the two owners."""
    built = build_month(db_factory, people["alice"].username, people["bob"].username)
    yield built
    remove_month(db_factory, built)


def cells(row: str) -> list[str]:
    return [html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td.*?</td>", row, re.S)]


def table_lines(page: str, table_id: str, row_start: str) -> list[list[str]]:
    body = re.search(rf'<table[^>]*id="{table_id}">.*?<tbody>(.*?)</tbody>', page, re.S)
    assert body, page
    return [cells(row) for row in re.findall(rf"<tr {row_start}.*?</tr>", body[1], re.S)]


def csv_lines(content: bytes) -> tuple[list[str], list[list[str]]]:
    text = content.decode("utf-8")
    assert text.startswith(cr.BOM)
    header, *rows = list(csv.reader(io.StringIO(text.removeprefix(cr.BOM))))
    return header, rows


def own(lines: list[list[str]], month: Month, column: int) -> list[list[str]]:
    """The lines of the test's customers (the shared database may hold others')."""
    return [line for line in lines if line[column] in month.customers.values()]


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_supervisors_report_and_its_csv_files_hold_the_records(
    month: Month, people: dict[str, Console], db_factory: sessionmaker[Session], language: str
) -> None:
    sue = people["sue"]
    page = sue.get(URL, headers=HEADERS[language])
    assert page.status_code == 200
    records = table_lines(page.text, "records-table", "data-record")
    header, rows = csv_lines(
        sue.get(f"/console/reports/follow-up.csv?month={MONTH}", headers=HEADERS[language]).content
    )
    assert header[:3] == (
        ["Record", "Date", "Customer id"] if language == "en" else ["记录编号", "日期", "客户编号"]
    )
    assert records == rows
    # Every record of the month, from the database, and nothing else of the test's.
    with session_scope(db_factory) as session:
        stored = session.scalars(
            select(FollowUpRecord.id).where(FollowUpRecord.customer_id.in_(month.customers.values()))
        ).all()
    in_month = {month.records[k] for k in ("r1", "r2", "r3", "r4", "r5")}
    assert {int(r[0]) for r in own(rows, month, 2)} == in_month and in_month < set(stored)

    coverage = table_lines(page.text, "coverage-table", 'class="coverage-line"')
    _, coverage_rows = csv_lines(
        sue.get(f"/console/reports/follow-up-coverage.csv?month={MONTH}", headers=HEADERS[language]).content
    )
    assert coverage == coverage_rows
    calls = next(line for line in coverage_rows if line[0].startswith("A-class calls") and line[2] == MONTH)
    assert calls[3:8] == ["4", "2", "3", "1", "33.3%"]
    assert month.customers["c2"] in calls[8] and month.customers["c4"] in calls[8]
    assert ("unreachable" if language == "en" else "未联系上") in calls[8]

    # The chart's bars are the month's ratings, counted here from the CSV.
    ratings = Counter(r[10] for r in rows if r[10])
    bars = dict(re.findall(r'<g class="bar" data-label="(\d)" data-value="(\d+)">', page.text))
    assert bars == {str(n): str(ratings.get(str(n), 0)) for n in range(1, 6)}
    assert '<svg id="satisfaction-chart"' in page.text

    drops = re.findall(r'<tr data-flag="\d+" data-customer="([^"]+)" data-explained="(yes|no)">', page.text)
    assert {(cid, e) for cid, e in drops if cid in month.customers.values()} == {
        (month.customers["c2"], "yes"),
        (month.customers["c3"], "yes"),
        (month.customers["c5"], "no"),
    }
    # The fixture's texts by theme (the service test lists them): a text may fall in several.
    themes = dict(re.findall(r'data-theme="(\w+)">\s*<h3>[^<]*<small>\((\d+)\)', page.text))
    expected = {"city": 2, "line_haul": 2, "receiving": 1, "service_desk": 1, "billing": 2, "other": 1}
    assert {key: int(count) for key, count in themes.items()} == expected
    ids = list(month.customers.values())  # identifiers are data, as names are
    assert_in_language(page.text, language, names_of(db_factory) + ids, "follow-up report")


def test_an_agent_reads_only_their_customers(month: Month, people: dict[str, Console]) -> None:
    alice, bob, sue = people["alice"], people["bob"], people["sue"]
    page = alice.get(URL).text
    ids = set(re.findall(r'<tr data-record="(\d+)">', page))
    assert {month.records[k] for k in ("r1", "r5", "p1")} <= {int(i) for i in ids}
    assert str(month.records["r2"]) not in ids and str(month.records["r3"]) not in ids
    assert "Your customers only." in page and '<select name="owner">' not in page
    _, rows = csv_lines(alice.get(f"/console/reports/follow-up.csv?month={MONTH}").content)
    assert {r[4] for r in rows} == {alice.username}
    refused = alice.get(f"{URL}&owner={bob.username}")
    assert refused.status_code == 403 and "only supervisors may choose another owner" in refused.text
    # A supervisor picks one owner, or the customers nobody owns.
    bobs = sue.get(f"{URL}&owner={bob.username}").text
    _, bob_rows = csv_lines(
        sue.get(f"/console/reports/follow-up.csv?month={MONTH}&owner={bob.username}").content
    )
    assert {r[4] for r in bob_rows} == {bob.username}
    assert {int(r[0]) for r in bob_rows} == {month.records["r2"], month.records["r4"]}
    assert "Show all" in bobs
    nobody = sue.get(f"/console/reports/follow-up.csv?month={MONTH}&owner=-").content
    assert month.customers["c4"] in {r[2] for r in csv_lines(nobody)[1]}
    unknown = sue.get(f"{URL}&owner=nobody-such", headers=HEADERS["zh"])
    assert unknown.status_code == 422 and "没有客服 nobody-such。" in unknown.text


def test_the_done_button_closes_an_open_action_audited(
    month: Month, people: dict[str, Console], db_factory: sessionmaker[Session]
) -> None:
    alice, bob = people["alice"], people["bob"]
    record = month.records["r5"]
    url = f"/console/reports/follow-up/actions/{record}/done"
    assert f'action="{url}"' in alice.get(URL).text
    forged = alice.client.post(url, data={"csrf_token": "forged", "month": MONTH})
    assert forged.status_code == 403
    not_his = bob.client.post(url, data={"csrf_token": bob.csrf, "month": MONTH})
    assert not_his.status_code == 303
    assert "Only the customer's owner or a supervisor may mark this done." in unquote(
        not_his.headers["location"]
    )
    done = alice.client.post(url, data={"csrf_token": alice.csrf, "month": MONTH, "owner": ""})
    assert (done.status_code, done.headers["location"]) == (303, URL)
    assert f'action="{url}"' not in alice.get(URL).text
    again = alice.client.post(url, data={"csrf_token": alice.csrf, "month": MONTH})
    shown = alice.get(again.headers["location"]).text
    assert f"{alice.username} marked this next step done already." in html.unescape(shown)
    with session_scope(db_factory) as session:
        row = session.get(FollowUpRecord, record)
        assert row is not None and row.next_step_done_by == alice.username
        events = session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == cr.STEP_DONE, AuditEvent.actor == f"agent:{alice.username}"
            )
        ).all()
        assert [(e.data or {}).get("record_id") for e in events] == [record]


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_bad_or_empty_month_is_answered_politely(people: dict[str, Console], language: str) -> None:
    alice = people["alice"]
    bad = alice.get("/console/reports/follow-up?month=2012-13", headers=HEADERS[language])
    assert bad.status_code == 422
    assert ("The month must look like 2026-11." if language == "en" else "2026-11") in bad.text
    empty = alice.get("/console/reports/follow-up?month=1999-02", headers=HEADERS[language]).text
    assert 'id="follow-up-empty"' in empty
    assert ("Nothing to report for 1999-02" if language == "en" else "1999-02 没有可报告的内容") in empty
    # The default is this month, and the nav leads here.
    assert (
        'href="/console/reports/follow-up"'
        in alice.get("/console/reports/follow-up", headers=HEADERS[language]).text
    )
