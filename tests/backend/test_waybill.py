from __future__ import annotations

import pytest

from backend.waybill import (
    WaybillCheck,
    check_digit,
    find_in_text,
    looks_like_waybill,
    make_waybill,
    normalise,
    validate,
    without_waybills,
)
from tests.backend.factories import DEMO_WAYBILLS


@pytest.mark.parametrize("waybill", DEMO_WAYBILLS)
def test_demo_numbers_are_valid(waybill: str) -> None:
    assert validate(waybill) == WaybillCheck("valid", waybill)
    assert make_waybill(waybill[:2], int(waybill[2:10]), waybill[11:]) == waybill


def test_check_digit_worked_example() -> None:
    # 1*8 + 0 + ... + 1*9 + 7*7 = 66; 66 mod 11 = 0; 11 - 0 = 11 -> 5.
    assert check_digit("10000001") == 7
    assert check_digit("10000015") == 3
    assert check_digit("00000000") == 5


@pytest.mark.parametrize("bad", ["1234567", "123456789", "1234567a", ""])
def test_check_digit_rejects_bad_serials(bad: str) -> None:
    with pytest.raises(ValueError):
        check_digit(bad)


def test_unknown_but_valid_and_mistyped() -> None:
    assert validate("EA100000153CN").status == "valid"
    assert validate("EA100000018CN").status == "mistyped"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ea 1000 0001 7 cn", "EA100000017CN"),
        ("EA-100000017-CN", "EA100000017CN"),
        ("ea.100.000.017.cn", "EA100000017CN"),
        ("  Ea100000017cN ", "EA100000017CN"),
        ("".join(chr(ord(ch) + 0xFEE0) for ch in "EA100000017CN"), "EA100000017CN"),  # full-width
    ],
)
def test_normalise(text: str, expected: str) -> None:
    assert normalise(text) == expected
    assert validate(text).status == "valid"


@pytest.mark.parametrize(
    "text", ["EA10000001CN", "E100000017CN", "EA100000017C", "hello", "", "T-202611-00001"]
)
def test_malformed(text: str) -> None:
    assert validate(text).status == "malformed"


@pytest.mark.parametrize(
    ("text", "status", "value"),
    [
        ("tracking ea 1000 0002 5 cn pls", "valid", "EA100000025CN"),
        ("EA-100000025-CN", "valid", "EA100000025CN"),
        ("ea100000025cn?", "valid", "EA100000025CN"),
        ("where is EA100000018CN", "mistyped", "EA100000018CN"),
        ("first EA100000018CN, no wait, EA100000017CN", "valid", "EA100000017CN"),
        ("运单号EA100000034CN还没到", "valid", "EA100000034CN"),
        ("my number is EA10000002CN", "malformed", "EA10000002CN"),
        ("it's ea 1000 0000 25 cn", "malformed", "EA1000000025CN"),
    ],
)
def test_find_in_text(text: str, status: str, value: str) -> None:
    assert find_in_text(text) == WaybillCheck(status, value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "my phone is +86 138 0000 0002",
        "13800000002",
        "ticket T-202611-00001 please",
        "where is my parcel?",
        "order 12345678 today",
        "",
    ],
)
def test_find_in_text_ignores_non_waybills(text: str) -> None:
    assert find_in_text(text) is None


def test_make_waybill_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        make_waybill("E", 1)
    with pytest.raises(ValueError):
        make_waybill("EA", 10**8)


@pytest.mark.parametrize(
    "text",
    [
        "EA100000034CN",
        "it's ea 1000 0003 4 cn",
        "我的ＥＡ１００００００３４ＣＮ还没到",
        "EA100000034 is late",
        "EA 100000",
    ],
)
def test_a_number_a_shipper_means_as_a_waybill_looks_like_one(text: str) -> None:
    assert looks_like_waybill(text)


@pytest.mark.parametrize(
    "text",
    ["ticket T-202611-00001", "call 13800000002", "EA1234 or so", "I PAID 500 CNY!!", "DEADBEEF1234567"],
)
def test_other_numbers_and_words_do_not_look_like_a_waybill(text: str) -> None:
    assert not looks_like_waybill(text)


def test_without_waybills_cuts_every_waybill_out_and_keeps_the_words() -> None:
    assert without_waybills("EA100000034CN and ea 1000 0006 5 cn are both late").split() == [
        "and",
        "are",
        "both",
        "late",
    ]
