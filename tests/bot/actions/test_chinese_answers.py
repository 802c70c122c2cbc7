"""Answers in the shipper's language: the language slot, and the actions' texts in Chinese.

English stays exactly as before (the other action tests compare it byte for byte); here a tracker
whose `language` slot is zh gets Chinese, with dates, weights and money written the Chinese way.
"""

from __future__ import annotations

import asyncio
import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from backend import i18n
from backend.complaints.analysis import _force_majeure
from backend.complaints.remedies import build_ladder
from backend.complaints.signals import read_signals
from backend.complaints.sla import WORKING_WEEK
from backend.complaints.wording import after_hours_text, calm_message
from backend.config import carrier_tz
from backend.domain import PHOTO_FOR_BOT
from backend.seed import demo_shipments
from bot.actions.complaint_texts import record_facts_text
from bot.actions.complaints import (
    ActionAcceptRemedy,
    ActionAnalyseComplaint,
    ActionComplaintSummary,
    ActionStartComplaint,
    ActionStopComplaint,
)
from bot.actions.handoff import ActionEscalate
from bot.actions.language import ValidatePredefinedSlots
from bot.actions.replies import STOCK_REPLIES
from bot.actions.shipment_text import shipment_answer
from bot.actions.shipments import ActionAnswerShipment, ActionDeclineOffer, ActionFindByPhone
from bot.language_slot import message_language
from tests.bot.trackers import make_tracker, new_sender, run, shipment
from tests.text_checks import latin_words

ZH = {"language": "zh"}
SH = ZoneInfo("Asia/Shanghai")
CHINESE = re.compile(r"[\u4e00-\u9fff]")
DELAY_STORY_ZH = "EA100000034CN两天前就应该到北京了，也没有人通知我"


def zh_tracker(text: str, **kwargs: Any) -> Any:
    slots = {**ZH, **kwargs.pop("slots", {})}
    return make_tracker(text, slots=slots, **kwargs)


def chinese_only(texts: list[str]) -> None:
    """Every text is Chinese, with no Latin word but codes and units (the record's own data aside)."""
    assert texts
    for text in texts:
        assert CHINESE.search(text), text


# --- the language slot -------------------------------------------------------------------------------


def extract(text: str, *, previous: str | None = None, metadata: dict[str, Any] | None = None) -> Any:
    tracker = make_tracker(text, slots={"language": previous})
    tracker.latest_message["metadata"] = metadata or {}
    action = ValidatePredefinedSlots()
    return asyncio.run(action.run(CollectingDispatcher(), tracker, {"slots": {"language": {}}}))


@pytest.mark.parametrize(
    ("text", "previous", "metadata", "language"),
    [
        ("我的快递到哪了", None, {}, "zh"),
        ("where is my parcel", "zh", {}, "en"),  # the shipper switched
        ("EA100000034CN到哪了", "en", {}, "zh"),  # switched back, mixed scripts
        ("EA100000034CN", "zh", {}, "zh"),  # a bare waybill keeps the language
        ("138 0000 0003", None, {"language": "zh"}, "zh"),  # the hub's language as the hint
        ("👍", None, {}, "en"),
        ("/affirm", "zh", {"button": True, "language": "zh"}, "zh"),  # a button's payload is no language
        (PHOTO_FOR_BOT, "zh", {"attachments": 1}, "zh"),  # the hub's words for a photo
    ],
)
def test_the_language_slot_follows_every_message(
    text: str, previous: str | None, metadata: dict[str, Any], language: str
) -> None:
    assert extract(text, previous=previous, metadata=metadata) == [SlotSet("language", language)]


def test_the_hubs_photo_stand_in_is_no_language() -> None:
    assert message_language(PHOTO_FOR_BOT, {}, None) == "en"


