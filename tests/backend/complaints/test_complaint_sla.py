"""Business-hours SLA arithmetic across evenings, weekends and holidays (Asia/Shanghai, 09:00-18:00)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from backend.complaints.sla import add_business_hours, is_business_hours, next_opening, sla_due, sla_hours

SH = ZoneInfo("Asia/Shanghai")


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A Shanghai wall-clock time in November 2026 (the 20th is a Friday), as UTC."""
    return datetime(2026, 11, day, hour, minute, tzinfo=SH).astimezone(timezone.utc)


@pytest.mark.parametrize(
    ("start", "priority", "due"),
    [
        # P1: 2 business hours
        (local(18, 10), "P1", local(18, 12)),  # Wednesday morning, same day
        (local(18, 17), "P1", local(19, 10)),  # one hour tonight, one tomorrow morning
        (local(18, 18), "P1", local(19, 11)),  # at closing time: counts from the next opening
        (local(18, 22), "P1", local(19, 11)),  # evening
        (local(19, 3), "P1", local(19, 11)),  # small hours
        (local(20, 17, 30), "P1", local(23, 10, 30)),  # Friday evening -> Monday
        (local(21, 12), "P1", local(23, 11)),  # Saturday -> Monday
        (local(22, 23), "P1", local(23, 11)),  # Sunday night -> Monday
        # P2: 4 business hours
        (local(18, 9), "P2", local(18, 13)),
        (local(18, 16), "P2", local(19, 11)),
        (local(20, 15), "P2", local(23, 10)),
        # P3: 8 business hours, the same day when the complaint comes in early
        (local(18, 9), "P3", local(18, 17)),
        (local(18, 10), "P3", local(18, 18)),
        (local(18, 12), "P3", local(19, 11)),
        (local(18, 7), "P3", local(18, 17)),
        (local(20, 14), "P3", local(23, 13)),
        # P4: 2 business days = 18 business hours
        (local(18, 9), "P4", local(19, 18)),
        (local(18, 10), "P4", local(20, 10)),
        (local(19, 12), "P4", local(23, 12)),
        (local(20, 20), "P4", local(24, 18)),
        (local(21, 10), "P4", local(24, 18)),
    ],
)
def test_sla_due(start: datetime, priority: str, due: datetime) -> None:
    result = sla_due(start, priority)
    assert result == due
    assert result.tzinfo is not None and result.utcoffset() == timedelta(0)


def test_sla_hours_per_priority() -> None:
    assert [sla_hours(p) for p in ("P1", "P2", "P3", "P4")] == [2, 4, 8, 18]
    assert sla_hours("P4", start_hour=8, end_hour=20) == 24
    with pytest.raises(ValueError):
        sla_hours("P9")


@pytest.mark.parametrize(
    ("moment", "open_"),
    [
        (local(18, 9), True),
        (local(18, 17, 59), True),
        (local(18, 18), False),
        (local(18, 8, 59), False),
        (local(21, 11), False),  # Saturday
        (local(22, 11), False),  # Sunday
    ],
)
def test_is_business_hours(moment: datetime, open_: bool) -> None:
    assert is_business_hours(moment) is open_


@pytest.mark.parametrize(
    ("moment", "opening"),
    [
        (local(18, 11), local(18, 11)),  # open now: now
        (local(18, 7), local(18, 9)),
        (local(18, 19), local(19, 9)),
        (local(20, 18), local(23, 9)),
        (local(21, 9), local(23, 9)),
    ],
)
def test_next_opening(moment: datetime, opening: datetime) -> None:
    assert next_opening(moment) == opening


def test_holidays_are_skipped() -> None:
    holidays = {date(2026, 11, 19)}
    assert sla_due(local(18, 17), "P1", holidays=holidays) == local(20, 10)
    assert next_opening(local(18, 20), holidays=holidays) == local(20, 9)
    assert not is_business_hours(local(19, 10), holidays=holidays)


def test_custom_calendar_and_time_zone() -> None:
    # A Saturday-working depot, 08:00-20:00.
    start = local(20, 19)
    due = sla_due(start, "P1", start_hour=8, end_hour=20, business_days=(0, 1, 2, 3, 4, 5))
    assert due == local(21, 9)
    berlin = datetime(2026, 11, 20, 17, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert sla_due(berlin, "P1", tz="Europe/Berlin").astimezone(ZoneInfo("Europe/Berlin")) == datetime(
        2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Europe/Berlin")
    )


def test_fractional_hours() -> None:
    assert add_business_hours(local(18, 17, 30), 1.5) == local(19, 10)


@pytest.mark.parametrize("bad", [datetime(2026, 11, 18, 10, 0)])
def test_naive_times_are_refused(bad: datetime) -> None:
    with pytest.raises(ValueError):
        sla_due(bad, "P1")
    with pytest.raises(ValueError):
        is_business_hours(bad)


def test_bad_calendar_is_refused() -> None:
    with pytest.raises(ValueError):
        sla_due(local(18, 10), "P1", start_hour=18, end_hour=9)
    with pytest.raises(ValueError):
        sla_due(local(18, 10), "P1", business_days=())
