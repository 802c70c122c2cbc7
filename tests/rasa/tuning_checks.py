"""bot.rasa_tuning and bot.stores.tracker inside Rasa 3.6.21 (.venv-rasa): faster, and still right."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import tempfile
from contextlib import closing
from pathlib import Path
from typing import Any

import jsonschema
import rasa
import sqlalchemy as sa
from aiohttp import web
from rasa.core.actions.action import ActionExtractSlots, RemoteAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot import rasa_tuning
from bot.stores.tracker import KeptSQLTrackerStore
from tests.rasa.checks import run_checks

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = Domain.load(str(ROOT / "domain.yml"))
VALID_REPLY = {"events": [{"event": "slot", "name": "waybill", "value": "EA100000025CN"}], "responses": []}


def check_the_installed_rasa_is_the_tuned_one_and_the_tuning_is_applied() -> None:
    assert rasa.__version__ == rasa_tuning.SUPPORTED_RASA
    assert rasa_tuning.apply()
    assert RemoteAction._validate_action_result is rasa_tuning._validate_action_result


def check_another_rasa_version_is_left_as_shipped() -> None:
    applied, version = rasa_tuning._applied, rasa.__version__
    before = (RemoteAction._validate_action_result, EndpointConfig.session)
    try:
        rasa_tuning._applied = False
        rasa.__version__ = "3.7.0"
        assert rasa_tuning.apply() is False
        assert (RemoteAction._validate_action_result, EndpointConfig.session) == before
    finally:
        rasa_tuning._applied, rasa.__version__ = applied, version


def check_a_valid_action_reply_passes_without_checking_the_schema_again() -> None:
    rasa_tuning.apply()
    action = RemoteAction("action_answer_shipment", None)
    calls = {"check_schema": 0}
    validator_class = type(rasa_tuning.reply_validator())
    original = validator_class.check_schema

    def counted(schema: Any, *args: Any, **kwargs: Any) -> None:
        calls["check_schema"] += 1
        original(schema, *args, **kwargs)

    validator_class.check_schema = counted  # type: ignore[method-assign]
    try:
        for _ in range(5):
            assert action._validate_action_result(dict(VALID_REPLY)) is True
    finally:
        validator_class.check_schema = original  # type: ignore[method-assign]
    assert calls["check_schema"] == 0
    assert rasa_tuning.reply_validator() is rasa_tuning.reply_validator()


def check_an_invalid_action_reply_is_still_refused() -> None:
    rasa_tuning.apply()
    action = RemoteAction("action_answer_shipment", None)
    for invalid in (
        {"events": "not a list"},
        {"events": [{"name": "waybill"}]},  # an event without its type
        {"events": [], "responses": ["a bare string"]},
    ):
        try:
            action._validate_action_result(invalid)
        except jsonschema.ValidationError as error:
            assert "Failed to validate Action server response" in error.message
        else:
            raise AssertionError(f"accepted {invalid!r}")


def check_action_calls_reuse_one_connection() -> None:
    rasa_tuning.apply()
    peers: list[Any] = []

    async def scenario() -> None:
        async def webhook(request: web.Request) -> web.Response:
            peers.append(request.transport.get_extra_info("peername") if request.transport else None)
            return web.json_response({"events": [], "responses": []})

        app = web.Application()
        app.router.add_post("/webhook", webhook)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
        try:
            for _ in range(4):
                assert await endpoint.request(json={"next_action": "x"}, method="post") == {
                    "events": [],
                    "responses": [],
                }
        finally:
            await rasa_tuning.close_sessions()
            await runner.cleanup()

    asyncio.run(scenario())
    assert len(peers) == 4
    assert len(set(peers)) == 1, peers  # one client port: the connection was kept alive


def _tracker_after(text: str, metadata: dict[str, Any] | None = None, language: str | None = None) -> Any:
    events: list[Any] = [ActionExecuted("action_listen")]
    if language:
        events.append(SlotSet("language", language))
    events.append(UserUttered(text, {"name": "ask_status", "confidence": 1.0}, metadata=metadata or {}))
    return DialogueStateTracker.from_events("rest:language", events, DOMAIN.slots)


def _extract(tracker: Any) -> dict[str, Any]:
    # No action endpoint at all: a remote call would fail and set nothing.
    events = asyncio.run(ActionExtractSlots(None).run(None, None, tracker, DOMAIN))  # type: ignore[arg-type]
    return {event.key: event.value for event in events if isinstance(event, SlotSet)}


def check_the_language_follows_the_shipper_without_the_action_server() -> None:
    rasa_tuning.apply()
    assert _extract(_tracker_after("我的快递 EA100000025CN 在哪里")) == {"language": "zh"}
    assert _extract(_tracker_after("where is my parcel now?", language="zh")) == {"language": "en"}
    # Already the slot's value: nothing to store.
    assert _extract(_tracker_after("where is my parcel now?", language="en")) == {}
    # A button's payload or a bare number keeps the conversation's language.
    assert _extract(_tracker_after("/affirm", {"button": True}, language="zh")) == {}
    assert _extract(_tracker_after("EA100000025CN", language="zh")) == {}
    # The hub's hint (Telegram's language_code) decides a first message without words.
    assert _extract(_tracker_after("EA100000025CN", {"language": "zh-hans"})) == {"language": "zh"}


# ---------------------------------------------------------------- the tracker store


def _store(path: Path) -> KeptSQLTrackerStore:
    return KeptSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(path))


def _turn(tracker: DialogueStateTracker, text: str) -> None:
    tracker.update(UserUttered(text, {"name": "ask_status", "confidence": 1.0}))
    tracker.update(ActionExecuted("action_answer_shipment"))
    tracker.update(ActionExecuted("action_listen"))


def _new_tracker(sender: str) -> DialogueStateTracker:
    return DialogueStateTracker.from_events(
        sender, [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")],
        DOMAIN.slots,
    )  # fmt: skip


def _rows(path: Path, sender: str) -> list[str]:
    with closing(sqlite3.connect(path)) as db:
        return [
            row[0]
            for row in db.execute("SELECT type_name FROM events WHERE sender_id=? ORDER BY id", (sender,))
        ]


def _statements(store: KeptSQLTrackerStore) -> list[str]:
    seen: list[str] = []
    sa.event.listen(
        store.engine, "before_cursor_execute", lambda c, cur, statement, *a: seen.append(statement)
    )
    return seen


def check_a_kept_turn_reads_and_counts_nothing_and_stores_every_event() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tracker.db"
        store = _store(path)
        tracker = _new_tracker("rest:kept")
        asyncio.run(store.save(tracker))
        statements = _statements(store)
        for turn in range(3):
            again = asyncio.run(store.retrieve("rest:kept"))
            assert again is tracker
            _turn(tracker, f"where is EA10000002{turn}CN")
            asyncio.run(store.save(tracker))
        assert not [
            s for s in statements if "count(" in s.lower() or "SELECT events.id, events.sender_id" in s
        ]
        assert _rows(path, "rest:kept") == [e.type_name for e in tracker.events]


def check_a_restarted_rasa_resumes_the_conversation_from_the_table() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tracker.db"
        store = _store(path)
        tracker = _new_tracker("rest:restart")
        tracker.update(SlotSet("language", "zh"))
        _turn(tracker, "我的快递在哪里")
        asyncio.run(store.save(tracker))
        store.engine.dispose()
        restarted = _store(path)
        back = asyncio.run(restarted.retrieve("rest:restart"))
        assert back is not None and back is not tracker
        # Rasa's SQL store reads the session from its SessionStarted on (action_session_start is before).
        assert [e.as_dict() for e in back.events] == [e.as_dict() for e in tracker.events][1:]
        assert back.get_slot("language") == "zh"


def check_another_writer_and_an_unsaved_change_are_not_hidden_by_the_kept_tracker() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tracker.db"
        store, other = _store(path), _store(path)
        tracker = _new_tracker("rest:two")
        asyncio.run(store.save(tracker))
        # Another Rasa process answers a turn of the same conversation.
        theirs = asyncio.run(other.retrieve("rest:two"))
        assert theirs is not None
        _turn(theirs, "where is EA100000025CN")
        asyncio.run(other.save(theirs))
        seen = asyncio.run(store.retrieve("rest:two"))
        assert seen is not None and len(seen.events) == len(theirs.events)
        # A turn that failed before its save: its events are not the conversation's.
        seen.update(UserUttered("lost", {"name": "greet", "confidence": 1.0}))
        fresh = asyncio.run(store.retrieve("rest:two"))
        assert fresh is not None and fresh is not seen and len(fresh.events) == len(theirs.events)


def check_sqlite_keeps_one_connection() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tracker.db"
        with closing(sqlite3.connect(path)) as db:
            db.execute("PRAGMA journal_mode=WAL")
        store = _store(path)
        connections: list[Any] = []
        sa.event.listen(store.engine, "connect", lambda connection, record: connections.append(connection))
        for turn in range(3):
            tracker = asyncio.run(store.retrieve("rest:pool")) or _new_tracker("rest:pool")
            _turn(tracker, f"turn {turn}")
            asyncio.run(store.save(tracker))
        assert len(connections) <= 1
        with store.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL, in WAL mode


if __name__ == "__main__":
    sys.exit(run_checks(globals()))
