"""Every DEMO_DATA shipment asked about over the REST channel, answered with the facts of its record."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Talk
from tests.e2e.conversation import assert_clean, said

pytestmark = pytest.mark.e2e


# (how a shipper might ask, the facts the answer must contain)
SCENARIOS = [
    ("where is EA100000025CN?", ["ea100000025cn", "changsha", "on schedule"]),
    ("tracking ea 1000 0002 5 cn pls", ["ea100000025cn", "changsha"]),
    ("status of EA100000017CN", ["delivered", "li wei", "14:05", "on time"]),
    ("EA100000034CN hasn't arrived, where is it", ["wuhan", "capacity", "2 days late", "complaint"]),
    ("can u check ea100000048cn", ["typhoon", "1 day late"]),
    ("what's going on with EA-100000051-CN", ["guiyang", "missing", "trace"]),
    ("EA100000065CN status please", ["delivered", "yesterday", "kunming"]),
    ("where's my parcel EA100000079CN", ["front desk", "not by the recipient"]),
    ("shipment EA100000082CN?", ["pickup", "missed"]),
    ("check EA100000096CN for me", ["12 kg", "5 kg", "144.00"]),
    ("EA100000105CN where", ["delivered", "yesterday", "neighbouring building"]),
    ("track EA100000119CN", ["out for delivery", "1 day late"]),
    ("whats the status of ea100000122cn", ["out for delivery", "due today"]),
    ("EA100000136CN ??", ["returned", "phone number"]),
    ("where is EA100000140CN now", ["customs", "commercial invoice"]),
]


@pytest.mark.parametrize(("message", "facts"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_every_demo_shipment_is_answered_with_its_facts(
    talk: Talk, sender: str, message: str, facts: list[str]
) -> None:
    replies = talk(sender, message)
    assert_clean(replies)
    for fact in facts:
        assert fact in said(replies), f"{fact!r} missing from {replies}"


def test_on_time_shipments_get_no_complaint_offer(talk: Talk, sender: str) -> None:
    replies = talk(sender, "where is EA100000025CN?")
    assert "complaint" not in said(replies)


def test_a_wrong_check_digit_is_called_mistyped(talk: Talk, sender: str) -> None:
    replies = talk(sender, "where is my shipment EA100000018CN")
    assert_clean(replies)
    assert "mistyped" in said(replies)


def test_an_incomplete_number_is_explained(talk: Talk, sender: str) -> None:
    replies = talk(sender, "can you track EA10000002CN")
    assert_clean(replies)
    assert "complete waybill number" in said(replies)


def test_a_valid_unknown_number_is_not_found_with_next_steps(talk: Talk, sender: str) -> None:
    replies = talk(sender, "track EA100000153CN please")
    assert_clean(replies)
    text = said(replies)
    assert "couldn't find" in text and "phone number" in text


def test_asked_without_a_number_then_given_it(talk: Talk, sender: str) -> None:
    first = talk(sender, "hi, where is my package?")
    assert "waybill number" in said(first)
    second = talk(sender, "EA100000017CN")
    assert "li wei" in said(second)


def test_who_signed_and_follow_up_on_the_same_shipment(talk: Talk, sender: str) -> None:
    replies = talk(sender, "who signed for EA100000017CN")
    assert "li wei" in said(replies)
    later = talk(sender, "and when was it delivered?")
    assert_clean(later)
    assert "ea100000017cn" in said(later)


def test_why_late_gives_the_reason(talk: Talk, sender: str) -> None:
    replies = talk(sender, "why is EA100000034CN so late??")
    assert_clean(replies)
    assert "capacity" in said(replies)


def test_find_shipments_by_phone_once_a_waybill_proves_the_account(talk: Talk, sender: str) -> None:
    first = talk(sender, "I don't have my tracking number, can you find my shipments by phone?")
    assert "phone number" in said(first)
    # A phone number alone lists nothing: anyone can type one (DOMAIN: privacy of the account).
    asked = said(talk(sender, "+86 138 0000 0002"))
    assert "waybill number of one shipment" in asked and "ea100000096cn" not in asked
    replies = talk(sender, "EA100000017CN")
    assert_clean(replies)
    text = said(replies)
    for waybill in ("ea100000017cn", "ea100000034cn", "ea100000079cn", "ea100000096cn"):
        assert waybill in text


def test_a_waybill_of_another_account_lists_nothing(talk: Talk, sender: str) -> None:
    talk(sender, "+86 138 0000 0002")
    text = said(talk(sender, "EA100000025CN"))
    assert "changsha" in text  # the shipment's own facts, as for anyone who holds its number
    assert "can't list" in text and "ea100000096cn" not in text and "138" not in text


def test_out_of_scope_gets_a_polite_answer_with_capabilities(talk: Talk, sender: str) -> None:
    replies = talk(sender, "can you recommend a good restaurant for dinner tonight?")
    assert_clean(replies)
    assert "shipment" in said(replies) or "track" in said(replies)


@pytest.mark.parametrize(
    "message", ["", "   ", "🙂🙂🙂", "<b>hello</b><script>alert(1)</script>", "x" * 5000]
)
def test_odd_input_gets_a_clean_answer(talk: Talk, sender: str, message: str) -> None:
    replies = talk(sender, message)
    assert_clean(replies)
