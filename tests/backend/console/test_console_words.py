"""Every page of the console's shell in the reader's language: no English word left on a Chinese page
(names, waybills, ticket numbers and units aside) and no Chinese UI word on an English one; refusals,
error pages and the CSV files too; the header's 中文 / English switch stores the agent's choice."""

from __future__ import annotations

import codecs
import csv
import io
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.models import Agent, Conversation, Customer
from backend.services.reports import TICKET_COLUMNS
from tests.backend.console.clients import Console
from tests.backend.factories import escalated
from tests.text_checks import latin_words

CODED_COLUMNS = (
    "Kind",
    "Channel",
    "Shipper's language",
    "Category",
    "Level",
    "Responsibility",
    "Status",
    "Stage reached",
)
REMEDY = "赔偿维修费用"
HEADERS = {"zh": {"Accept-Language": "zh-CN,zh;q=0.9"}, "en": {"Accept-Language": "en-GB,en;q=0.9"}}
CJK = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]")
SKIPPED = {"script", "style"}
# Attributes people read (tooltips, screen readers).
READ_ATTRIBUTES = ("title", "aria-label", "placeholder")
VOID = {"meta", "link", "input", "br", "img", "hr", "source", "wbr"}


class VisibleText(HTMLParser):
    """The text a reader sees or hears on a page in `language`; parts marked in another language (the
    switch's 中文 / English, each named in itself) and people's own words (data-own-words) are left out."""

    def __init__(self, language: str) -> None:
        super().__init__()
        self.language = language
        self.stack: list[bool] = []  # per open element: is it skipped?
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        lang = (values.get("lang") or "").split("-")[0]
        skipped = (
            bool(self.stack and self.stack[-1])
            or tag in SKIPPED
            or bool(lang and lang != self.language)
            or "data-own-words" in values  # what a person wrote (a remedy, a reason) is theirs
        )
        if not skipped:
            self.parts += [str(values[name]) for name in READ_ATTRIBUTES if values.get(name)]
        if tag not in VOID:
            self.stack.append(skipped)

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if not (self.stack and self.stack[-1]) and data.strip():
            self.parts.append(data.strip())


def visible(html: str, language: str) -> str:
    parser = VisibleText(language)
    parser.feed(html)
    return "\n".join(parser.parts)


def without_names(text: str, names: list[str]) -> str:
    """People's names and logins are data, not words to translate."""
    for name in sorted(names, key=len, reverse=True):
        text = text.replace(name, " ")
    return text


def names_of(factory: sessionmaker[Session]) -> list[str]:
    """Agents' and customers' names (the report's top customers) as stored."""
    with session_scope(factory) as session:
        agents = session.scalars(select(Agent)).all()
        customers = session.scalars(select(Customer.name)).all()
        return (
            [a.username for a in agents]
            + [a.display_name for a in agents if a.display_name]
            + list(customers)
        )


def assert_in_language(html: str, language: str, names: list[str], where: str) -> None:
    text = without_names(visible(html, language), names)
    if language == "zh":
        assert latin_words(text) == [], f"{where}: {text}"
        assert CJK.search(text), where
    else:
        assert CJK.findall(text) == [], f"{where}: {text}"


