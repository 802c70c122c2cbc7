"""Durable turns: every shipper message is answered once, even when its process dies or Rasa is slow."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from backend.db import session_scope
from backend.hub import Hub, Inbound
from backend.hub.hub import NOT_ANSWERED_TEXT, WAITING_TEXT
from backend.hub.sweeper import TurnSweeper
from backend.models import Conversation, Message, utcnow
from backend.services import conversations as conv
from tests.backend.hub.world import World, user


def turns(world: World, cid: str) -> list[tuple[str, str | None, int]]:
    """The shipper's messages of a conversation with their turn state and attempts."""
    with session_scope(world.factory) as session:
        return [
            (m.text, m.turn_state, m.turn_attempts)
            for m in conv.list_messages(session, conversation_id=cid)
            if m.direction == "in"
        ]


def transcript(world: World, cid: str) -> list[tuple[str, str, str]]:
    with session_scope(world.factory) as session:
        return [(m.direction, m.sender, m.text) for m in conv.list_messages(session, conversation_id=cid)]


def stored_then_died(world: World, inbound: Inbound) -> None:
    """What a process does before it dies between storing a message and answering it."""
    world.run(lambda hub: hub.run_db(lambda s: hub._store_inbound(s, inbound, ())))


def lease_runs_out(world: World, cid: str) -> None:
    with session_scope(world.factory) as session:
        session.execute(
            update(Message)
            .where(Message.conversation_id == cid, Message.turn_state == "with_bot")
            .values(turn_lease_until=utcnow() - timedelta(seconds=1))
        )


def test_a_bot_turn_and_a_persons_turn_end_answered(world: World) -> None:
    external = user()
    cid = f"fake:{external}"
    world.receive(Inbound(channel="fake", external_id=external, text="where is EA100000025CN"))
    with session_scope(world.factory) as session:
        conv.mark_for_agent(session, conversation_id=cid, reason="test")
    world.receive(Inbound(channel="fake", external_id=external, text="hello?"))
    assert turns(world, cid) == [("where is EA100000025CN", "answered", 1), ("hello?", "answered", 0)]


def test_a_replay_of_a_turn_whose_process_died_is_answered_once(world: World) -> None:
    external = user()
    cid = f"fake:{external}"
    inbound = Inbound(
        channel="fake", external_id=external, text="where is my parcel", channel_message_id="m1"
    )
    stored_then_died(world, inbound)
    assert turns(world, cid) == [("where is my parcel", "with_bot", 1)]
    # While the lease runs, the process that stored it may still answer: the replay is a duplicate.
    assert world.receive(inbound).duplicate
    assert world.rasa.texts_for(cid) == []
    lease_runs_out(world, cid)
    turn = world.receive(inbound)
    assert not turn.duplicate and [r.text for r in turn.replies] == ["bot reply"]
    assert world.receive(inbound).duplicate  # answered now: a replay stays a duplicate
    assert world.rasa.texts_for(cid) == ["where is my parcel"]
    assert world.channel.texts(external) == ["bot reply"]
    assert turns(world, cid) == [("where is my parcel", "answered", 2)]
    assert transcript(world, cid) == [("in", "shipper", "where is my parcel"), ("out", "bot", "bot reply")]


def test_the_sweeper_takes_up_a_dead_turn_exactly_once_across_processes(world: World) -> None:
    external = user()
    cid = f"fake:{external}"
    stored_then_died(
        world, Inbound(channel="fake", external_id=external, text="where is it", channel_message_id="m1")
    )
    assert world.run(lambda hub: hub.sweep_turns()) == 0  # the lease still runs
    lease_runs_out(world, cid)

    async def two_processes(hub: Hub) -> list[int]:
        other = Hub(hub._factory, hub._rasa, hub.broker, upload_dir=world.upload_dir)
        other.register(world.channel)
        return list(await asyncio.gather(hub.sweep_turns(), other.sweep_turns()))

    assert sorted(world.run(two_processes)) == [0, 1]
    assert world.run(lambda hub: hub.sweep_turns()) == 0
    assert world.rasa.texts_for(cid) == ["where is it"]
    assert world.channel.texts(external) == ["bot reply"]
    assert turns(world, cid) == [("where is it", "answered", 2)]


