"""The conversation page in the agent's language: every label, status, verb, scan and time, zh and en."""

from __future__ import annotations

import re
import uuid
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.security.accounts import create_agent
from tests.backend.console.clients import Console, client_for, log_in
from tests.backend.factories import escalated
from tests.text_checks import latin_words

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
# What the scan leaves out: what people wrote (the transcript, notes, the shipper's own words) is theirs;
# colleagues' names and key caps (<kbd>Ctrl</kbd>) are names.
NOT_OURS = {"text", "button-chip", "note-text", "person"}


class PageText(HTMLParser):
    """The visible text (and placeholders, alt texts) inside `div.conversation`, minus NOT_OURS."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[bool, bool]] = []  # (inside the conversation, skipped) per open element
        self.parts: list[str] = []

    def _state(self) -> tuple[bool, bool]:
        return self.stack[-1] if self.stack else (False, False)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        inside, skipped = self._state()
        values = dict(attrs)
        classes = set((values.get("class") or "").split())
        inside = inside or (tag == "div" and "conversation" in classes)
        skipped = skipped or bool(classes & NOT_OURS) or tag in {"script", "textarea", "kbd"}
        if inside and not skipped:
            self.parts.extend(str(values[a]) for a in ("placeholder", "alt") if values.get(a))
        if tag not in VOID:
            self.stack.append((inside, skipped))

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        inside, skipped = self._state()
        if inside and not skipped and data.strip():
            self.parts.append(data.strip())


def page_text(html: str, *names: str) -> str:
    parser = PageText()
    parser.feed(html)
    text = " ".join(parser.parts)
    for name in names:  # people's and customers' names are data, not words to translate
        text = text.replace(name, " ")
    return text


def title(html: str) -> str:
    found = re.search(r"<title>(.*?)</title>", html, re.S)
    assert found
    return " ".join(found.group(1).split())


def agent_named(app: FastAPI, factory: sessionmaker[Session], display_name: str, language: str) -> Console:
    username, password = f"agent-{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex}"
    with session_scope(factory) as session:
        create_agent(session, username=username, password=password, role="agent", display_name=display_name)
    client = client_for(app, headers={"Accept-Language": language})
    client.__enter__()
    return Console(client, log_in(client, (username, password)), username)


def worked(app: FastAPI, factory: sessionmaker[Session], name: str, language: str) -> tuple[Any, str, str]:
    """A queued complaint that `name` claimed, noted and set to wait for the shipper: (agent, cid, number)."""
    cid, number = escalated(factory)
    agent = agent_named(app, factory, name, language)
    assert agent.post(f"/console/api/conversations/{cid}/claim").status_code == 200
    assert agent.post(f"/console/api/conversations/{cid}/notes", {"text": "打过电话 called"}).status_code in (
        200,
        201,
    )
    form = {"csrf_token": agent.csrf, "conversation_id": cid, "ticket_status": "waiting_customer"}
    assert agent.client.post(f"/console/tickets/{number}", data=form).status_code == 303
    return agent, cid, number


def customer_name(agent: Console, cid: str) -> str:
    detail = agent.get(f"/console/api/conversations/{cid}").json()
    return str(detail["customer"]["name"]) if detail["customer"] else ""


@pytest.mark.parametrize("accept", ["zh-CN,zh;q=0.9,en;q=0.5", ""])
def test_the_conversation_page_is_chinese_for_a_chinese_agent(
    app: FastAPI, db_factory: sessionmaker[Session], accept: str
) -> None:
    agent, cid, number = worked(app, db_factory, "李伟", accept)
    try:
        page = agent.get(f"/console/conversations/{cid}")
        assert page.status_code == 200
        text = page_text(page.text, customer_name(agent, cid))
        assert latin_words(text) == [], text
        # The words are there, in Chinese: who holds it, the status, the verbs, the record's scans.
        assert "李伟 处理中" in text and 'id="claim-form"' not in page.text
        assert '<option value="waiting_customer" selected>等待客户回复</option>' in page.text
        assert "李伟: 接手了会话" in text and "李伟: 添加了备注" in text
        assert "运单 EA100000034CN" in text and "武汉" in text and "转运中心" in text
        assert "投诉 · 等待客户回复 · P3" in text
        # The tab names the shipper (or the waybill) and the ticket, never the internal id.
        assert number in title(page.text) and cid not in title(page.text)
    finally:
        agent.client.__exit__(None, None, None)


def test_the_conversation_page_is_english_for_an_english_agent(
    app: FastAPI, db_factory: sessionmaker[Session]
) -> None:
    agent, cid, number = worked(app, db_factory, "Li Wei", "en-GB,en;q=0.9")
    try:
        page = agent.get(f"/console/conversations/{cid}")
        text = page_text(page.text)
        assert not re.search(r"[\u4e00-\u9fff]", page_text(page.text, "中文")), text
        assert "with Li Wei" in text and "Li Wei: claimed the conversation" in text
        assert "Li Wei: added a note" in text
        waiting = '<option value="waiting_customer" selected>waiting for the customer</option>'
        assert waiting in page.text
        assert "Shipment EA100000034CN" in text and "Wuhan" in text
        assert "Complaint · waiting for the customer · P3" in text
        assert number in title(page.text) and cid not in title(page.text)
    finally:
        agent.client.__exit__(None, None, None)
