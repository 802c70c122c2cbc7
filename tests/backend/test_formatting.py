"""backend.formatting: money, weights, day counts, dates and times as shippers and agents read them."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from backend.formatting import (
    clock_text,
    day_text,
    days_text,
    format_cny,
    format_kg,
    local_time_text,
    moment_text,
    record_time_text,
)

TZ = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 11, 25)  # a Wednesday
# 16:30 UTC on the 24th is 00:30 on the 25th in Shanghai.
AFTER_MIDNIGHT = datetime(2026, 11, 24, 16, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (Decimal("36"), "36.00 CNY"),
        (Decimal("84.005"), "84.01 CNY"),
        (180, "180.00 CNY"),
        ("3000", "3,000.00 CNY"),
        (0.1, "0.10 CNY"),
    ],
)
def test_format_cny(amount: Decimal | int | str | float, text: str) -> None:
    assert format_cny(amount) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("12.00"), "12 kg"),
        (Decimal("2.50"), "2.5 kg"),
        (Decimal("100"), "100 kg"),
        (3, "3 kg"),
        (None, "unknown weight"),
    ],
)
def test_format_kg(value: Decimal | int | None, text: str) -> None:
    assert format_kg(value) == text


@pytest.mark.parametrize(("n", "text"), [(0, "0 days"), (1, "1 day"), (2, "2 days")])
def test_days_text(n: int, text: str) -> None:
    assert days_text(n) == text


@pytest.mark.parametrize(
    ("day", "text"),
    [
        (date(2026, 11, 25), "today"),
        (date(2026, 11, 24), "yesterday"),
        (date(2026, 11, 26), "tomorrow"),
        (date(2026, 11, 20), "Fri 20 Nov"),
        (date(2026, 12, 1), "Tue 1 Dec"),
    ],
)
def test_day_text(day: date, text: str) -> None:
    assert day_text(day, TODAY) == text


def test_times_are_written_on_the_carriers_clock() -> None:
    assert moment_text(AFTER_MIDNIGHT, TZ, TODAY) == "today at 00:30"
    assert moment_text(AFTER_MIDNIGHT, "Asia/Shanghai", TODAY) == "today at 00:30"
    assert local_time_text(AFTER_MIDNIGHT, TZ) == "Wed 25 Nov at 00:30"
    assert local_time_text(AFTER_MIDNIGHT, "Asia/Shanghai") == "Wed 25 Nov at 00:30"
    assert record_time_text(AFTER_MIDNIGHT, TZ) == "2026-11-25 00:30"
    assert clock_text(AFTER_MIDNIGHT, TZ) == "00:30"
