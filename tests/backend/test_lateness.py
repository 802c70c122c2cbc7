"""The one lateness rule (backend.lateness), and that the service and the analysis both follow it."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from backend.domain import SHIPMENT_STATUSES
from backend.lateness import days_late, days_past_promise

TZ = ZoneInfo("Asia/Shanghai")  # UTC+8, no daylight saving
TODAY = date(2026, 11, 25)
UNDELIVERED = tuple(s for s in SHIPMENT_STATUSES if s != "delivered")


def past(
    status: str, promised: date | None, delivered_at: datetime | None = None, today: date = TODAY
) -> int | None:
    return days_past_promise(status, promised, delivered_at, today=today, tz=TZ)


def late(
    status: str, promised: date | None, delivered_at: datetime | None = None, today: date = TODAY
) -> int:
    return days_late(status, promised, delivered_at, today=today, tz=TZ)


@pytest.mark.parametrize("status", UNDELIVERED)
def test_undelivered_shipments_count_from_today_in_every_state(status: str) -> None:
    assert late(status, date(2026, 11, 23)) == 2
    assert past(status, date(2026, 11, 23)) == 2


def test_a_returned_shipment_past_its_promise_is_late() -> None:
    # The known bug: a return promised two days ago was "on schedule".
    assert late("returned", date(2026, 11, 23)) == 2


@pytest.mark.parametrize("status", ["in_transit", "held", "out_for_delivery"])
def test_due_today_is_not_late(status: str) -> None:
    assert past(status, TODAY) == 0
    assert late(status, TODAY) == 0


def test_not_yet_due_is_negative_before_and_zero_late() -> None:
    assert past("in_transit", date(2026, 11, 28)) == -3
    assert late("in_transit", date(2026, 11, 28)) == 0


def test_delivered_late_keeps_its_lateness_whatever_today_is() -> None:
    delivered = datetime(2026, 11, 24, 6, 0, tzinfo=timezone.utc)  # 14:00 on the 24th in Shanghai
    assert late("delivered", date(2026, 11, 22), delivered) == 2
    assert late("delivered", date(2026, 11, 22), delivered, today=date(2026, 12, 31)) == 2


def test_delivered_on_or_before_the_promise_is_on_time() -> None:
    delivered = datetime(2026, 11, 22, 6, 0, tzinfo=timezone.utc)
    assert past("delivered", date(2026, 11, 22), delivered) == 0
    assert past("delivered", date(2026, 11, 24), delivered) == -2
    assert late("delivered", date(2026, 11, 24), delivered) == 0


def test_no_promised_date_is_unknown_and_not_late() -> None:
    assert past("in_transit", None) is None
    assert late("in_transit", None) == 0
    assert past("delivered", None, datetime(2026, 11, 24, tzinfo=timezone.utc)) is None


def test_delivered_without_a_delivery_time_is_unknown() -> None:
    assert past("delivered", date(2026, 11, 20)) is None
    assert late("delivered", date(2026, 11, 20)) == 0


def test_delivery_just_after_local_midnight_counts_on_the_local_day() -> None:
    # 16:30 UTC on the 22nd is 00:30 on the 23rd in Shanghai: one day after a promise for the 22nd.
    just_after = datetime(2026, 11, 22, 16, 30, tzinfo=timezone.utc)
    assert late("delivered", date(2026, 11, 22), just_after) == 1
    # 15:59 UTC is 23:59 local, still on the promised day.
    just_before = datetime(2026, 11, 22, 15, 59, tzinfo=timezone.utc)
    assert late("delivered", date(2026, 11, 22), just_before) == 0


def test_a_naive_delivery_time_is_read_as_utc() -> None:
    assert late("delivered", date(2026, 11, 22), datetime(2026, 11, 22, 16, 30)) == 1
