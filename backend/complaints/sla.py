"""Business-hours calendar for complaint service levels.

Targets (DOMAIN.md), counted in business time: P1 2 business hours, P2 4, P3 the same business day, P4
2 business days (with the default 09:00-18:00 day, 18 business hours). P3's "same business day": a
complaint that comes in during business hours is due at that day's closing time; one that comes in
outside them is due at the closing time of the next business day to open (before opening on a working
morning, that is the same day). DOMAIN.md gives one target for the first human response and for the
resolution; `resolution_due` says so in one place, should they ever part.

The calendar is one `BusinessCalendar` (time zone, opening and closing hour, working weekdays, days
off), passed to every function as one argument; WORKING_WEEK, the default, knows no public holidays.
Days off are a `holidays` container (any set of dates). A `HolidayCalendar` is such a container for a
country's public holidays (the `holidays` package: mainland China by default) and also knows the
make-up working days (调休) that China moves onto weekends around long holidays. The package ships each
year's schedule once the State Council publishes it (usually November or December of the year before);
until the installed version has it, statutory holidays of that year are known but the moved days are
not: add them with HOLIDAYS_EXTRA and WORKDAYS_EXTRA (backend.config) or upgrade the package.

Arithmetic is done on the local wall clock of the carrier's time zone, then converted back to UTC.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import holidays as holiday_data

if TYPE_CHECKING:
    from backend.config import Settings

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


@dataclass(frozen=True)
class BusinessCalendar:
    """When agents work: hours [start, end) on the given weekdays, in the carrier's time zone, minus holidays.

    The one business-hours calendar: every function of this module takes it as one argument.
    `holidays` is a container of days off; the default, HolidayCalendar(), is mainland China's public
    holidays with its make-up working days.
    """

    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo(DEFAULT_TZ))
    start_hour: int = DEFAULT_START_HOUR
    end_hour: int = DEFAULT_END_HOUR
    weekdays: frozenset[int] = frozenset(DEFAULT_BUSINESS_DAYS)
    holidays: Container[date] = field(default_factory=HolidayCalendar)

    def __post_init__(self) -> None:
        if not 0 <= self.start_hour < self.end_hour <= 24:
            raise ValueError(f"bad business hours {self.start_hour}-{self.end_hour}")
        if not self.weekdays or not set(self.weekdays) <= set(range(7)):
            raise ValueError(f"bad business days {self.weekdays!r}")

    @classmethod
    def from_settings(cls, settings: Settings) -> BusinessCalendar:
        """The calendar the settings describe."""
        return cls(
            tz=settings.tz,
            start_hour=settings.business_hours_start,
            end_hour=settings.business_hours_end,
            weekdays=settings.business_weekdays,
            holidays=settings.holiday_calendar,
        )

    def is_open(self, at: datetime) -> bool:
        """True during business hours."""
        return is_business_hours(at, self)

    def next_opening(self, at: datetime) -> datetime:
        """When people are next at work (`at` itself during business hours), in UTC."""
        return next_opening(at, self)

    def sla_due(self, priority: str | None, start: datetime) -> datetime | None:
        """The first-response deadline of a ticket of this priority opened at `start` (None without one)."""
        if priority is None:
            return None
        return sla_due(start, priority, self)

    def resolution_due(self, priority: str | None, start: datetime) -> datetime | None:
        """The resolution deadline of a ticket of this priority opened at `start` (None without one)."""
        if priority is None:
            return None
        return resolution_due(start, priority, self)


# The calendar the functions below assume when given none: Monday to Friday, 09:00-18:00 in Shanghai,
# no public holidays (the carrier's settings say otherwise: BusinessCalendar.from_settings).
WORKING_WEEK = BusinessCalendar(holidays=NO_HOLIDAYS)


def _check(now: datetime) -> None:
    """Refuse naive times."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("times must be timezone-aware (UTC)")


