"""Business-hours calendar for complaint service levels.

Targets (DOMAIN.md): P1 2 business hours, P2 4, P3 8 (the same business day when the complaint comes
in early enough), P4 2 business days (with the default 09:00-18:00 day, 18 business hours). A start
outside business hours counts from the next opening. Arithmetic is done on the local wall clock of
the carrier's time zone, then converted back to UTC.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

DEFAULT_TZ = "Asia/Shanghai"
DEFAULT_START_HOUR = 9
DEFAULT_END_HOUR = 18
DEFAULT_BUSINESS_DAYS: tuple[int, ...] = (0, 1, 2, 3, 4)
SLA_BUSINESS_HOURS = {"P1": 2, "P2": 4, "P3": 8}
SLA_BUSINESS_DAYS = {"P4": 2}


def _check(now: datetime, start_hour: int, end_hour: int, business_days: Collection[int]) -> None:
    """Refuse naive times and calendars without any opening hours."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("times must be timezone-aware (UTC)")
    if not 0 <= start_hour < end_hour <= 24:
        raise ValueError(f"bad business hours {start_hour}-{end_hour}")
    if not business_days or not set(business_days) <= set(range(7)):
        raise ValueError(f"bad business days {business_days!r}")


def _local_at(day: date, hour: int, zone: ZoneInfo) -> datetime:
    """A wall-clock hour of a local day (24 means the end of the day)."""
    return datetime.combine(day, time(0), tzinfo=zone) + timedelta(hours=hour)


def is_business_hours(
    now: datetime,
    *,
    tz: str = DEFAULT_TZ,
    start_hour: int = DEFAULT_START_HOUR,
    end_hour: int = DEFAULT_END_HOUR,
    business_days: Collection[int] = DEFAULT_BUSINESS_DAYS,
    holidays: Collection[date] = (),
) -> bool:
    """Whether a person is at work at this moment."""
    _check(now, start_hour, end_hour, business_days)
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    day = local.date()
    if day.weekday() not in business_days or day in holidays:
        return False
    return _local_at(day, start_hour, zone) <= local < _local_at(day, end_hour, zone)


def next_opening(
    now: datetime,
    *,
    tz: str = DEFAULT_TZ,
    start_hour: int = DEFAULT_START_HOUR,
    end_hour: int = DEFAULT_END_HOUR,
    business_days: Collection[int] = DEFAULT_BUSINESS_DAYS,
    holidays: Collection[date] = (),
) -> datetime:
    """When people are next at work, in UTC: `now` itself during business hours."""
    _check(now, start_hour, end_hour, business_days)
    if is_business_hours(
        now, tz=tz, start_hour=start_hour, end_hour=end_hour, business_days=business_days, holidays=holidays
    ):
        return now.astimezone(timezone.utc)
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    day = local.date()
    if local >= _local_at(day, start_hour, zone):
        day += timedelta(days=1)
    # Holidays can be long (Spring Festival) but never a year: the bound only guards bad input.
    for _ in range(366):
        if day.weekday() in business_days and day not in holidays:
            return _local_at(day, start_hour, zone).astimezone(timezone.utc)
        day += timedelta(days=1)
    raise ValueError("no business day within a year")


def sla_hours(
    priority: str, *, start_hour: int = DEFAULT_START_HOUR, end_hour: int = DEFAULT_END_HOUR
) -> int:
    """The target of a priority in business hours."""
    if priority in SLA_BUSINESS_HOURS:
        return SLA_BUSINESS_HOURS[priority]
    if priority in SLA_BUSINESS_DAYS:
        return SLA_BUSINESS_DAYS[priority] * (end_hour - start_hour)
    raise ValueError(f"unknown priority {priority!r}")


def add_business_hours(
    start: datetime,
    hours: float,
    *,
    tz: str = DEFAULT_TZ,
    start_hour: int = DEFAULT_START_HOUR,
    end_hour: int = DEFAULT_END_HOUR,
    business_days: Collection[int] = DEFAULT_BUSINESS_DAYS,
    holidays: Collection[date] = (),
) -> datetime:
    """The moment `hours` business hours after `start`, in UTC."""
    zone = ZoneInfo(tz)
    cursor = next_opening(
        start, tz=tz, start_hour=start_hour, end_hour=end_hour, business_days=business_days, holidays=holidays
    ).astimezone(zone)
    remaining = timedelta(hours=hours)
    while True:
        closing = _local_at(cursor.date(), end_hour, zone)
        available = closing - cursor
        if remaining <= available:
            return (cursor + remaining).astimezone(timezone.utc)
        remaining -= available
        cursor = next_opening(
            closing,
            tz=tz,
            start_hour=start_hour,
            end_hour=end_hour,
            business_days=business_days,
            holidays=holidays,
        ).astimezone(zone)


def sla_due(
    start: datetime,
    priority: str,
    *,
    tz: str = DEFAULT_TZ,
    start_hour: int = DEFAULT_START_HOUR,
    end_hour: int = DEFAULT_END_HOUR,
    business_days: Collection[int] = DEFAULT_BUSINESS_DAYS,
    holidays: Collection[date] = (),
) -> datetime:
    """When the first human response is due for a complaint of this priority, in UTC."""
    return add_business_hours(
        start,
        sla_hours(priority, start_hour=start_hour, end_hour=end_hour),
        tz=tz,
        start_hour=start_hour,
        end_hour=end_hour,
        business_days=business_days,
        holidays=holidays,
    )
