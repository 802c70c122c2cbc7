"""Proactive notices end to end on Telegram: the carrier's system pushes a scan to /api/v1, and every chat
that asked about that waybill hears of it once, in its own language; "stop updates" stops them.

The real stack (trained model, Rasa, the action server, the backend serving Telegram by webhook against
a fake Bot API server) with quiet hours off, so the test does not depend on the hour it runs at (quiet
hours are tested with a movable clock in tests/backend/services/test_notices.py).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone

import httpx
import pytest

from tests.e2e.conftest import start_stack, telegram_env
from tests.e2e.conversation import Chat, Telegram, texts
from tests.fakes.telegram_api import FakeBotApi
from tools.stack import ROOT, Stack

pytestmark = pytest.mark.e2e

WAYBILL = "EA100000025CN"  # C003 Lin Mei, Nanning → Shanghai, in transit and on schedule
EN_NOTICE = f"Update on your shipment {WAYBILL}"
ZH_NOTICE = f"您的运单 {WAYBILL} 有新动态"


@pytest.fixture(scope="module")
def telegram(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Telegram]:
    secret = secrets.token_urlsafe(24)
    with FakeBotApi() as api:
        env = telegram_env(api, "webhook", secret=secret)
        env.update(QUIET_HOURS="off", NOTICE_WATCH_INTERVAL_S="0.5")
        running = start_stack(tmp_path_factory.mktemp("notices"), env)
        try:
            yield Telegram("webhook", api, running, secret)
        finally:
            running.stop()


def shipments_token(stack: Stack) -> str:
    """A token made the way the carrier's administrator makes one: `python -m backend create-token`."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "backend",
            "--url",
            stack.database_url,
            "create-token",
            f"tms-{uuid.uuid4().hex[:8]}",
            "--scope",
            "shipments:write",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def push_scan(stack: Stack, token: str, *, event_id: str, status: str, location: str, code: str) -> int:
    """The carrier's TMS posts one tracking scan; the HTTP status (201 new, 200 replay)."""
    response = httpx.post(
        f"{stack.backend_url}/api/v1/shipments/{WAYBILL}/events",
        json={
            "event_id": event_id,
            "occurred_at": datetime.now(timezone.utc).isoformat(),
            "code": code,
            "location": location,
            "description": f"{code.replace('_', ' ').title()} at {location}",
            "status": status,
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code in (200, 201), response.text
    return response.status_code


def nothing_more(chat: Chat, mark: int, *, seconds: float = 4.0) -> None:
    """No message reaches the chat for a while (the watch runs every half second)."""
    time.sleep(seconds)
    assert texts(chat.tg.api.sent(chat.id)[mark:]) == []


def test_a_scan_reaches_the_chats_that_asked_once_each_in_their_language(telegram: Telegram) -> None:
    english, chinese, stranger = telegram.new_chat(), telegram.new_chat(), telegram.new_chat()
    english.say(f"hi, where is {WAYBILL}?", expect="Shanghai")
    chinese.say(f"{WAYBILL} 到哪了？", expect="上海")
    stranger.say("hello")
    marks = {chat.id: len(telegram.api.sent(chat.id)) for chat in (english, chinese, stranger)}
    token = shipments_token(telegram.backend)

    held = f"held-{uuid.uuid4().hex[:8]}"
    assert (
        push_scan(telegram.backend, token, event_id=held, status="held", location="Changsha hub", code="HELD")
        == 201
    )
    [en] = texts(english.wait(after=marks[english.id], expect=EN_NOTICE))
    assert en.startswith(f"{EN_NOTICE}: it is held at Changsha hub since ")
    assert en.endswith('Reply "stop updates" to stop these messages.')
    [zh] = texts(chinese.wait(after=marks[chinese.id], expect=ZH_NOTICE))
    assert "长沙转运中心" in zh and zh.endswith("回复“退订”即可不再接收此类消息。")
    assert texts(telegram.api.sent(stranger.id)[marks[stranger.id] :]) == []

    # The same scan replayed, and a second scan with the same news: nobody hears anything new.
    marks = {chat.id: len(telegram.api.sent(chat.id)) for chat in (english, chinese)}
    assert (
        push_scan(telegram.backend, token, event_id=held, status="held", location="Changsha hub", code="HELD")
        == 200
    )
    again = f"held-{uuid.uuid4().hex[:8]}"
    assert (
        push_scan(
            telegram.backend, token, event_id=again, status="held", location="Changsha hub", code="HELD"
        )
        == 201
    )
    nothing_more(english, marks[english.id])
    nothing_more(chinese, marks[chinese.id], seconds=0)

    # The English shipper stops them; the next news reaches only the Chinese one.
    english.say("please stop the updates", expect="won't send you shipment updates")
    marks = {chat.id: len(telegram.api.sent(chat.id)) for chat in (english, chinese)}
    ofd = f"ofd-{uuid.uuid4().hex[:8]}"
    assert (
        push_scan(
            telegram.backend,
            token,
            event_id=ofd,
            status="out_for_delivery",
            location="Shanghai",
            code="OUT_FOR_DELIVERY",
        )
        == 201
    )
    [zh_ofd] = texts(chinese.wait(after=marks[chinese.id], expect=ZH_NOTICE))
    assert "开始派送" in zh_ofd
    nothing_more(english, marks[english.id], seconds=2)
