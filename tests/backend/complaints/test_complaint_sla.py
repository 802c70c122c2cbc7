"""Business-hours SLA arithmetic across evenings, weekends and holidays (Asia/Shanghai, 09:00-18:00)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from backend.complaints import ComplaintFacts, analyse
from backend.complaints.sla import (
    NO_HOLIDAYS,
    BusinessCalendar,
    HolidayCalendar,
    add_business_hours,
    end_of_business_day,
    is_business_day,
    is_business_hours,
    next_opening,
    resolution_due,
    sla_due,
    sla_hours,
)
from backend.config import Settings, get_settings
from bot.actions.escalation import who_answers_text

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
        # P3: the same business day, whatever the hour it comes in; outside hours, the next one to open
        (local(18, 9), "P3", local(18, 18)),
        (local(18, 10), "P3", local(18, 18)),
        (local(18, 12), "P3", local(18, 18)),
        (local(18, 15), "P3", local(18, 18)),  # 15:00: still today (not tomorrow at 14:00)
        (local(18, 17, 59), "P3", local(18, 18)),
        (local(18, 7), "P3", local(18, 18)),  # before opening: that day's closing
        (local(18, 18), "P3", local(19, 18)),  # at closing time: the next business day
        (local(18, 22), "P3", local(19, 18)),
        (local(20, 14), "P3", local(20, 18)),  # Friday afternoon: Friday
        (local(20, 19), "P3", local(23, 18)),  # Friday evening: Monday
        (local(21, 12), "P3", local(23, 18)),  # Saturday: Monday
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
    # P3's same business day is at most one whole business day.
    assert [sla_hours(p) for p in ("P1", "P2", "P3", "P4")] == [2, 4, 9, 18]
    assert sla_hours("P4", BusinessCalendar(start_hour=8, end_hour=20)) == 24
    assert sla_hours("P3", BusinessCalendar(start_hour=8, end_hour=20)) == 12
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
    assert sla_due(local(18, 17), "P1", BusinessCalendar(holidays=holidays)) == local(20, 10)
    assert next_opening(local(18, 20), BusinessCalendar(holidays=holidays)) == local(20, 9)
    assert not is_business_hours(local(19, 10), BusinessCalendar(holidays=holidays))


def test_custom_calendar_and_time_zone() -> None:
    # A Saturday-working depot, 08:00-20:00.
    start = local(20, 19)
    due = sla_due(
        start, "P1", BusinessCalendar(start_hour=8, end_hour=20, weekdays=frozenset(range(6)), holidays=())
    )
    assert due == local(21, 9)
    berlin = datetime(2026, 11, 20, 17, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert sla_due(berlin, "P1", BusinessCalendar(tz=ZoneInfo("Europe/Berlin"), holidays=())).astimezone(
        ZoneInfo("Europe/Berlin")
    ) == datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))


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
        sla_due(local(18, 10), "P1", BusinessCalendar(start_hour=18, end_hour=9))
    with pytest.raises(ValueError):
        sla_due(local(18, 10), "P1", BusinessCalendar(weekdays=frozenset()))


def cn(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A Shanghai wall-clock time, as UTC."""
    return datetime(year, month, day, hour, minute, tzinfo=SH).astimezone(timezone.utc)


CHINA = HolidayCalendar()


def test_mainland_china_public_holidays_from_the_package() -> None:
    # 2026: National Day and Mid-Autumn week, Spring Festival, Labour Day (State Council schedule).
    for day in (date(2026, 10, 1), date(2026, 10, 7), date(2026, 2, 17), date(2026, 5, 1), date(2026, 1, 1)):
        assert day in CHINA, day
    assert date(2026, 10, 8) not in CHINA and date(2026, 11, 18) not in CHINA
    assert date(2026, 10, 1) not in NO_HOLIDAYS


@pytest.mark.parametrize(
    "day",
    # The make-up working days (调休) of 2026: weekend days that are working days.
    [
        date(2026, 1, 4),
        date(2026, 2, 14),
        date(2026, 2, 28),
        date(2026, 5, 9),
        date(2026, 9, 20),
        date(2026, 10, 10),
    ],
)
def test_make_up_working_days_are_business_days(day: date) -> None:
    assert day.weekday() >= 5
    assert CHINA.is_make_up_workday(day)
    assert is_business_day(day, BusinessCalendar(holidays=CHINA))
    # A plain set of days off knows nothing of make-up days: the weekend stays a weekend.
    assert not is_business_day(day, BusinessCalendar(holidays={date(2026, 10, 1)}))
    assert is_business_hours(cn(day.year, day.month, day.day, 10), BusinessCalendar(holidays=CHINA))


@pytest.mark.parametrize(
    ("start", "priority", "due"),
    [
        # Wednesday 30 September 2026, the eve of National Day: 1-7 October are off.
        (cn(2026, 9, 30, 17), "P1", cn(2026, 10, 8, 10)),
        (cn(2026, 9, 30, 15), "P3", cn(2026, 9, 30, 18)),  # same business day, holiday or not
        (cn(2026, 9, 30, 19), "P3", cn(2026, 10, 8, 18)),  # evening: the next business day is the 8th
        (cn(2026, 10, 3, 11), "P2", cn(2026, 10, 8, 13)),  # during the holiday
        # Friday 9 October opens the make-up Saturday the 10th: P4 (18 h) ends on it.
        (cn(2026, 10, 9, 9), "P4", cn(2026, 10, 10, 18)),
        (cn(2026, 10, 9, 17), "P1", cn(2026, 10, 10, 10)),  # Friday evening -> the make-up Saturday
        # Spring Festival 2026: 15 (Sun) to 23 February off; Saturday the 28th is worked.
        (cn(2026, 2, 13, 17), "P1", cn(2026, 2, 14, 10)),  # Friday -> the make-up Saturday the 14th
        (cn(2026, 2, 14, 19), "P3", cn(2026, 2, 24, 18)),
        (cn(2026, 2, 16, 10), "P1", cn(2026, 2, 24, 11)),
    ],
)
def test_sla_due_skips_china_holidays(start: datetime, priority: str, due: datetime) -> None:
    assert sla_due(start, priority, BusinessCalendar(holidays=CHINA)) == due
    assert resolution_due(start, priority, BusinessCalendar(holidays=CHINA)) == due