def test_a_dead_turn_of_a_conversation_a_person_took_is_closed_for_them(world: World) -> None:
    external = user()
    cid = f"fake:{external}"
    stored_then_died(
        world, Inbound(channel="fake", external_id=external, text="hello", channel_message_id="m1")
    )
    with session_scope(world.factory) as session:
        conv.claim_conversation(session, conversation_id=cid, agent="alice")
    lease_runs_out(world, cid)
    assert world.run(lambda hub: hub.sweep_turns()) == 1
    assert world.rasa.texts_for(cid) == [] and world.channel.texts(external) == []
    assert turns(world, cid) == [("hello", "answered", 2)]


@pytest.mark.parametrize("trouble", ["down", "slow"])
def test_when_rasa_fails_twice_the_turn_goes_to_the_agents_as_not_answered(
    world: World, trouble: str
) -> None:
    external = user()
    cid = f"fake:{external}"
    if trouble == "down":
        world.rasa.down = True
    else:
        world.rasa.delay_s = 1.0
    turn = world.run(
        lambda hub: hub.receive(Inbound(channel="fake", external_id=external, text="where is it")),
        timeout_s=0.3,
    )
    assert [r.text for r in turn.replies] == [NOT_ANSWERED_TEXT]
    assert turn.state == "queued"
    if trouble == "slow":
        assert world.rasa.texts_for(cid) == ["where is it", "where is it"]  # one retry
    assert turns(world, cid) == [("where is it", "failed", 1)]
    with session_scope(world.factory) as session:
        conversation = session.get(Conversation, cid)
        assert conversation is not None
        assert (conversation.state, conversation.handoff_reason) == ("queued", conv.NOT_ANSWERED_REASON)
    # The next message waits for the colleague the apology promised: no second apology, no notice.
    world.rasa.down, world.rasa.delay_s = False, 0.0
    again = world.receive(Inbound(channel="fake", external_id=external, text="hello?"))
    assert again.replies == []
    assert WAITING_TEXT not in [text for _, _, text in transcript(world, cid)]
    assert [text for _, sender, text in transcript(world, cid) if sender == "system"] == [NOT_ANSWERED_TEXT]


def test_a_retry_after_a_late_answer_sends_rasa_the_same_turn_id(world: World) -> None:
    external = user()
    cid = f"fake:{external}"
    world.rasa.delay_s = 0.5
    world.run(
        lambda hub: hub.receive(Inbound(channel="fake", external_id=external, text="where is it")),
        timeout_s=0.3,
    )
    sent: list[dict[str, Any]] = [r for r in world.rasa.received if r["sender"] == cid]
    assert len(sent) == 2
    ids = {r["message_id"] for r in sent} | {r["metadata"]["message_id"] for r in sent}
    with session_scope(world.factory) as session:
        [message] = [m for m in conv.list_messages(session, conversation_id=cid) if m.direction == "in"]
        assert ids == {f"hub-{message.id}"}


def test_the_backends_sweeper_answers_a_dead_turn_by_itself(world: World) -> None:
    external = user()
    cid = f"fake:{external}"
    stored_then_died(
        world, Inbound(channel="fake", external_id=external, text="any news?", channel_message_id="m1")
    )
    lease_runs_out(world, cid)

    async def with_sweeper(hub: Hub) -> None:
        sweeper = TurnSweeper(hub, interval_s=0.05)
        sweeper.start()
        try:
            for _ in range(100):
                if world.channel.texts(external):
                    break
                await asyncio.sleep(0.05)
        finally:
            await sweeper.stop()

    world.run(with_sweeper)
    assert world.channel.texts(external) == ["bot reply"]
    assert turns(world, cid) == [("any news?", "answered", 2)]
