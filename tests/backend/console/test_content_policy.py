"""Every console page carries a Content-Security-Policy that its own markup satisfies."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from tests.backend.console.clients import Console, client_for
from tests.backend.factories import escalated

# Inline code the policy refuses: a <script> without src (other than a JSON data block), an on…= handler,
# a javascript: link.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)
JS_URL = re.compile(r"(?:href|src|action)\s*=\s*\"\s*javascript:", re.I)


def _directives(policy: str) -> dict[str, list[str]]:
    parts = [part.split() for part in policy.split(";") if part.strip()]
    return {part[0]: part[1:] for part in parts}


def _check(response: httpx.Response) -> None:
    policy = _directives(response.headers["content-security-policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval'
    assert policy["frame-ancestors"] == ["'none'"] and policy["object-src"] == ["'none'"]
    text = response.text
    assert not INLINE_SCRIPT.findall(text), INLINE_SCRIPT.findall(text)
    assert not HANDLER.findall(text) and not JS_URL.findall(text)
    for src in re.findall(r"<script[^>]*\bsrc=\"([^\"]+)\"", text):
        assert src.startswith("/console/static/"), src  # our own origin only


def test_every_console_page_has_a_policy_its_markup_keeps(
    app: FastAPI, people: dict[str, Console], db_factory: sessionmaker[Session]
) -> None:
    cid, _ = escalated(db_factory, category="damage")
    with client_for(app) as anonymous:
        login = anonymous.get("/console/login")
        assert login.status_code == 200
        _check(login)
    sue = people["sue"]
    assert sue.post(f"/console/api/conversations/{cid}/claim").status_code == 200
    for path in ("/console", f"/console/conversations/{cid}", "/console/approvals", "/console/reports",
                 "/console/canned-replies", "/console/customers/C001"):  # fmt: skip
        for language in ("en", "zh"):
            page = sue.get(path, headers={"Accept-Language": language})
            assert page.status_code == 200, (path, page.status_code)
            _check(page)
