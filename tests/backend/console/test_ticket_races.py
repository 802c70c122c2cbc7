"""Two "resolved" saves of one ticket at once ask the shipper for a rating once (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from tests.backend.console.clients import Console
from tests.backend.factories import escalated

QUESTION = "1 (not at all) to 5"
# How long the first follow-up waits for a second one to start (so that both would run together).
OVERLAP_S = 3.0


def _gate_follow_ups(app: FastAPI) -> tuple[list[str], threading.Event]:
    """Hold the first follow-up until a second starts (or OVERLAP_S passes), then let both run at once."""
    hub = app.state.hub
    original = hub.ask_follow_up
    calls: list[str] = []
    first_waiting = threading.Event()

    async def gated(number: str) -> Any:
        calls.append(number)
        if len(calls) == 1:
            first_waiting.set()
            deadline = time.monotonic() + OVERLAP_S
            while len(calls) < 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
        return await original(number)

    hub.ask_follow_up = gated
    return calls, first_waiting


@pytest.mark.timeout(120, method="thread")  # a regression may deadlock the two saves: fail, never hang
def test_a_second_resolved_save_during_the_first_asks_nothing(
    app: FastAPI, people: dict[str, Console], db_factory: sessionmaker[Session]
) -> None:
    cid, number = escalated(db_factory)
    alice = people["alice"]
    assert alice.post(f"/console/api/conversations/{cid}/claim").status_code == 200
    calls, first_waiting = _gate_follow_ups(app)
    resolved = {"status": "resolved", "resolution": "Delivered with priority."}
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(alice.post, f"/console/api/tickets/{number}", resolved)
        assert first_waiting.wait(10), "the first save never reached its follow-up"
        # The ticket is resolved (committed); the first save's question is on its way.
        second = alice.post(f"/console/api/tickets/{number}", resolved)
        assert first.result(timeout=30).status_code == 200
    assert second.status_code == 200 and second.json()["status"] == "resolved"
    messages = alice.get(f"/console/api/conversations/{cid}").json()["messages"]
    assert len([m for m in messages if QUESTION in m["text"]]) == 1
    assert calls == [number]


@pytest.mark.timeout(120, method="thread")
def test_two_resolved_saves_at_the_same_moment_ask_once(
    people: dict[str, Console], db_factory: sessionmaker[Session]
) -> None:
    """Free-running: both saves start together, whichever wins; the other is told or finds it resolved."""
    for _ in range(4):
        cid, number = escalated(db_factory)
        alice, sue = people["alice"], people["sue"]
        assert alice.post(f"/console/api/conversations/{cid}/claim").status_code == 200
        barrier = threading.Barrier(2)

        def save(person: Console, number: str = number, barrier: threading.Barrier = barrier) -> int:
            barrier.wait(10)
            answer = person.post(f"/console/api/tickets/{number}", {"status": "resolved"})
            return int(answer.status_code)

        with ThreadPoolExecutor(max_workers=2) as pool:
            codes = sorted(pool.map(save, [alice, sue]))
        assert codes[0] == 200 and codes[1] in (200, 409), codes
        messages = alice.get(f"/console/api/conversations/{cid}").json()["messages"]
        assert len([m for m in messages if QUESTION in m["text"]]) == 1
