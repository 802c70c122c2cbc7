"""Issue 15 (points 2-4 and the junk test): shippers who phrase things their own way still get there.

Over Rasa's REST channel with the trained model: a message meant for another kind of assistant opens
no ticket and gets the main paths as buttons, each of which starts its path when pressed (the payload
sent as the channel sends it); a tracking request without a number asks for the waybill; a question
about a late shipment is answered, with an apology and the OFFER of a complaint, and nothing is
registered until the shipper accepts; junk opens nothing. None of these sentences is in bot/data.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Talk
from tests.e2e.conversation import COMPLAINT_STEPS, assert_clean, said
from tools.stack import Stack

pytestmark = pytest.mark.e2e

PATHS = ["/track_shipment", "/complain", "/request_human"]
# The complaint form's questions and summary in Chinese (domain.yml, the action's summary).
ZH_COMPLAINT_STEPS = ("哪一票", "发生了什么", "什么时候", "怎么处理", "照片", "价值", "正确吗")


def send(stack: Stack, sender: str, message: str) -> list[dict[str, Any]]:
    response = httpx.post(
        f"{stack.rasa_url}/webhooks/rest/webhook",
        json={"sender": sender, "message": message},
        headers=stack.rest_headers,
        timeout=60,
    )
    response.raise_for_status()
    return list(response.json())


def buttons(replies: list[dict[str, Any]]) -> list[str]:
    return [button["payload"] for reply in replies for button in reply.get("buttons") or []]


def tickets(api: httpx.Client, sender: str) -> list[dict[str, Any]]:
    return list(api.get("/api/tickets", params={"conversation_id": sender}).json()["tickets"])


@pytest.mark.parametrize(
    "message",
    [
        "please set an alarm for 8:10 tomorrow morning",
        "text my sister that I'll be home late tonight",
        "给我定个明天早上6点40的闹钟",
        "给姐姐发短信说我今晚晚点回去",
        "厦门明天天气怎么样",
        "帮我换到江苏卫视",
    ],
)
def test_another_assistants_request_opens_nothing_and_offers_the_paths(
    stack: Stack, sender: str, api: httpx.Client, message: str
) -> None:
    replies = send(stack, sender, message)
    assert_clean([reply.get("text", "") for reply in replies])
    assert buttons(replies) == PATHS, replies
    assert tickets(api, sender) == []


@pytest.mark.parametrize("language_hint", ["set an alarm for 7:20 please", "帮我定个七点二十的闹钟"])
def test_each_offered_path_starts_when_pressed(stack: Stack, api: httpx.Client, language_hint: str) -> None:
    expected = {
        "/track_shipment": ["waybill number", "运单号"],
        "/complain": [*COMPLAINT_STEPS, *ZH_COMPLAINT_STEPS],
        "/request_human": ["colleague", "person", "客服", "同事"],
    }
    senders = {payload: f"rest:{uuid.uuid4()}" for payload in PATHS}
    for payload, sender in senders.items():
        assert buttons(send(stack, sender, language_hint)) == PATHS
        replies = [reply.get("text", "") for reply in send(stack, sender, payload)]
        assert_clean(replies)
        assert any(word in said(replies) for word in expected[payload]), (payload, replies)
    # Only the press for a person opened a ticket: the alarm and the other presses opened none.
    assert [ticket["kind"] for ticket in tickets(api, senders["/request_human"])] == ["handoff"]
    assert tickets(api, senders["/track_shipment"]) == []


@pytest.mark.parametrize(
    "message",
    [
        "could you look into a delivery I'm waiting for",
        "when is the stuff I bought going to show up?",
        "帮我看看我网购的东西到哪了",
        "我订的货啥时候能到",
    ],
)
def test_a_tracking_request_without_a_number_asks_for_the_waybill(
    talk: Talk, sender: str, message: str
) -> None:
    replies = talk(sender, message)
    assert_clean(replies)
    assert "waybill number" in said(replies) or "运单号" in said(replies), replies


@pytest.mark.parametrize(
    ("question", "accept"),
    [
        ("It was supposed to arrive two days ago, where is it?", "yes please"),
        ("这票件前天就应该到了，现在到哪了？", "好的"),
    ],
)
def test_a_question_about_a_late_shipment_is_answered_and_a_complaint_only_offered(
    talk: Talk, sender: str, api: httpx.Client, question: str, accept: str
) -> None:
    asked = talk(sender, question)
    assert_clean(asked)
    assert "waybill number" in said(asked) or "运单号" in said(asked), asked
    answered = talk(sender, "EA100000034CN")
    assert_clean(answered)
    assert "wuhan" in said(answered) or "武汉" in said(answered), answered
    assert "sorry" in said(answered) or "抱歉" in said(answered), answered
    assert "register a complaint" in said(answered) or "投诉" in said(answered), answered
    assert tickets(api, sender) == []
    started = talk(sender, accept)
    assert_clean(started)
    assert any(
        step in said(started) for step in (*COMPLAINT_STEPS, "发生了什么", "什么时候", "希望", "对吗")
    ), started


@pytest.mark.parametrize("junk", ["EA" * 40, "EAEAEA " * 12, "啊" * 50, "lol " * 30])
def test_junk_opens_no_ticket(talk: Talk, sender: str, api: httpx.Client, junk: str) -> None:
    replies = talk(sender, junk)
    assert_clean(replies)
    assert not any(step in said(replies) for step in COMPLAINT_STEPS), replies
    assert tickets(api, sender) == []
