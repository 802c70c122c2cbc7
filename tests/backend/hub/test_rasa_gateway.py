"""The hub's calls to Rasa: bounded in number per process, and each naming its conversation."""

from __future__ import annotations

import asyncio

import httpx

from backend.hub import Inbound
from backend.hub.rasa import RasaGateway, RasaUnavailable
from backend.services import conversations as conv
from tests.backend.hub.world import SECRET, World, user


def gateway(client: httpx.AsyncClient, url: str, *, concurrency: int, timeout_s: float) -> RasaGateway:
    return RasaGateway(
        client,
        base_url=url,
        channel_secret=SECRET,
        api_token="t",
        timeout_s=timeout_s,
        concurrency=concurrency,
    )


def test_a_surge_waits_in_the_hub_and_rasa_never_has_more_turns_than_the_bound(world: World) -> None:
    world.rasa.delay_s = 0.2
    shippers = [user() for _ in range(8)]

    async def surge() -> list[list[str]]:
        async with httpx.AsyncClient() as client:
            rasa = gateway(client, world.url, concurrency=3, timeout_s=5)
            replies = await asyncio.gather(*(rasa.send(f"web:{s}", "where is my parcel") for s in shippers))
        return [[r.text for r in answer] for answer in replies]

    answers = asyncio.run(surge())
    assert answers == [["bot reply"]] * len(shippers)  # every one answered, none failed
    assert world.rasa.most_in_flight == 3


def test_a_turn_that_finds_no_free_place_in_time_fails_as_a_slow_rasa_does(world: World) -> None:
    """One place, three turns of 0.7 s each, a timeout of 1 s: the third is still waiting at 1 s."""
    world.rasa.delay_s = 0.7

    async def three_at_once() -> list[object]:
        async with httpx.AsyncClient() as client:
            rasa = gateway(client, world.url, concurrency=1, timeout_s=1.0)
            calls = [rasa.send(f"web:{user()}", text) for text in ("first", "second", "third")]
            return await asyncio.gather(*calls, return_exceptions=True)

    first, second, third = asyncio.run(three_at_once())
    assert isinstance(first, list) and isinstance(second, list), (first, second)
    assert isinstance(third, RasaUnavailable)
    assert [r["message"] for r in world.rasa.received[-2:]] == ["first", "second"]  # never sent


def test_every_call_names_its_conversation_for_the_balancer(world: World) -> None:
    shipper = user()
    world.receive(Inbound(channel="fake", external_id=shipper, text="hello", channel_message_id="m1"))

    async def back_to_the_bot() -> None:
        async with httpx.AsyncClient() as client:
            rasa = gateway(client, world.url, concurrency=2, timeout_s=5)
            await rasa.resume(f"fake:{shipper}")
            await rasa.execute(f"fake:{shipper}", "action_bot_is_back")

    asyncio.run(back_to_the_bot())
    # The message, the resume, the action and the listen after it: all name the conversation.
    assert world.rasa.named == [f"fake:{shipper}"] * 4


def test_a_turn_whose_action_failed_is_tried_again_then_shown_to_agents_as_not_answered(world: World) -> None:
    """Rasa's hub channel says so when a turn produced nothing (the action server died mid-turn)."""
    world.rasa.replies = [{"custom": {"turn_failed": True}}]
    shipper = user()
    asked = Inbound(channel="fake", external_id=shipper, text="where is it?", channel_message_id="a1")
    turn = world.receive(asked)
    assert world.rasa.texts_for(f"fake:{shipper}") == ["where is it?", "where is it?"]  # tried twice
    assert turn.state == "queued"
    assert [m.sender for m in turn.replies] == ["system"]  # the "a colleague will reply" line, once
    with world.factory() as session:
        conversation = conv.ensure_conversation(session, f"fake:{shipper}")
        assert conversation.state == "queued"
        assert conversation.handoff_reason == conv.NOT_ANSWERED_REASON
