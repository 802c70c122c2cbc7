"""Live events leave the hub only after their transaction commits: a rollback shows nothing anywhere."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy.orm import Session

from backend.hub import Hub
from backend.hub.broker import AGENTS_TOPIC, conversation_topic
from backend.services import conversations as conv
from tests.backend.hub.world import World, user


class Boom(RuntimeError):
    """The transaction fails after the message was stored and its event queued."""


async def events_of(hub: Hub, cid: str, work: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """What a widget on the conversation and a console on the queue receive while `work` runs."""
    async with (
        hub.broker.subscribe(conversation_topic(cid)) as widget,
        hub.broker.subscribe(AGENTS_TOPIC) as console,
    ):
        await work()
        await asyncio.sleep(0.05)  # the broker hands events over on the loop: let them arrive
        return [widget.get_nowait() for _ in range(widget.qsize())], [
            console.get_nowait() for _ in range(console.qsize())
        ]


def stored_then(hub: Hub, cid: str, *, fail: bool) -> Any:
    def work(session: Session) -> None:
        message = hub._store_outbound(session, cid, "a line", sender="bot")
        assert message.message_id
        if fail:
            raise Boom

    return work


def test_a_rolled_back_store_publishes_nothing(world: World) -> None:
    cid = f"fake:{user()}"

    async def scenario(hub: Hub) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        async def work() -> None:
            with pytest.raises(Boom):
                await hub.run_db(stored_then(hub, cid, fail=True))

        return await events_of(hub, cid, work)

    widget, console = world.run(scenario)
    assert widget == [] and console == []
    assert world.run(lambda hub: hub.transcript(cid)) == []


def test_a_committed_store_publishes_once_on_each_topic(world: World) -> None:
    cid = f"fake:{user()}"

    async def scenario(hub: Hub) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        async def work() -> None:
            await hub.run_db(lambda s: conv.ensure_conversation(s, cid))
            await hub.run_db(stored_then(hub, cid, fail=False))

        return await events_of(hub, cid, work)

    widget, console = world.run(scenario)
    assert [e["message"]["text"] for e in widget] == ["a line"]
    assert [e["message"]["text"] for e in console] == ["a line"]