@pytest.fixture
def busy_console(people: dict[str, Console], db_factory: sessionmaker[Session]) -> dict[str, Any]:
    """A queue with a Chinese and an English conversation (one held by alice), a compensation waiting
    for a supervisor and one decided: every kind of row each page can show."""
    chinese, _ = escalated(db_factory, priority="P1", category="damage")
    english, _ = escalated(db_factory, priority="P3", category="delay")
    held, held_number = escalated(db_factory, priority="P2", category="loss")
    decided, decided_number = escalated(db_factory, priority="P2", category="billing")
    with session_scope(db_factory) as session:
        session.get(Conversation, chinese).language = "zh"  # type: ignore[union-attr]
        session.get(Conversation, english).language = "en"  # type: ignore[union-attr]
    alice = people["alice"]
    for cid, number, amount in ((held, held_number, "800"), (decided, decided_number, "650")):
        assert alice.post(f"/console/api/conversations/{cid}/claim").status_code == 200
        saved = alice.post(
            f"/console/api/tickets/{number}",
            {"status": "resolved", "resolution": REMEDY, "compensation_cny": amount},
        )
        assert saved.status_code == 202, saved.text
    request_id = saved.json()["approval"]["id"]
    assert (
        people["sue"].post(f"/console/api/approvals/{request_id}/reject", {"amount_cny": amount}).status_code
        == 200
    )
    return {"conversations": [chinese, english, held]}


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_page_of_an_agent_and_a_supervisor_is_in_the_readers_language(
    people: dict[str, Console], db_factory: sessionmaker[Session], busy_console: dict[str, Any], language: str
) -> None:
    # People's names are theirs, not the console's words.
    names = names_of(db_factory)
    headers = HEADERS[language]
    pages = {
        ("alice", "/console"): 200,
        ("alice", "/console/approvals"): 403,  # the error page an agent gets
        ("sue", "/console"): 200,
        ("sue", "/console/approvals"): 200,
        ("sue", "/console/reports"): 200,
    }
    for (who, path), status in pages.items():
        page = people[who].get(path, headers=headers)
        assert page.status_code == status, (who, path)
        assert_in_language(page.text, language, names, f"{who} {path}")
    queue = people["alice"].get("/console", headers=headers).text
    said = {
        "zh": [
            "严重投诉",
            "货物破损",
            "由 ",
            "等待人工接入",
            "客户拒绝了 2 个方案",
            "中文",
            "英文",
        ],
        "en": [
            "Serious complaint",
            "Damaged goods",
            "with ",
            "waiting for an agent",
            "turned down 2 offer(s)",
            "Chinese",
            "English",
        ],
    }[language]
    for words in said:
        assert words in visible(queue, language), words
    approvals = visible(people["sue"].get("/console/approvals", headers=headers).text, language)
    assert ("800.00 元" if language == "zh" else "800.00 CNY") in approvals
    assert ("已驳回" if language == "zh" else "rejected") in approvals


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_login_page_and_its_refusals_are_in_the_readers_language(app: Any, language: str) -> None:
    from tests.backend.console.clients import client_for, post_login

    with client_for(app, headers=HEADERS[language]) as client:
        page = client.get("/console/login")
        assert_in_language(page.text, language, [], "login")
        wrong = post_login(client, "nobody-here", "not-the-password")
        assert wrong.status_code == 401
        assert_in_language(wrong.text, language, ["nobody-here"], "login refused")
        assert ("用户名或密码错误" if language == "zh" else "Wrong name or password.") in wrong.text


def test_refusals_on_the_console_api_are_in_the_agents_language_and_the_api_stays_english(
    people: dict[str, Console], busy_console: dict[str, Any]
) -> None:
    alice = people["alice"]
    refused = alice.client.post(
        "/console/api/approvals/1/approve",
        json={"amount_cny": "1"},
        headers={"X-CSRF-Token": alice.csrf, **HEADERS["zh"]},
    )
    assert (refused.status_code, refused.json()) == (403, {"detail": "只有主管可以执行此操作。"})
    english = alice.client.post(
        "/console/api/approvals/1/approve",
        json={"amount_cny": "1"},
        headers={"X-CSRF-Token": alice.csrf, **HEADERS["en"]},
    )
    assert english.json() == {"detail": "Only supervisors may do this."}
    forged = alice.client.post(
        "/console/api/approvals/1/approve", json={}, headers={"X-CSRF-Token": "forged", **HEADERS["zh"]}
    )
    assert forged.status_code == 403 and CJK.search(forged.json()["detail"])
    # The API under /api is for programs: English whatever the browser says.
    api = alice.client.get(
        "/api/tickets/T-000000-00000", headers={"Authorization": "Bearer wrong", **HEADERS["zh"]}
    )
    assert api.status_code == 401 and not CJK.search(api.text)


