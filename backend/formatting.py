"""How money, weights, day counts, dates and times are written, for shippers and for agents alike.

Pure functions with no dependency on the rest of the backend, so the complaint analysis, the wording and
the bot's answers can all import them; and the one JSON form of values the API answers with.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

# --------------------------------------------------------------------------------------------------
# Amounts
# --------------------------------------------------------------------------------------------------


def format_cny(amount: Decimal | int | float | str) -> str:
    """Money as the customer reads it: "36.00 CNY", "3,000.00 CNY"."""
    value = Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{value:,.2f} CNY"


def format_kg(value: Decimal | int | str | None) -> str:
    """A weight without trailing zeros: "12 kg", "2.5 kg" ("unknown weight" when there is none)."""
    if value is None:
        return "unknown weight"
    return f"{Decimal(str(value)).normalize():f} kg"


def days_text(n: int) -> str:
    """'1 day', '3 days'."""
    return "1 day" if n == 1 else f"{n} days"


# --------------------------------------------------------------------------------------------------
# Dates and times (moments are UTC; they are written on the carrier's clock)
# --------------------------------------------------------------------------------------------------


def _zone(tz: ZoneInfo | str) -> ZoneInfo:
    return tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)


def day_text(day: date, today: date) -> str:
    """'today', 'yesterday', 'tomorrow' or 'Fri 20 Nov'."""
    delta = (day - today).days
    if delta == 0:
        return "today"
    if delta == -1:
        return "yesterday"
    if delta == 1:
        return "tomorrow"
    return f"{day:%a} {day.day} {day:%b}"


def moment_text(moment: datetime, tz: ZoneInfo | str, today: date) -> str:
    """A moment relative to today, on the carrier's clock: 'yesterday at 14:05'."""
    local = moment.astimezone(_zone(tz))
    return f"{day_text(local.date(), today)} at {local:%H:%M}"


def local_time_text(moment: datetime, tz: ZoneInfo | str) -> str:
    """A moment on the carrier's clock, as a shipper reads it: "Wed 2 Dec at 09:00"."""
    local = moment.astimezone(_zone(tz))
    return f"{local:%a} {local.day} {local:%b} at {local:%H:%M}"


def record_time_text(moment: datetime, tz: ZoneInfo | str) -> str:
    """A moment on the carrier's clock as the record shows it to an agent: "2026-11-23 14:05"."""
    return moment.astimezone(_zone(tz)).strftime("%Y-%m-%d %H:%M")


def clock_text(moment: datetime, tz: ZoneInfo | str) -> str:
    """The time of day on the carrier's clock: "14:05"."""
    return moment.astimezone(_zone(tz)).strftime("%H:%M")


def json_value(value: Any) -> Any:
    """A value as every JSON answer of the backend carries it: ISO dates and times, money as exact
    decimal strings (clients that want numbers parse them), containers converted all the way down."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_value(v) for v in value]
    return value
