"""Customer-facing wording: the calming message, money and the reply promise."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from backend.complaints import calm_message, format_cny, reply_promise
from backend.domain import CATEGORIES

SH = ZoneInfo("Asia/Shanghai")
FORBIDDEN = ("don't know", "not my department", "your fault", "you should have", "calm down")


@pytest.mark.parametrize("category", [*CATEGORIES, None])
@pytest.mark.parametrize("anger", [0, 1, 2, 3])
def test_calm_message_acknowledges_apologises_and_thanks(category: str | None, anger: int) -> None:
    text = calm_message(category, anger, seed=0)
    lower = text.lower()
    assert "sorry" in lower or "apologi" in lower
    assert "thank" in lower
    assert not any(f in lower for f in FORBIDDEN)


@pytest.mark.parametrize("category", CATEGORIES)
def test_calm_message_varies_with_the_seed(category: str) -> None:
    assert len({calm_message(category, 1, seed=s) for s in range(6)}) >= 3


def test_calm_message_is_deterministic() -> None:
    assert calm_message("delay", 2, seed="telegram:42") == calm_message("delay", 2, seed="telegram:42")


def test_calm_message_fits_the_category() -> None:
    assert any(w in calm_message("damage", 0, seed=s).lower() for s in range(3) for w in ("damaged",))
    assert all("shipment" in calm_message("delay", 0, seed=s) for s in range(3))
    assert all(
        ("pickup" in m or "courier" in m)
        for m in (calm_message("missed_pickup", 0, seed=s) for s in range(3))
    )


def test_calm_message_grows_with_anger() -> None:
    calm = {calm_message("delay", 0, seed=s) for s in range(3)}
    furious = {calm_message("delay", 3, seed=s) for s in range(3)}
    assert calm.isdisjoint(furious)
    assert all(("priority" in m or "full attention" in m) for m in furious)


def test_calm_message_greets_by_name() -> None:
    text = calm_message("damage", 0, name="Lin Mei", seed=1)
    assert text.startswith("Lin Mei, ")
    assert text[len("Lin Mei, ")].islower() or text[len("Lin Mei, ") :].startswith("I")
    assert calm_message("damage", 0, name="  ", seed=1) == calm_message("damage", 0, seed=1)


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


def test_reply_promise() -> None:
    wednesday_10 = datetime(2026, 11, 18, 10, 0, tzinfo=SH)
    assert reply_promise(datetime(2026, 11, 18, 12, 0, tzinfo=SH), wednesday_10) == (
        "A colleague will get back to you by 12:00 today."
    )
    friday_night = datetime(2026, 11, 20, 21, 0, tzinfo=SH)
    text = reply_promise(datetime(2026, 11, 23, 11, 0, tzinfo=SH), friday_night)
    assert (
        text
        == "Our team is away at the moment; a colleague will get back to you by Monday 23 November, 11:00."
    )
    thursday = reply_promise(
        datetime(2026, 11, 19, 11, 0, tzinfo=SH), datetime(2026, 11, 18, 19, 0, tzinfo=SH)
    )
    assert thursday.endswith("by 11:00 tomorrow.")
