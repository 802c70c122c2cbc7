"""The complaint form's answers in Chinese (bot/actions/complaint_parsing.py), beside the English ones."""

from __future__ import annotations

import pytest

from bot.actions.complaint_parsing import (
    UNSPECIFIED,
    correction_fields,
    parse_category,
    parse_photo,
    parse_value,
    parse_wants,
    says_no_number,
    says_no_phone,
    says_unknown,
)


@pytest.mark.parametrize(
    "text",
    ["没有单号", "没单号", "单号忘了", "单号找不到了", "不知道", "忘了", "忘记了", "不记得了", "木有单号"],
)
def test_no_number(text: str) -> None:
    assert says_no_number(text)


@pytest.mark.parametrize(
    "text",
    ["EA100000025CN", "ＥＡ１００００００２５ＣＮ", "单号是EA100000025CN", "好的"],
)
def test_a_number_or_a_yes_is_not_no_number(text: str) -> None:
    assert not says_no_number(text)


@pytest.mark.parametrize("text", ["不知道", "不清楚", "不确定", "忘了", "记不清了", "说不准"])
def test_unknown(text: str) -> None:
    assert says_unknown(text)
    assert parse_value(text) == "unknown"


@pytest.mark.parametrize(
    "text",
    ["稍后", "稍后发", "晚点发", "等下", "等会儿拍给你", "明天发图", "没有照片", "现在没法拍"],
)
def test_photo_later(text: str) -> None:
    assert parse_photo(text) == "later"


@pytest.mark.parametrize("text", ["发了", "照片发你了", "已上传"])
def test_photo_received(text: str) -> None:
    assert parse_photo(text) == "received"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("800元", "800"),
        ("三千块", "3000"),
        ("1.2万", "12000"),
        ("两千元左右", "2000"),
        ("八百", "800"),
        ("大概一千五", "1500"),
        ("1500左右", "1500"),
        ("１５００", "1500"),
        ("¥1,200", "1200"),
        ("about 2k", "2000"),
    ],
)
def test_value(text: str, value: str) -> None:
    parsed = parse_value(text)
    assert parsed is not None and float(parsed) == float(value)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("延误", "delay"),
        ("太慢了", "delay"),
        ("破损", "damage"),
        ("摔坏了", "damage"),
        ("丢了", "loss"),
        ("东西不见了", "loss"),
        ("送错", "wrong_delivery"),
        ("没来取", "missed_pickup"),
        ("多收费", "billing"),
        ("态度差", "staff_conduct"),
        ("其他", "other"),
    ],
)
def test_category(text: str, category: str) -> None:
    assert parse_category(text) == category


@pytest.mark.parametrize(
    ("text", "wants"),
    [
        ("退款", "refund"),
        ("我要退运费", "refund"),
        ("赔偿", "compensation"),
        ("赔我损失", "compensation"),
        ("重新派送", "redelivery"),
        ("再送一次", "redelivery"),
        ("道歉", "apology"),
        ("补发", "replacement"),
        ("换一个", "replacement"),
        ("只是反映一下", "report_only"),
        ("不用了", UNSPECIFIED),
        ("随便", UNSPECIFIED),
        ("你们看着办", UNSPECIFIED),
        ("不知道", UNSPECIFIED),
    ],
)
def test_wants(text: str, wants: str) -> None:
    assert parse_wants(text) == wants


def test_an_unknown_chinese_wish_is_kept_in_the_customer_words() -> None:
    assert parse_wants("让你们领导给我打个电话") == "让你们领导给我打个电话"


@pytest.mark.parametrize("text", ["我没有手机号", "电话忘了", "不记得电话号码"])
def test_no_phone(text: str) -> None:
    assert says_no_phone(text)


@pytest.mark.parametrize("text", ["没有单号，用手机号查吧", "用电话查", "13800000003"])
def test_searching_by_phone_is_not_no_phone(text: str) -> None:
    assert not says_no_phone(text)


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        ("单号不对", ["complaint_waybill"]),
        ("金额错了", ["complaint_value"]),
        ("时间不对，是前天", ["complaint_when"]),
        ("不是退款是赔偿", ["complaint_wants"]),
        ("类型选错了", ["complaint_category"]),
    ],
)
def test_correction_fields(text: str, fields: list[str]) -> None:
    assert correction_fields(text) == fields


def test_english_answers_read_as_before() -> None:
    assert says_no_number("i don't have the number") and not says_no_number("EA100000025CN")
    assert parse_photo("later") == "later" and parse_photo("sent it") == "received"
    assert parse_value("1500") == "1500" and parse_value("2k") == "2000"
    assert parse_wants("refund please") == "refund" and parse_wants("no") == UNSPECIFIED
    assert parse_category("it's broken") == "damage"