def _local_at(day: date, hour: int, zone: ZoneInfo) -> datetime:
    """A wall-clock hour of a local day (24 means the end of the day)."""
    return datetime.combine(day, time(0), tzinfo=zone) + timedelta(hours=hour)


def is_business_day(day: date, calendar: BusinessCalendar = WORKING_WEEK) -> bool:
    """Whether people work on this local date: a business weekday or a make-up working day, not a day off."""
    holidays = calendar.holidays
    if day in holidays:
        return False
    if day.weekday() in calendar.weekdays:
        return True
    return isinstance(holidays, HolidayCalendar) and holidays.is_make_up_workday(day)


def is_business_hours(now: datetime, calendar: BusinessCalendar = WORKING_WEEK) -> bool:
    """Whether a person is at work at this moment."""
    _check(now)
    zone = calendar.tz
    local = now.astimezone(zone)
    day = local.date()
    if not is_business_day(day, calendar):
        return False
    return _local_at(day, calendar.start_hour, zone) <= local < _local_at(day, calendar.end_hour, zone)


def next_opening(now: datetime, calendar: BusinessCalendar = WORKING_WEEK) -> datetime:
    """When people are next at work, in UTC: `now` itself during business hours."""
    _check(now)
    if is_business_hours(now, calendar):
        return now.astimezone(timezone.utc)
    zone = calendar.tz
    local = now.astimezone(zone)
    day = local.date()
    if local >= _local_at(day, calendar.start_hour, zone):
        day += timedelta(days=1)
    # Holidays can be long (Spring Festival) but never a year: the bound only guards bad input.
    for _ in range(366):
        if is_business_day(day, calendar):
            return _local_at(day, calendar.start_hour, zone).astimezone(timezone.utc)
        day += timedelta(days=1)
    raise ValueError("no business day within a year")


def sla_hours(priority: str, calendar: BusinessCalendar = WORKING_WEEK) -> int:
    """The longest target of a priority in business hours (P3, the same business day: one whole day)."""
    day = calendar.end_hour - calendar.start_hour
    if priority in SLA_BUSINESS_HOURS:
        return SLA_BUSINESS_HOURS[priority]
    if priority in SAME_BUSINESS_DAY:
        return day
    if priority in SLA_BUSINESS_DAYS:
        return SLA_BUSINESS_DAYS[priority] * day
    raise ValueError(f"unknown priority {priority!r}")


def add_business_hours(start: datetime, hours: float, calendar: BusinessCalendar = WORKING_WEEK) -> datetime:
    """The moment `hours` business hours after `start`, in UTC."""
    zone = calendar.tz
    cursor = next_opening(start, calendar).astimezone(zone)
    remaining = timedelta(hours=hours)
    while True:
        closing = _local_at(cursor.date(), calendar.end_hour, zone)
        available = closing - cursor
        if remaining <= available:
            return (cursor + remaining).astimezone(timezone.utc)
        remaining -= available
        cursor = next_opening(closing, calendar).astimezone(zone)


def end_of_business_day(start: datetime, calendar: BusinessCalendar = WORKING_WEEK) -> datetime:
    """Closing time of the business day in progress at `start`, else of the next one to open, in UTC."""
    zone = calendar.tz
    opening = next_opening(start, calendar).astimezone(zone)
    return _local_at(opening.date(), calendar.end_hour, zone).astimezone(timezone.utc)


def sla_due(start: datetime, priority: str, calendar: BusinessCalendar = WORKING_WEEK) -> datetime:
    """When the first human response is due for a complaint of this priority, in UTC."""
    if priority in SAME_BUSINESS_DAY:
        return end_of_business_day(start, calendar)
    return add_business_hours(start, sla_hours(priority, calendar), calendar)


def resolution_due(start: datetime, priority: str, calendar: BusinessCalendar = WORKING_WEEK) -> datetime:
    """When a complaint of this priority should be resolved, in UTC: DOMAIN.md's one target, as sla_due."""
    return sla_due(start, priority, calendar)
