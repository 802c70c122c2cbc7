"""A Chinese-speaking shipper on Telegram (`language_code: zh-hans`), end to end (issue 9).

Real Rasa with the trained bilingual model, the real action server and backend, Telegram over real
HTTP against a fake Bot API. Every DEMO_DATA shipment answered with its facts in Chinese, every complaint
scenario ending in a ticket with the same category, level and priority as the English run, a request
for a person, a conversation that switches language, and not one English word in a Chinese reply
beyond waybill numbers, ticket numbers and units. The stack is this module's own, so no earlier test's
complaint makes a waybill's second complaint serious.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import telegram_stack
from tests.e2e.conversation import Chat, Telegram, assert_clean, texts
from tests.fakes.telegram_api import FakeBotApi, text_update
from tests.text_checks import latin_words
from tools.stack import Stack

pytestmark = pytest.mark.e2e

CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def zh_api() -> Iterator[FakeBotApi]:
    with FakeBotApi() as api:
        yield api


@pytest.fixture(scope="module")
def zh_stack(tmp_path_factory: pytest.TempPathFactory, zh_api: FakeBotApi) -> Iterator[Stack]:
    with telegram_stack(Path(tmp_path_factory.mktemp("chinese")), zh_api) as running:
        yield running


@pytest.fixture(scope="module")
def tg(zh_stack: Stack, zh_api: FakeBotApi) -> Telegram:
    return Telegram("webhook", zh_api, zh_stack, zh_stack.extra_env["TELEGRAM_WEBHOOK_SECRET"])


class ZhChat:
    """A shipper whose Telegram is set to Simplified Chinese."""

    def __init__(self, tg: Telegram, language_code: str = "zh-hans") -> None:
        self.tg, self.id, self.language_code = tg, random.randint(10**9, 8 * 10**9), language_code

    def say(self, text: str, *, expect: str | tuple[str, ...] | None = None, chinese: bool = True) -> str:
        mark = len(self.tg.api.sent(self.id))
        self.tg.push(text_update(self.id, text, language_code=self.language_code))
        replies = texts(self.tg.api.wait_for_messages(self.id, after=mark, expect=expect))
        assert_clean(replies)
        joined = " ".join(replies)
        if chinese:
            assert_chinese(replies)
        wanted = (expect,) if isinstance(expect, str) else expect or ()
        assert not wanted or any(w.lower() in joined.lower() for w in wanted), (text, expect, replies)
        return joined

    def tickets(self) -> list[dict[str, Any]]:
        return Chat(self.tg, self.id).tickets()


def assert_chinese(replies: list[str]) -> None:
    """Each reply is Chinese, with no Latin word but waybill and ticket numbers, units and quoted names."""
    for reply in replies:
        assert CHINESE.search(reply), f"not Chinese: {reply!r}"
        assert latin_words(reply) == [], f"English in a Chinese reply: {latin_words(reply)} in {reply!r}"


# (how a Chinese shipper asks, a fact of the record the answer must carry)
SHIPMENT_QUESTIONS: list[tuple[str, str | tuple[str, ...]]] = [
    ("EA100000017CN谁签收的", "签收"),
    ("我的快递EA100000025CN到哪了", "长沙"),
    ("ＥＡ１００００００２５ＣＮ到哪里了？", "长沙"),
    ("单号ea 1000 0002 5 cn 现在在哪", "长沙"),
    ("EA100000034CN咋还没到", "武汉"),
    ("EA100000048CN为什么还没到", "台风"),
    ("EA100000051CN到哪了", "贵阳"),
    ("EA100000065CN送到了吗", "签收"),
    ("EA100000079CN是谁签收的", "前台"),
    ("EA100000082CN什么时候来取件", ("取件", "揽收")),
    ("查一下EA100000096CN", "12"),
]


@pytest.mark.parametrize(("question", "fact"), SHIPMENT_QUESTIONS, ids=[q for q, _ in SHIPMENT_QUESTIONS])
def test_every_demo_shipment_in_chinese(tg: Telegram, question: str, fact: str | tuple[str, ...]) -> None:
    ZhChat(tg).say(question, expect=fact)


def finish_complaint(chat: ZhChat, answers: list[tuple[str, str | tuple[str, ...] | None]]) -> None:
    for answer, expect in answers:
        chat.say(answer, expect=expect)


# Each DEMO_DATA complaint scenario in Chinese, and the ticket the English run of it gets
# (tests/e2e/test_complaints.py).
COMPLAINTS = [
    (
        "delay",
        [
            ("EA100000034CN说好前天到北京的，到现在都没到，也没人通知我！！！", None),
            ("我要退款", "正确吗"),
            ("对", None),
            ("好的，可以", "T-"),
        ],
        {"category": "delay", "level": "general", "priority": "P3", "status": "open"},
    ),
    (
        "force majeure",
        [
            ("EA100000048CN怎么还没到，我要投诉", None),
            ("尽快送到就行", "正确吗"),
            ("是的", None),
            ("行", "T-"),
        ],
        {"category": "delay", "level": "expectation", "priority": "P4", "status": "open"},
    ),
    (
        "loss",
        [
            ("EA100000051CN一个多星期都没有物流信息了，是不是丢了？我要投诉", None),
            ("赔偿", "正确吗"),
            ("对的", ("同事", "人工")),
        ],
        {"category": "loss", "level": "serious", "priority": "P1", "status": "escalated"},
    ),
    (
        "damage",
        [
            ("EA100000065CN收到的时候花瓶碎了，气死我了", None),
            ("陶瓷花瓶，全碎了", "照片"),
            ("稍后再发照片", None),
            ("我要赔偿", "正确吗"),
            ("对", "400"),
            ("好的", "T-"),
        ],
        {"category": "damage", "level": "general", "priority": "P3", "status": "open"},
    ),
    (
        "wrong delivery",
        [
            ("EA100000079CN显示已经签收了，但是我们根本没收到！谁签的？", None),
            ("赶紧找回来送给我们", "正确吗"),
            ("对", ("同事", "人工")),
        ],
        {"category": "wrong_delivery", "level": "serious", "priority": "P1", "status": "escalated"},
    ),
    (
        "missed pickup",
        [
            ("约好今天来取件EA100000082CN，等了一下午都没人来", None),
            ("明天上午来取", "正确吗"),
            ("对", None),
            ("可以", "T-"),
        ],
        {"category": "missed_pickup", "level": "general", "priority": "P2", "status": "open"},
    ),
    (
        "billing",
        [
            ("EA100000096CN报价60元，结果收了我144元，东西才5公斤，多收费了", None),
            ("把多收的钱退给我", "正确吗"),
            ("对", "84"),
            ("好的，谢谢", "T-"),
        ],
        {"category": "billing", "level": "general", "priority": "P3", "status": "open"},
    ),
]


@pytest.mark.parametrize(("name", "turns", "ticket"), COMPLAINTS, ids=[name for name, _, _ in COMPLAINTS])
def test_every_complaint_scenario_in_chinese(
    tg: Telegram, name: str, turns: list[tuple[str, Any]], ticket: dict[str, str]
) -> None:
    chat = ZhChat(tg)
    finish_complaint(chat, turns)
    (opened,) = chat.tickets()
    assert {key: opened[key] for key in ticket} == ticket, opened
    assert opened["language"] == "zh"


def test_a_person_asked_for_in_chinese(tg: Telegram) -> None:
    chat = ZhChat(tg)
    chat.say("转人工", expect=("同事", "人工"))
    (handoff,) = chat.tickets()
    assert handoff["kind"] == "handoff" and handoff["language"] == "zh"


def test_a_number_left_for_a_call_back_reaches_a_person(tg: Telegram) -> None:
    # A phone number pulls the classifier toward a search by phone; a call back is a handoff all the same.
    chat = ZhChat(tg)
    chat.say("麻烦让客服回个电话给我，号码 139-1234-5678", expect=("同事", "人工"))
    (handoff,) = chat.tickets()
    assert handoff["kind"] == "handoff" and handoff["language"] == "zh"


def test_the_language_follows_the_shipper(tg: Telegram) -> None:
    chat = ZhChat(tg, language_code="en")
    english = chat.say("where is EA100000025CN?", expect="Changsha", chinese=False)
    assert not CHINESE.search(english)
    chat.say("那它什么时候能到？", expect="EA100000025CN")
    english = chat.say("ok thanks", chinese=False)
    assert not CHINESE.search(english)


def test_the_telegram_language_decides_a_bare_waybill(tg: Telegram) -> None:
    ZhChat(tg).say("EA100000025CN", expect="长沙")
