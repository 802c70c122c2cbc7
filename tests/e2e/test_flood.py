"""A script flooding the widget is cut off within its budget while a normal shipper keeps being answered.

A real stack with the door budgets on at their defaults (the LIMIT_* settings). The flood opens sessions
until refused and then pours frames into one conversation as fast as the socket takes them; the normal
shipper asks about a shipment over and over, before and during the flood, and both latencies are printed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets.client
import websockets.exceptions

from tests.e2e.conftest import stack_env
from tools.bench import percentile
from tools.stack import Stack

pytestmark = pytest.mark.e2e

QUESTION = "where is EA100000025CN?"
TURNS = 8  # twice and a warm-up: within the conversation budget of 20 a minute
FLOOD_FRAMES = 400
# A normal shipper must never wait behind the flood's turns: the up to 20 it had accepted, answered one
# after another before the shipper's, would add at least 20 of the shipper's own turn times. Their
# p95 during the flood may exceed the quiet one by this many of their own median turns: the two share
# one Rasa and one machine, so a few turns' worth is contention, not queueing. (The latency ratio itself
# is a figure for benchmarks, not a pass mark here: on CI's shared 2 cores a 1.5× bound over 8 turns
# failed on one slow first turn, 49 ms against 32.)
FLOOD_TURNS_OF_SLACK = 5


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack whose doors keep their production budgets (test stacks turn them off by default)."""
    workdir: Path = tmp_path_factory.mktemp("flood")
    guarded = dataclasses.replace(Stack.throwaway(workdir, stack_env(workdir)), door_limits=True)
    guarded.start_seeded()
    try:
        yield guarded
    finally:
        guarded.stop()


async def _session(client: httpx.AsyncClient, stack: Stack) -> dict[str, Any]:
    response = await client.post(f"{stack.backend_url}/widget/session", json={})
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


async def _connect(stack: Stack, session: str) -> websockets.client.WebSocketClientProtocol:
    socket = await websockets.client.connect(stack.backend_url.replace("http", "ws", 1) + "/widget/ws")
    await socket.send(json.dumps({"type": "hello", "session": session, "after": 0}))
    while json.loads(await asyncio.wait_for(socket.recv(), 30)).get("type") != "ready":
        pass
    return socket


async def _normal_shipper(socket: websockets.client.WebSocketClientProtocol, turns: int) -> list[float]:
    """Milliseconds from each question to the bot's answer, one question at a time."""
    latencies = []
    for _ in range(turns):
        started = time.perf_counter()
        await socket.send(json.dumps({"type": "text", "text": QUESTION, "client_id": uuid.uuid4().hex}))
        while True:
            frame = json.loads(await asyncio.wait_for(socket.recv(), 60))
            assert frame.get("type") not in ("failed", "limited"), f"the normal shipper was refused: {frame}"
            if frame.get("type") == "message" and frame["message"]["role"] == "ai":
                assert "EA100000025CN" in frame["message"]["text"], frame
                break
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


async def _flood(stack: Stack, session: str) -> dict[str, Any]:
    """Frames into one conversation as fast as the socket takes them; what the server said back."""
    seen: dict[str, Any] = {"acked": 0, "limited": 0, "close_code": None}
    socket = await _connect(stack, session)
    try:

        async def read() -> None:
            async for raw in socket:
                frame = json.loads(raw)
                if frame.get("type") in ("ack", "limited"):
                    seen["acked" if frame["type"] == "ack" else "limited"] += 1

        reader = asyncio.create_task(read())
        for index in range(FLOOD_FRAMES):
            frame = {"type": "text", "text": f"spam {index} {QUESTION}", "client_id": uuid.uuid4().hex}
            await socket.send(json.dumps(frame))
        await asyncio.wait_for(reader, 120)
    except websockets.exceptions.ConnectionClosed:
        pass
    finally:
        seen["close_code"] = socket.close_code
        await socket.close()
    return seen


def test_a_flood_is_cut_off_and_a_normal_shipper_keeps_being_answered(guarded: Stack) -> None:
    async def run() -> tuple[list[float], list[float], dict[str, Any], list[int]]:
        async with httpx.AsyncClient(timeout=60) as client:
            shipper = await _session(client, guarded)
            flooder = await _session(client, guarded)
            # The script asks for session after session: refused (429) once the address's budget is spent.
            statuses = [
                (await client.post(f"{guarded.backend_url}/widget/session", json={})).status_code
                for _ in range(70)
            ]
        socket = await _connect(guarded, shipper["session"])
        try:
            await _normal_shipper(socket, 1)  # the first answer warms the conversation up: not counted
            quiet = await _normal_shipper(socket, TURNS)
            flood = asyncio.create_task(_flood(guarded, flooder["session"]))
            during = await _normal_shipper(socket, TURNS)
            flooded = await flood
        finally:
            await socket.close()
        return quiet, during, flooded, statuses

    quiet, during, flooded, statuses = asyncio.run(run())
    quiet_p95, during_p95 = percentile(quiet, 95), percentile(during, 95)
    print(
        f"\nnormal shipper p50/p95 without a flood {percentile(quiet, 50):.0f}/{quiet_p95:.0f} ms, "
        f"during one {percentile(during, 50):.0f}/{during_p95:.0f} ms; the flood: {flooded}; "
        f"sessions refused {statuses.count(429)} of {len(statuses)}"
    )
    assert 429 in statuses, "the script got every session it asked for"
    # The default budget is 20 messages a conversation a minute; the rest were refused ("limited" frames,
    # which the door's close may overtake) and after 20 refusals in a row the door closed, with the
    # accepted ones still waiting for their turn dropped unanswered (never acknowledged).
    assert flooded["acked"] <= 20
    assert flooded["close_code"] == 1008
    # The door refuses the script's frames as they come and closes on it without answering what it had
    # queued, and a message sent before the previous answer waits its turn (backend/channels/web/live.py):
    # the shipper's answers never queue behind the flood's.
    assert during_p95 <= quiet_p95 + FLOOD_TURNS_OF_SLACK * percentile(quiet, 50), (quiet, during)
