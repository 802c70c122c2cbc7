"""The complaint form's validation runs off the action server's event loop: a slow one stalls no one else."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import client
from bot.actions.complaint_form import ValidateComplaintForm
from tests.bot.trackers import applied, make_tracker

SLOW_READ_S = 0.8
WAYBILL = "EA100000065CN"
# The slots' mappings as Rasa sends them with the call.
DOMAIN = yaml.safe_load((Path(__file__).parents[3] / "domain.yml").read_text(encoding="utf-8"))


def form_turn(text: str, requested: str, slots: dict[str, Any]) -> Tracker:
    """A turn inside the complaint form: the answer to `requested`, extracted as Rasa extracts it."""
    tracker = make_tracker(
        text,
        intent="inform",
        slots={**slots, "requested_slot": requested},
        active_loop={"name": "complaint_form"},
    )
    tracker.events.extend(
        [
            {"event": "user", "text": text, "parse_data": tracker.latest_message},
            {"event": "slot", "name": requested, "value": text},
        ]
    )
    return tracker


async def validate(tracker: Tracker) -> tuple[list[EventType], float]:
    """One run of the validator as the action server makes it; its events and when it finished."""
    events = await ValidateComplaintForm().run(CollectingDispatcher(), tracker, DOMAIN)
    return list(events), time.monotonic()


def test_a_slow_shipment_read_in_one_conversation_does_not_hold_up_another(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_get_shipment = client.get_shipment

    def slow_get_shipment(*args: Any, **kwargs: Any) -> Any:
        time.sleep(SLOW_READ_S)  # a database that takes its time, as a busy one does
        return real_get_shipment(*args, **kwargs)

    monkeypatch.setattr(client, "get_shipment", slow_get_shipment)
    slow = form_turn(WAYBILL, "complaint_waybill", {"complaint_category": "damage"})
    quick = form_turn("the box was crushed", "complaint_category", {})

    async def both() -> tuple[tuple[list[EventType], float], tuple[list[EventType], float], float]:
        started = time.monotonic()
        waybill_turn = asyncio.create_task(validate(slow))
        await asyncio.sleep(0.05)  # the first conversation is now inside its slow read
        category_turn = await validate(quick)
        return await waybill_turn, category_turn, started

    (slow_events, slow_done), (quick_events, quick_done), started = asyncio.run(both())

    # The second conversation got its answer while the first was still waiting for the database ...
    assert quick_done - started < SLOW_READ_S / 2
    assert quick_done < slow_done
    assert applied(quick_events).get("complaint_category") == "damage"
    # ... and the first one's answer is the one it would have had without the wait.
    assert slow_done - started >= SLOW_READ_S
    assert applied(slow_events)["complaint_waybill"] == WAYBILL
