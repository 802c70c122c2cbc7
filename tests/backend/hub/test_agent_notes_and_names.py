"""The hub and an agent's reply and note: the reply carries their name, a note stays inside."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from backend.db import session_scope
from backend.hub import Hub
from backend.hub.broker import AGENTS_TOPIC, conversation_topic
from backend.security.accounts import create_agent
from backend.services import agent_work as work
from backend.services import transfer as transfers
from backend.services.conversations import list_messages
from tests.backend.factories import queued_complaint
from tests.backend.hub.world import World


def test_an_agents_reply_carries_their_name_and_a_note_reaches_only_the_console(world: World) -> None:
    username = f"li-{uuid.uuid4().hex[:6]}"
    with session_scope(world.factory) as session:
        create_agent(session, username=username, password=uuid.uuid4().hex, role="agent", display_name="李伟")
        cid, _ = queued_complaint(session)
    agent = work.AgentView(username=username, role="agent")

    async def act(hub: Hub) -> list[dict[str, Any]]:
        async with hub.broker.subscribe(conversation_topic(cid)) as queue:
            await work.claim(hub, cid, agent)
            await work.reply(hub, cid, agent, "您好，我来处理。")
            await work.note(hub, cid, agent, "已致电武汉转运中心")
            seen: list[dict[str, Any]] = []
            while not any(e["type"] == "note" for e in seen):  # published from a worker thread
                seen.append(await asyncio.wait_for(queue.get(), timeout=3))
            return seen

    events = world.run(act)
    with session_scope(world.factory) as session:
        [reply] = [m for m in list_messages(session, conversation_id=cid) if m.sender == "agent"]
        assert reply.author == "李伟"
    [note] = [e for e in events if e["type"] == "note"]
    assert (note["note"]["text"], note["note"]["actor_name"]) == ("已致电武汉转运中心", "李伟")
    # The note is no transcript line: nothing of it is stored as a message or delivered to the shipper.
    assert all("武汉转运中心" not in str(e.get("message", "")) for e in events)
    with session_scope(world.factory) as session:
        assert all("武汉转运中心" not in m.text for m in list_messages(session, conversation_id=cid))


def test_a_transfer_is_told_to_every_console_at_once(world: World) -> None:
    names = [f"ag-{uuid.uuid4().hex[:6]}" for _ in range(2)]
    with session_scope(world.factory) as session:
        for name in names:
            create_agent(session, username=name, password=uuid.uuid4().hex, role="agent", display_name=name)
        cid, _ = queued_complaint(session)
    first, second = (work.AgentView(username=n, role="agent") for n in names)

    async def act(hub: Hub) -> dict[str, Any]:
        await work.claim(hub, cid, first)
        async with hub.broker.subscribe(AGENTS_TOPIC) as queue:
            await transfers.transfer(hub, cid, first, to=second.username, holder=first.username)
            return await asyncio.wait_for(queue.get(), timeout=3)

    told = world.run(act)
    assert (told["type"], told["owner"], told["transferred_by"]) == ("state", second.username, first.username)
