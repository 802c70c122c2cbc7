"""Business-hours calendar for complaint service levels.

Targets (DOMAIN.md), counted in business time: P1 2 business hours, P2 4, P3 the same business day, P4
2 business days (with the default 09:00-18:00 day, 18 business hours). P3's "same business day": a
complaint that comes in during business hours is due at that day's closing time; one that comes in
outside them is due at the closing time of the next business day to open (before opening on a working
morning, that is the same day). DOMAIN.md gives one target for the first human response and for the
resolution; `resolution_due` says so in one place, should they ever part.

Days off are a `holidays` container (any set of dates). A `HolidayCalendar` is such a container for a
country's public holidays (the `holidays` package: mainland China by default) and also knows the
make-up working days (调休) that China moves onto weekends around long holidays. The package ships each
year's schedule once the State Council publishes it (usually November or December of the year before);
until the installed version has it, statutory holidays of that year are known but the moved days are
not: add them with HOLIDAYS_EXTRA and WORKDAYS_EXTRA (backend.config) or upgrade the package.

Arithmetic is done on the local wall clock of the carrier's time zone, then converted back to UTC.
"""

from __future__ import annotations

from collections.abc import Collection, Container
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as holiday_data

DEFAULT_TZ = "Asia/Shanghai"
DEFAULT_START_HOUR = 9
DEFAULT_END_HOUR = 18
DEFAULT_BUSINESS_DAYS: tuple[int, ...] = (0, 1, 2, 3, 4)
DEFAULT_HOLIDAY_COUNTRY = "CN"
SLA_BUSINESS_HOURS = {"P1": 2, "P2": 4}
SAME_BUSINESS_DAY = frozenset({"P3"})
SLA_BUSINESS_DAYS = {"P4": 2}


@lru_cache(maxsize=64)
def _country_days(country: str, year: int) -> tuple[frozenset[date], frozenset[date]]:
    """(days off, make-up working days) of one country in one year, from the holidays package."""
    # The neighbouring years too: a make-up day can fall in the year before its holiday (31 Dec for 1 Jan).
    data = holiday_data.country_holidays(country, years=range(year - 1, year + 2), categories=("public",))
    days_off = frozenset(day for day in data if day.year == year)
    workdays = frozenset(day for day in getattr(data, "weekend_workdays", ()) if day.year == year)
    return days_off, workdays


@dataclass(frozen=True)
class HolidayCalendar:
    """Public holidays of a country (mainland China by default) plus local additions; a container of days off.

    `day in calendar` is True on a day off. Make-up working days (weekend days that are working days)
    are answered by `is_make_up_workday`; the sla functions ask it whenever they are given a calendar.
    """

    country: str | None = DEFAULT_HOLIDAY_COUNTRY
    extra_days_off: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()

    def __contains__(self, day: object) -> bool:
        if not isinstance(day, date):
            return False
        if day in self.extra_days_off:
            return True
        if day in self.extra_workdays:
            return False
        return bool(self.country) and day in _country_days(str(self.country), day.year)[0]

    def is_make_up_workday(self, day: date) -> bool:
        """True on a weekend day that is a working day (China's 调休), unless it is a day off here too."""
        if day in self.extra_workdays:
            return True
        if day in self.extra_days_off or not self.country:
            return False
        return day in _country_days(self.country, day.year)[1]


NO_HOLIDAYS = HolidayCalendar(country=None)


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


def is_business_day(day: date, *, business_days: Collection[int], holidays: Container[date] = ()) -> bool:
    """Whether people work on this local date: a business weekday or a make-up working day, not a day off."""
    if day in holidays:
        return False
    if day.weekday() in business_days:
        return True
    return isinstance(holidays, HolidayCalendar) and holidays.is_make_up_workday(day)


def is_business_hours(
    now: datetime,
    *,
    tz: str = DEFAULT_TZ,
    start_hour: int = DEFAULT_START_HOUR,
    end_hour: int = DEFAULT_END_HOUR,
    business_days: Collection[int] = DEFAULT_BUSINESS_DAYS,
    holidays: Container[date] = (),
) -> bool:
    """Whether a person is at work at this moment."""
    _check(now, start_hour, end_hour, business_days)
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    day = local.date()
    if not is_business_day(day, business_days=business_days, holidays=holidays):
        return False
    return _local_at(day, start_hour, zone) <= local < _local_at(day, end_hour, zone)


def next_opening(
    now: datetime,
    *,
    tz: str = DEFAULT_TZ,
    start_hour: int = DEFAULT_START_HOUR,
    end_hour: int = DEFAULT_END_HOUR,
    business_days: Collection[int] = DEFAULT_BUSINESS_DAYS,
    holidays: Container[date] = (),
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
        if is_business_day(day, business_days=business_days, holidays=holidays):
            return _local_at(day, start_hour, zone).astimezone(timezone.utc)
        day += timedelta(days=1)
    raise ValueError("no business day within a year")


def sla_hours(
    priority: str, *, start_hour: int = DEFAULT_START_HOUR, end_hour: int = DEFAULT_END_HOUR
) -> int:
    """The longest target of a priority in business hours (P3, the same business day: one whole day)."""
    if priority in SLA_BUSINESS_HOURS:
        return SLA_BUSINESS_HOURS[priority]
    if priority in SAME_BUSINESS_DAY:
        return end_hour - start_hour
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
    holidays: Container[date] = (),
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


def end_of_business_day(
    start: datetime,
    *,
    tz: str = DEFAULT_TZ,
    start_hour: int = DEFAULT_START_HOUR,
    end_hour: int = DEFAULT_END_HOUR,
    business_days: Collection[int] = DEFAULT_BUSINESS_DAYS,
    holidays: Container[date] = (),
) -> datetime:
    """Closing time of the business day in progress at `start`, else of the next one to open, in UTC."""
    zone = ZoneInfo(tz)
    opening = next_opening(
        start, tz=tz, start_hour=start_hour, end_hour=end_hour, business_days=business_days, holidays=holidays
    ).astimezone(zone)
    return _local_at(opening.date(), end_hour, zone).astimezone(timezone.utc)


def sla_due(
    start: datetime,
    priority: str,
    *,
    tz: str = DEFAULT_TZ,
    start_hour: int = DEFAULT_START_HOUR,
    end_hour: int = DEFAULT_END_HOUR,
    business_days: Collection[int] = DEFAULT_BUSINESS_DAYS,
    holidays: Container[date] = (),
) -> datetime:
    """When the first human response is due for a complaint of this priority, in UTC."""
    if priority in SAME_BUSINESS_DAY:
        return end_of_business_day(
            start,
            tz=tz,
            start_hour=start_hour,
            end_hour=end_hour,
            business_days=business_days,
            holidays=holidays,
        )
    return add_business_hours(
        start,
        sla_hours(priority, start_hour=start_hour, end_hour=end_hour),
        tz=tz,
        start_hour=start_hour,
        end_hour=end_hour,
        business_days=business_days,
        holidays=holidays,
    )


def resolution_due(
    start: datetime,
    priority: str,
    *,
    tz: str = DEFAULT_TZ,
    start_hour: int = DEFAULT_START_HOUR,
    end_hour: int = DEFAULT_END_HOUR,
    business_days: Collection[int] = DEFAULT_BUSINESS_DAYS,
    holidays: Container[date] = (),
) -> datetime:
    """When a complaint of this priority should be resolved, in UTC: DOMAIN.md's one target, as sla_due."""
    return sla_due(
        start,
        priority,
        tz=tz,
        start_hour=start_hour,
        end_hour=end_hour,
        business_days=business_days,
        holidays=holidays,
    )