def test_the_domain_declares_the_slot_and_its_action() -> None:
    domain = yaml.safe_load((i18n.LOCALE_DIR.parents[1] / "domain.yml").read_text(encoding="utf-8"))
    slot = domain["slots"]["language"]
    assert (slot["type"], slot["values"], slot["influence_conversation"]) == (
        "categorical",
        ["en", "zh"],
        False,
    )
    assert slot["mappings"] == [{"type": "custom"}]
    assert "action_validate_slot_mappings" in domain["actions"]
    assert ValidatePredefinedSlots().name() == "action_validate_slot_mappings"


# --- formats -------------------------------------------------------------------------------------------


def test_chinese_formats_of_dates_times_weights_and_money() -> None:
    friday = date(2026, 11, 20)
    moment = datetime(2026, 11, 20, 6, 5, tzinfo=timezone.utc)  # 14:05 in Shanghai
    assert i18n.local_time_text(moment, SH, "zh") == "11月20日 周五 14:05"
    assert i18n.moment_text(moment, SH, friday, "zh") == "今天 14:05"
    assert i18n.day_text(friday, friday + timedelta(days=1), "zh") == "昨天"
    assert i18n.day_text(friday, friday - timedelta(days=3), "zh") == "11月20日 周五"
    assert i18n.full_date_text(friday, "zh") == "2026年11月20日"
    assert i18n.money_text(Decimal("180"), "zh") == "180.00 元"
    assert i18n.money_text(3000, "zh") == "3,000.00 元"
    assert i18n.weight_text(Decimal("2.50"), "zh") == "2.5 公斤"
    assert i18n.days_text(2, "zh") == "2天"


def test_english_formats_are_unchanged() -> None:
    friday = date(2026, 11, 20)
    moment = datetime(2026, 11, 20, 6, 5, tzinfo=timezone.utc)
    assert i18n.local_time_text(moment, SH, "en") == "Fri 20 Nov at 14:05"
    assert i18n.moment_text(moment, SH, friday, "en") == "today at 14:05"
    assert i18n.money_text(Decimal("180"), "en") == "180.00 CNY"
    assert i18n.weight_text(Decimal("2.50"), "en") == "2.5 kg"
    assert i18n.days_text(1, "en") == "1 day"


# --- shipment answers --------------------------------------------------------------------------------


def test_a_chinese_shipper_gets_the_status_in_chinese(today: date) -> None:
    events, texts = run(ActionAnswerShipment(), zh_tracker("EA100000034CN到哪了", intent="track_shipment"))
    assert SlotSet("waybill", "EA100000034CN") in events
    answer, offer = texts
    promised = i18n.day_text(today - timedelta(days=2), today, "zh")
    assert answer.startswith(
        "EA100000034CN（南宁 → 北京）：目前被暂扣。最新扫描：仍暂扣在武汉转运中心：发往北京的干线运力不足"
        "（武汉转运中心，昨天 09:00）。"
    )
    assert f"承诺送达时间为{promised}，目前已延误2天。" in answer
    assert answer.endswith("我们会安排最早的一班车发运，并随时告知您进展。")
    assert offer == "非常抱歉给您带来不便。需要我为您登记投诉，以便我们妥善处理吗？"


def test_the_offer_buttons_are_chinese() -> None:
    dispatcher = CollectingDispatcher()
    asyncio.run(
        ActionAnswerShipment().run(dispatcher, zh_tracker("EA100000034CN", intent="track_shipment"), {})
    )
    assert dispatcher.messages[-1]["buttons"] == [
        {"title": "好的，麻烦了", "payload": "/affirm"},
        {"title": "不用了，谢谢", "payload": "/deny"},
    ]


@pytest.mark.parametrize(
    ("text", "slots"),
    [
        ("我的快递到哪了", {}),  # asks for the number
        ("EA100000035CN", {}),  # mistyped check digit
        ("EA1000000", {}),  # incomplete
        ("EA100000999CN", {}),  # not found (valid shape, unknown)
    ],
)
def test_shipment_questions_without_an_answer_are_chinese(text: str, slots: dict[str, Any]) -> None:
    _, texts = run(ActionAnswerShipment(), zh_tracker(text, intent="track_shipment", slots=slots))
    chinese_only(texts)
    assert all(latin_words(t) == [] for t in texts), texts


