"""Transfer to a named colleague: atomic (of two at once exactly one wins, the other 409), audited, live."""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import quote

from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.errors import Conflict
from backend.models import Conversation
from backend.services.agent_work import AgentView
from backend.services.tickets import list_ticket_events
from backend.services.transfer import transfer_conversation
from tests.backend.console.clients import Console
from tests.backend.factories import escalated


def form(who: Console, path: str, **fields: str) -> Any:
    return who.client.post(path, data={"csrf_token": who.csrf, **fields})


def test_two_transfers_at_once_one_wins_and_the_other_is_refused(
    people: dict[str, Console], db_factory: sessionmaker[Session]
) -> None:
    cid, number = escalated(db_factory)
    alice, bob, sue = people["alice"], people["bob"], people["sue"]
    alice.post(f"/console/api/conversations/{cid}/claim")
    # Alice gives it to Bob while Sue, her supervisor, gives it to herself: both saw Alice holding it.
    start = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def move(by: AgentView, to: str) -> None:
        start.wait()
        try:
            with session_scope(db_factory) as session:
                transfer_conversation(session, cid, by, to=to, holder=alice.username)
            outcomes[to] = "moved"
        except Conflict as refused:
            outcomes[to] = f"409: {refused.detail}"

    threads = [
        threading.Thread(target=move, args=(AgentView(alice.username, "agent"), bob.username)),
        threading.Thread(target=move, args=(AgentView(sue.username, "supervisor"), sue.username)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(v.split(":")[0] for v in outcomes.values()) == ["409", "moved"], outcomes
    [winner] = [to for to, v in outcomes.items() if v == "moved"]
    [loser] = [v for v in outcomes.values() if v != "moved"]
    assert f"{winner} is handling it now" in loser
    with session_scope(db_factory) as session:
        conversation = session.get(Conversation, cid)
        assert conversation is not None and (conversation.state, conversation.owner) == ("agent", winner)
        [moved] = [e for e in list_ticket_events(session, number) if e.action == "transferred"]
        assert moved.data is not None and (moved.data["from"], moved.data["to"]) == (alice.username, winner)


def test_the_transfer_form_moves_it_and_a_stale_one_lands_back_with_409s_sentence(
    people: dict[str, Console], db_factory: sessionmaker[Session]
) -> None:
    cid, _ = escalated(db_factory)
    alice, bob = people["alice"], people["bob"]
    page = f"/console/conversations/{quote(cid, safe='')}"
    alice.post(f"/console/api/conversations/{cid}/claim")
    shown = alice.get(page, headers={"Accept-Language": "en"}).text
    assert f'<option class="person" value="{bob.username}">Agent {bob.username}</option>' in shown
    moved = form(alice, f"/console/conversations/{cid}/transfer", to=bob.username, holder=alice.username)
    assert (moved.status_code, moved.headers["location"]) == (303, page)
    # Bob holds it now: he replies; Alice's second (stale) transfer is refused with who has it.
    assert bob.post(f"/console/api/conversations/{cid}/messages", {"text": "Bob here."}).status_code == 200
    sue = people["sue"]
    stale = form(alice, f"/console/conversations/{cid}/transfer", to=sue.username, holder=alice.username)
    assert "error=" in stale.headers["location"]
    assert quote(f"{bob.username} is handling it now") in stale.headers["location"]
    # Someone who neither holds it nor supervises may not move it.
    refused = form(alice, f"/console/conversations/{cid}/transfer", to=alice.username, holder=bob.username)
    assert quote("Only the agent handling the conversation") in refused.headers["location"]
    history = bob.get(page, headers={"Accept-Language": "en"}).text
    assert f"Agent {alice.username}: transferred the conversation → Agent {bob.username}" in history
