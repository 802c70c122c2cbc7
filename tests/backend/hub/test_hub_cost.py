"""What one bot turn costs the hub: its answers stored in one transaction, which also reads the state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from backend.db import session_scope
from backend.hub import Hub, Inbound
from backend.hub.broker import Broker
from backend.services import conversations as conv
from tests.backend.hub.world import World, user

T = TypeVar("T")


class CountingHub(Hub):
    """The hub, counting its trips to the database."""

    transactions = 0

    async def run_db(self, work: Callable[[Session], T]) -> T:
        CountingHub.transactions += 1
        return await super().run_db(work)


def counted_turn(world: World, text: str, external: str) -> tuple[Any, int]:
    async def turn(hub: Hub) -> Any:
        counting = CountingHub(hub._factory, hub._rasa, Broker(), upload_dir=world.upload_dir)
        counting.register(world.channel)
        CountingHub.transactions = 0
        return await counting.receive(Inbound(channel="fake", external_id=external, text=text))

    result = world.run(turn)
    return result, CountingHub.transactions


def test_a_turn_with_two_answers_makes_two_trips_to_the_database(world: World) -> None:
    world.rasa.replies = [{"text": "It is in Shanghai."}, {"text": "Anything else?"}]
    external = user()
    turn, transactions = counted_turn(world, "where is EA100000025CN", external)
    # The shipper's message (its turn leased in the same transaction), then both answers with the
    # state after them and the turn marked answered (it was four trips; durable turns added none).
    assert transactions == 2
    with session_scope(world.factory) as session:
        [message] = conv.list_messages(session, conversation_id=f"fake:{external}")[:1]
        assert (message.direction, message.turn_state) == ("in", "answered")
    assert [reply.text for reply in turn.replies] == ["It is in Shanghai.", "Anything else?"]
    assert world.channel.texts(external) == ["It is in Shanghai.", "Anything else?"]
    assert turn.state == "bot"


def test_a_hand_over_made_during_the_bots_turn_is_the_turns_state(world: World) -> None:
    external = user()
    cid = f"fake:{external}"

    def hand_over(text: str) -> list[dict[str, str]]:
        # What the hand-over action does through the backend while Rasa works on the turn.
        with session_scope(world.factory) as session:
            conv.mark_for_agent(session, conversation_id=cid, reason="the shipper asked for a person")
        return [{"text": "A colleague will take over."}]

    world.rasa.replies = hand_over
    turn, transactions = counted_turn(world, "I want a person", external)
    assert transactions == 2
    assert [reply.text for reply in turn.replies] == ["A colleague will take over."]
    assert turn.state == "queued"


def test_a_channels_bookkeeping_rides_in_the_transaction_that_stores_the_message(world: World) -> None:
    """Telegram marks its stored update processed in the hub's own first trip (Inbound.in_store):
    still two trips a turn, and the bookkeeping sees the shipper's message in its transaction."""
    world.rasa.replies = [{"text": "It is in Shanghai."}]
    external = user()
    seen: list[tuple[str, ...]] = []

    def in_store(session: Session) -> None:
        assert session.in_transaction()
        seen.append(("called",))

    async def turn(hub: Hub) -> Any:
        counting = CountingHub(hub._factory, hub._rasa, Broker(), upload_dir=world.upload_dir)
        counting.register(world.channel)
        CountingHub.transactions = 0
        inbound = Inbound(
            channel="fake", external_id=external, text="where is EA100000025CN", in_store=in_store
        )
        return await counting.receive(inbound)

    result = world.run(turn)
    assert CountingHub.transactions == 2
    assert seen == [("called",)]
    assert [reply.text for reply in result.replies] == ["It is in Shanghai."]
