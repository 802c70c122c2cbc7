from __future__ import annotations

import pytest

from backend.phones import find_phone_in_text, mask_phone, normalise_phone


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+86 138 0000 0002", "+8613800000002"),
        ("13800000002", "+8613800000002"),
        ("138-0000-0002", "+8613800000002"),
        ("0086 138 0000 0002", "+8613800000002"),
        ("86 13800000002", "+8613800000002"),
        ("(+86) 138.0000.0002", "+8613800000002"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+1 (415) 555-0100", "+14155550100"),
        ("+8613800000002", "+8613800000002"),
        ("008613800000002", "+8613800000002"),
        ("8613800000002", "+8613800000002"),
        ("１３８－００００－０００２", "+8613800000002"),  # full-width digits and dashes
        ("＋８６ １３８ ００００ ０００２", "+8613800000002"),
        ("138\u30000000\u30000002", "+8613800000002"),  # ideographic spaces
        ("+86 (0)771 234 5678", "+867712345678"),  # trunk prefix written after the country code
        ("0771-2345678", "+867712345678"),  # a Nanning landline with its area code
        ("  139 1234 5678  ", "+8613912345678"),
    ],
)
def test_normalise_phone(text: str, expected: str) -> None:
    assert normalise_phone(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "12345",
        "1380000000",
        "138000000021",
        "+86 12800000000",
        "EA100000017CN",
        "",
        "phone",
        "1-800-FLOWERS",
        "我的电话",
        "+44 12",
    ],
)
def test_normalise_phone_rejects(text: str) -> None:
    assert normalise_phone(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my number is 138 0000 0003, thanks", "+8613800000003"),
        ("call +86-138-0000-0004.", "+8613800000004"),
        ("手机13800000001", "+8613800000001"),
        ("我的电话13800000003", "+8613800000003"),
        ("我的电话是13800000003，麻烦尽快联系", "+8613800000003"),
        ("电话：138-0000-0003", "+8613800000003"),
        ("手机号 +86 138 0000 0003 谢谢", "+8613800000003"),
        ("联系0086 138 0000 0003", "+8613800000003"),
        ("我手机１３８０００００００３", "+8613800000003"),  # full-width digits
        ("单号EA100000034CN，电话13800000003", "+8613800000003"),  # the waybill is skipped
        ("EA100000034CN 13800000003", "+8613800000003"),
        ("first 138 0000 0005 then 138 0000 0006", "+8613800000005"),
    ],
)
def test_find_phone_in_text(text: str, expected: str) -> None:
    assert find_phone_in_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "waybill EA100000017CN",
        "ticket T-202611-00001",
        "on 2026-11-22 at 14:30",
        "ea 1000 0001 7 cn",
        "单号ea 1000 0002 5 cn到哪了",
        "EA100000025CN到哪了",
        "货值3000元，运费180块",
        "11月20日 14:05 送到",
        "电话12800000000",  # no Chinese mobile starts with 12
        "",
    ],
)
def test_find_phone_ignores_other_numbers(text: str) -> None:
    assert find_phone_in_text(text) is None


def test_mask_phone_keeps_the_last_four_digits() -> None:
    assert mask_phone("+8613800000003") == "*********0003"
    assert mask_phone("123") == "****"
    assert mask_phone(None) == "****"
