from __future__ import annotations

import pytest

from backend.phones import find_phone_in_text, normalise_phone


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
    ],
)
def test_normalise_phone(text: str, expected: str) -> None:
    assert normalise_phone(text) == expected


@pytest.mark.parametrize("text", ["12345", "1380000000", "+86 12800000000", "EA100000017CN", "", "phone"])
def test_normalise_phone_rejects(text: str) -> None:
    assert normalise_phone(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my number is 138 0000 0003, thanks", "+8613800000003"),
        ("call +86-138-0000-0004.", "+8613800000004"),
        ("手机13800000001", "+8613800000001"),
    ],
)
def test_find_phone_in_text(text: str, expected: str) -> None:
    assert find_phone_in_text(text) == expected


@pytest.mark.parametrize(
    "text", ["waybill EA100000017CN", "ticket T-202611-00001", "on 2026-11-22 at 14:30", "ea 1000 0001 7 cn"]
)
def test_find_phone_ignores_other_numbers(text: str) -> None:
    assert find_phone_in_text(text) is None