def test_find_by_phone_and_decline_speak_chinese() -> None:
    _, asked = run(ActionFindByPhone(), zh_tracker("用手机号查", intent="find_by_phone", sender_id="web:x1"))
    assert asked == ["好的。请问您账户登记的手机号是多少？例如 +86 139 1234 5678。"]
    _, declined = run(ActionDeclineOffer(), zh_tracker("不用了", intent="deny"))
    assert declined == ["好的，不登记投诉。如有任何变化，我会及时通知您。请问还有什么需要我帮您查询的吗？"]


# --- the complaint script ------------------------------------------------------------------------------


def start_zh(sender: str, text: str = DELAY_STORY_ZH) -> tuple[dict[str, Any], list[str]]:
    tracker = zh_tracker(text, intent="complain", sender_id=sender, message_id="zh-1")
    events, texts = run(ActionStartComplaint(), tracker)
    slots = {**ZH, **{e["name"]: e["value"] for e in events if e.get("event") == "slot"}}
    return slots, texts


def test_the_calm_message_apologises_and_thanks_first_in_chinese() -> None:
    for anger in range(4):
        for seed in range(3):
            text = calm_message("delay", anger, seed=seed, language="zh")
            assert text.startswith(("非常抱歉", "真的非常抱歉", "我们诚恳地", "我们深"))
            assert "感谢您" in text and "不知道" not in text.replace("不知道快递什么时候能到", "")
    assert calm_message("delay", 0, seed=0, language="en") == calm_message("delay", 0, seed=0)


def test_a_chinese_complaint_is_calmed_summarised_offered_and_registered(today: date) -> None:
    sender = new_sender()
    slots, calmed = start_zh(sender)
    assert slots["complaint_waybill"] == "EA100000034CN" and slots["complaint_category"] == "delay"
    anger = read_signals(DELAY_STORY_ZH).anger
    assert calmed == [calm_message("delay", anger, seed="zh-1", language="zh")]
    slots["complaint_wants"] = "refund"
    _, summary = run(ActionComplaintSummary(), zh_tracker("", sender_id=sender, slots=slots))
    [text] = summary
    assert text.startswith("我跟您确认一下：\n- 快递：EA100000034CN\n- 我们的记录：")
    assert (
        f"- 您的描述：“{DELAY_STORY_ZH}”" in text
        and "- 问题类型：快递延误" in text
        and "- 您希望：退款" in text
        and text.endswith("请问以上信息正确吗？")
    )
    events, offered = run(
        ActionAnalyseComplaint(), zh_tracker("对", intent="affirm", sender_id=sender, slots=slots)
    )
    slots.update({e["name"]: e["value"] for e in events if e.get("event") == "slot"})
    assert offered == [
        "我可以为您提供以下方案：非常抱歉您的快递延误了。我们会优先处理，每一步进展都会及时告知您；"
        "为表歉意，您还将获得一张36.00 元的优惠券，可用于下次寄件。请问您能接受吗？"
    ]
    number = slots["ticket_number"]
    _, accepted = run(
        ActionAcceptRemedy(), zh_tracker("好的", intent="affirm", sender_id=sender, slots=slots)
    )
    assert accepted == [
        f"感谢您。您的投诉已登记，编号为{number}。接下来：我们会落实双方商定的方案，并在这里随时告知您进展；"
        f"处理完成后，我们会回访您的满意度。您可以随时向我查询{number}的处理进度。"
    ]