def test_the_language_switch_stores_the_agents_choice_and_returns_to_the_page(
    people: dict[str, Console], db_factory: sessionmaker[Session]
) -> None:
    sue = people["sue"]
    page = sue.get("/console/reports", headers=HEADERS["en"]).text
    assert 'action="/console/language"' in page and ">中文</button>" in page
    switched = sue.client.post(
        "/console/language",
        data={"csrf_token": sue.csrf, "language": "zh", "return_to": "/console/reports?month=2026-11"},
    )
    assert switched.status_code == 303 and switched.headers["location"] == "/console/reports?month=2026-11"
    with session_scope(db_factory) as session:
        assert session.scalars(select(Agent.language).where(Agent.username == sue.username)).one() == "zh"
    # Her choice wins over her browser's English from now on.
    assert "客户投诉月报表" in sue.get("/console/reports", headers=HEADERS["en"]).text
    # Without the page's token nothing changes; a return address off the console goes to the queue.
    assert sue.client.post("/console/language", data={"language": "en"}).status_code == 403
    away = sue.client.post(
        "/console/language",
        data={"csrf_token": sue.csrf, "language": "en", "return_to": "https://evil.example/"},
    )
    assert away.headers["location"] == "/console"
    assert "Monthly complaint report" in sue.get("/console/reports", headers=HEADERS["zh"]).text


def test_a_language_picked_on_the_login_page_becomes_the_agents(
    app: Any, db_factory: sessionmaker[Session], agent: tuple[str, str]
) -> None:
    from tests.backend.console.clients import client_for, login_form

    with client_for(app, headers=HEADERS["zh"]) as client:
        page = client.get("/console/login?lang=en")
        assert "Log in" in page.text and 'action="/console/login?lang=en"' in page.text
        field, token = login_form(client, "/console/login?lang=en")
        done = client.post(
            "/console/login?lang=en", data={"username": agent[0], "password": agent[1], field: token}
        )
        assert done.status_code == 303
        assert "Queue" in client.get("/console").text
    with session_scope(db_factory) as session:
        assert session.scalars(select(Agent.language).where(Agent.username == agent[0])).one() == "en"


def _csv_rows(content: bytes) -> list[list[str]]:
    assert content.startswith(codecs.BOM_UTF8)
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def test_the_csv_files_are_written_in_the_supervisors_language(
    people: dict[str, Console], db_factory: sessionmaker[Session], busy_console: dict[str, Any]
) -> None:
    sue = people["sue"]
    names = names_of(db_factory)  # the top customers are named as stored
    tickets = _csv_rows(sue.get("/console/reports/tickets.csv", headers=HEADERS["zh"]).content)
    header = tickets[0]
    assert header[:3] == ["工单编号", "类型", "创建时间"]
    rows = [dict(zip(header, row, strict=True)) for row in tickets[1:]]
    assert "投诉" in {row["类型"] for row in rows}
    assert {"货物破损", "延误", "丢件或少件", "计费问题"} <= {row["投诉类别"] for row in rows}
    assert {"等待客户回复", "已分配专人", "已转交人工"} & {row["状态"] for row in rows}
    # Every column of codes is in words (the shippers' and agents' own text is theirs).
    coded = [TICKET_COLUMNS.index(name) for name in CODED_COLUMNS]
    for row in tickets[1:]:
        assert latin_words(" ".join(row[i] for i in coded)) == [], row
    report = _csv_rows(sue.get("/console/reports.csv", headers=HEADERS["zh"]).content)
    assert report[0] == ["月份", "表", "项目", "数值", "单位"]
    for row in report[1:]:
        assert latin_words(without_names(" ".join(row[1:3] + row[4:]), names)) == [], row
    english = _csv_rows(sue.get("/console/reports.csv", headers=HEADERS["en"]).content)
    assert english[0] == ["Month", "Table", "Label", "Value", "Unit"]
    assert not any(CJK.search(" ".join(row)) for row in english)
