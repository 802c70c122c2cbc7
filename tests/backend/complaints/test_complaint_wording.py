"""Customer-facing wording: the calming message."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from backend.complaints import calm_message
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
    # The same conversation hears the same words every time it is calmed at this level.
    expected = (
        "I can see your shipment hasn't reached you when it should have, and I understand why that's "
        "upsetting. I'm truly sorry. You have every reason to be upset, and I'm taking this seriously. "
        "Thank you for taking the time to let us know."
    )
    assert calm_message("delay", 2, seed="telegram:42") == expected
    assert calm_message("delay", 2, seed="telegram:42") == expected


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