def test_stop_and_escalate_speak_chinese(now: datetime) -> None:
    sender = new_sender()
    _, stopped = run(ActionStopComplaint(), zh_tracker("算了", intent="stop", sender_id=sender))
    assert stopped[0].startswith("好的，我已停止，没有登记任何内容。")
    events, handed = run(ActionEscalate(), zh_tracker("转人工", intent="request_human", sender_id=sender))
    [text] = handed
    assert text.startswith("好的，我现在为您转接人工客服（参考编号T-")
    assert "（北京时间）前在这里回复您。" in text and latin_words(text) == []


def test_after_hours_in_chinese() -> None:
    sunday = datetime(2026, 11, 22, 4, 0, tzinfo=timezone.utc)  # Sunday noon in Shanghai
    assert (
        after_hours_text(WORKING_WEEK, sunday, "zh")
        == "我们的客服团队在工作日9:00-18:00上班（法定节假日除外），将从11月23日 周一 09:00开始处理您的消息。"
    )
    monday = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)  # Monday 10:00: the team is at work
    assert after_hours_text(WORKING_WEEK, monday, "zh") is None


# --- stock replies ----------------------------------------------------------------------------------


def test_stock_replies_take_the_chinese_variations() -> None:
    domain = yaml.safe_load((i18n.LOCALE_DIR.parents[1] / "domain.yml").read_text(encoding="utf-8"))
    greet = next(reply for reply in STOCK_REPLIES if reply.response == "utter_greet")()
    dispatcher = CollectingDispatcher()
    asyncio.run(greet.run(dispatcher, zh_tracker("你好", intent="greet"), domain))
    assert dispatcher.messages[0]["text"].startswith("您好！")
    dispatcher = CollectingDispatcher()
    asyncio.run(greet.run(dispatcher, make_tracker("hi", intent="greet"), domain))
    assert dispatcher.messages[0]["text"].startswith("Hello!")


# --- the record's own words ----------------------------------------------------------------------------

DEMO_WAYBILLS = sorted(demo_shipments(date(2026, 11, 25), SH))
ASPECTS = ("status", "signed_by", "eta", "delay_reason")


@pytest.mark.parametrize("waybill", DEMO_WAYBILLS)
def test_every_demo_shipment_reaches_a_chinese_shipper_in_chinese(waybill: str, today: date) -> None:
    """Places, scans, reasons, notes and signer roles in Chinese; only codes, units and names stay Latin."""
    view = shipment(waybill)
    tz = carrier_tz()
    texts = [shipment_answer(view, aspect, tz=tz, today=today, language="zh") for aspect in ASPECTS]
    texts.append(record_facts_text(view, "zh"))
    for text in texts:
        assert CHINESE.search(text) and latin_words(text) == [], text


@pytest.mark.parametrize("waybill", DEMO_WAYBILLS)
@pytest.mark.parametrize(
    "category", ["delay", "loss", "damage", "wrong_delivery", "billing", "missed_pickup"]
)
def test_every_offer_about_a_demo_shipment_is_chinese(waybill: str, category: str, now: datetime) -> None:
    view = shipment(waybill)
    for responsibility in ("carrier", "customer", "third_party", "force_majeure", "unclear"):
        ladder = build_ladder(
            category=category,
            shipment=view,
            responsibility=responsibility,
            days_late=view.days_late,
            force_majeure=_force_majeure(view),
            declared_value=view.declared_value,
            photo_status=None,
            false_signature=category == "wrong_delivery",
            pickup_pending=view.status == "pickup_missed",
            zone=carrier_tz(),
        )
        for remedy in ladder:
            assert latin_words(remedy.text("zh")) == [], remedy.text("zh")


def test_english_keeps_the_records_own_words(today: date) -> None:
    view = shipment("EA100000034CN")
    answer = shipment_answer(view, "status", tz=carrier_tz(), today=today)
    assert answer.startswith(
        "EA100000034CN (Nanning → Beijing): It is held. Last scan: Still held at Wuhan hub: capacity "
        "shortage on the Beijing linehaul (Wuhan hub, yesterday at 09:00)."
    )