def test_next_opening_after_a_holiday() -> None:
    assert next_opening(cn(2026, 9, 30, 18, 30), BusinessCalendar(holidays=CHINA)) == cn(2026, 10, 8, 9)
    assert not is_business_hours(
        cn(2026, 10, 5, 10), BusinessCalendar(holidays=CHINA)
    )  # a Monday of National Day
    assert end_of_business_day(cn(2026, 10, 5, 10), BusinessCalendar(holidays=CHINA)) == cn(2026, 10, 8, 18)


def test_extra_days_off_and_workdays() -> None:
    # A carrier closed on 24 December, and a schedule the package does not know yet.
    local_calendar = HolidayCalendar(
        extra_days_off=frozenset({date(2026, 12, 24)}), extra_workdays=frozenset({date(2026, 12, 26)})
    )
    assert date(2026, 12, 24) in local_calendar and date(2026, 12, 24) not in CHINA
    assert local_calendar.is_make_up_workday(date(2026, 12, 26))
    assert sla_due(cn(2026, 12, 23, 17), "P1", BusinessCalendar(holidays=local_calendar)) == cn(
        2026, 12, 25, 10
    )
    assert sla_due(cn(2026, 12, 25, 17), "P1", BusinessCalendar(holidays=local_calendar)) == cn(
        2026, 12, 26, 10
    )
    # An extra working day beats the package's holiday; an extra day off beats a make-up day.
    assert date(2026, 10, 1) not in HolidayCalendar(extra_workdays=frozenset({date(2026, 10, 1)}))
    assert not HolidayCalendar(extra_days_off=frozenset({date(2026, 10, 10)})).is_make_up_workday(
        date(2026, 10, 10)
    )


def test_no_country_means_weekends_only() -> None:
    assert date(2026, 10, 1) not in NO_HOLIDAYS
    assert not NO_HOLIDAYS.is_make_up_workday(date(2026, 10, 10))
    assert sla_due(cn(2026, 9, 30, 17), "P1", BusinessCalendar(holidays=NO_HOLIDAYS)) == cn(2026, 10, 1, 10)


@pytest.fixture
def carrier_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The default carrier calendar from the settings (a developer's environment must not decide)."""
    for name in ("TIMEZONE", "BUSINESS_HOURS_START", "BUSINESS_HOURS_END", "BUSINESS_DAYS"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HOLIDAYS_COUNTRY", "HOLIDAYS_EXTRA", "WORKDAYS_EXTRA"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_every_caller_gets_the_holidays_from_the_settings(carrier_settings: None) -> None:
    evening = cn(2026, 9, 30, 19)  # the eve of National Day, after closing
    calendar = BusinessCalendar.from_settings(get_settings())
    assert isinstance(calendar.holidays, HolidayCalendar) and calendar.holidays.country == "CN"
    assert calendar.sla_due("P1", evening) == cn(2026, 10, 8, 11)
    assert calendar.sla_due("P3", cn(2026, 11, 18, 15)) == cn(2026, 11, 18, 18)
    # The bot's promise to the shipper.
    text = who_answers_text("P1", evening)
    assert "by Thu 8 Oct at 11:00 (China time)" in text
    assert "public holidays excepted" in text and "from Thu 8 Oct at 09:00" in text
    assert "public holidays" not in who_answers_text("P1", cn(2026, 11, 18, 10))  # open now: no excuse
    # The complaint analysis, as backend.services.complaints calls it.
    analysis = analyse(None, ComplaintFacts("staff_conduct", "rude courier"), now=evening, calendar=calendar)
    assert (analysis.priority, analysis.sla_due_at) == ("P3", cn(2026, 10, 8, 18))


def test_holiday_settings(monkeypatch: pytest.MonkeyPatch, carrier_settings: None) -> None:
    monkeypatch.setenv("HOLIDAYS_COUNTRY", "none")
    monkeypatch.setenv("HOLIDAYS_EXTRA", "2026-11-19, 2026-11-20")
    monkeypatch.setenv("WORKDAYS_EXTRA", "2026-11-21")
    calendar = BusinessCalendar.from_settings(Settings(_env_file=None))  # type: ignore[call-arg]
    assert date(2026, 10, 1) not in calendar.holidays
    assert calendar.sla_due("P1", cn(2026, 11, 18, 17)) == cn(2026, 11, 21, 10)  # Thu, Fri off; Sat worked
    monkeypatch.setenv("HOLIDAYS_COUNTRY", "Atlantis")
    with pytest.raises(ValidationError, match="holidays"):
        Settings(_env_file=None)  # type: ignore[call-arg]
    monkeypatch.setenv("HOLIDAYS_COUNTRY", "CN")
    monkeypatch.setenv("HOLIDAYS_EXTRA", "next friday")
    with pytest.raises(ValidationError, match="dates"):
        Settings(_env_file=None)  # type: ignore[call-arg]
