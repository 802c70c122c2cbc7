"""Rasa's tracker-store fail-safe made loud: a database error fails the turn instead of forgetting it.

Rasa 3.6 wraps every tracker store in `FailSafeTrackerStore` (rasa/core/tracker_store.py, 3.6.21). On
any error it logs and carries on: `retrieve` returns None, so Rasa starts a fresh tracker (the shipper's
complaint is forgotten mid-way), and `save` writes the tracker into an `InMemoryTrackerStore` of the
process (the turn looks answered, nothing is stored, and the next turn reads the old state back). Here,
on the Rasa version whose source was read for it, those methods let the error through instead
(`TrackerStoreUnavailable`): Rasa answers the hub's request with 503, so the hub's retry and "not
answered" path apply, and one log line says what happened. The store's state (ok or failing, since
when, the last error's class) is kept for `TrackerStoreStatusInput`'s route `GET /webhooks/tracker_store/`
(health checks, the backend's `/api/health`). On another Rasa version nothing is patched and a warning
says so.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import rasa
from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.tracker_store import FailSafeTrackerStore
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import BaseHTTPResponse, HTTPResponse

logger = logging.getLogger(__name__)

SUPPORTED_RASA = "3.6.21"
# The routes whose answer depends on the tracker store and would otherwise be a 200 with no messages:
# Rasa's REST channel catches every error of a turn and answers with what was collected.
TURN_ROUTES = ("/webhooks/hub/webhook", "/webhooks/rest/webhook")


class TrackerStoreUnavailable(RuntimeError):
    """The tracker store failed: the turn must fail, not go on with a fresh or memory-only tracker."""


@dataclass
class StoreState:
    """What this Rasa process knows about its tracker store."""

    ok: bool = True
    since: float = 0.0  # wall-clock time of the last change
    failures: int = 0  # failed calls since the process started
    last_error: str | None = None  # the error's class, never its text (it may hold a URL or a password)
    last_operation: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "tracker_store": "ok" if self.ok else "failing",
            "since": self.since,
            "failures": self.failures,
            "last_error": self.last_error,
            "last_operation": self.last_operation,
        }


STATE = StoreState(since=time.time())
# The failures of the request being served (set by the app-level middleware, read after the handler).
_REQUEST_FAILURES: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "tracker_store_failures", default=None
)
_originals: dict[str, Any] = {}


def supported() -> bool:
    """The installed Rasa is the one whose fail-safe source this module replaces."""
    return rasa.__version__ == SUPPORTED_RASA


def _failed(store: FailSafeTrackerStore, operation: str, error: Exception) -> TrackerStoreUnavailable:
    name = type(store._tracker_store).__name__
    if STATE.ok:
        STATE.ok, STATE.since = False, time.time()
    STATE.failures += 1
    STATE.last_error, STATE.last_operation = type(error).__name__, operation
    failures = _REQUEST_FAILURES.get()
    if failures is not None:
        failures.append(operation)
    # One line, no traceback: the cause is the database, and its class says which way it failed.
    logger.error(
        "tracker store %s failed to %s a conversation (%s): the turn fails and is not answered from a "
        "fresh or in-memory tracker",
        name,
        operation,
        type(error).__name__,
    )
    return TrackerStoreUnavailable(f"{name}.{operation} failed: {type(error).__name__}")


def _succeeded() -> None:
    if not STATE.ok:
        logger.warning("tracker store works again after %d failed calls", STATE.failures)
        STATE.ok, STATE.since = True, time.time()


def _loud(method: str, operation: str) -> Callable[..., Awaitable[Any]]:
    """`FailSafeTrackerStore.<method>` that lets the wrapped store's error through, recorded and logged."""

    async def call(self: FailSafeTrackerStore, *args: Any) -> Any:
        try:
            result = await getattr(self._tracker_store, method)(*args)
        except Exception as error:
            raise _failed(self, operation, error) from error
        _succeeded()
        return result

    call.__name__ = call.__qualname__ = method
    return call


# Rasa 3.6.21's four fail-safe methods: retrieve and retrieve_full_tracker returned None (a fresh
# tracker follows), save wrote to an InMemoryTrackerStore, keys returned [].
_retrieve = _loud("retrieve", "retrieve")
_retrieve_full_tracker = _loud("retrieve_full_tracker", "retrieve_full_tracker")
_save = _loud("save", "save")
_keys = _loud("keys", "list")


def install() -> bool:
    """Makes `FailSafeTrackerStore` fail loudly (idempotent); False and a warning on another Rasa."""
    if _originals:
        return True
    if not supported():
        logger.warning(
            "Rasa %s is installed, %s was written for %s: Rasa's fail-safe stays as shipped (a database "
            "error starts a fresh tracker or saves to memory)",
            rasa.__version__,
            __name__,
            SUPPORTED_RASA,
        )
        return False
    for name, patched in (
        ("retrieve", _retrieve),
        ("retrieve_full_tracker", _retrieve_full_tracker),
        ("save", _save),
        ("keys", _keys),
    ):
        _originals[name] = getattr(FailSafeTrackerStore, name)
        setattr(FailSafeTrackerStore, name, patched)
    return True


def uninstall() -> None:
    """Puts Rasa's own methods back (the tests compare both behaviours)."""
    for name, original in _originals.items():
        setattr(FailSafeTrackerStore, name, original)
    _originals.clear()


async def track_request(_request: Request) -> None:
    """App-level request middleware: collect this request's tracker-store failures."""
    _REQUEST_FAILURES.set([])


async def fail_the_turn(request: Request, answer: BaseHTTPResponse) -> HTTPResponse | None:
    """App-level response middleware: a turn whose tracker store failed answers 503, not an empty 200."""
    failures = _REQUEST_FAILURES.get()
    if not failures or request.path.rstrip("/") not in TURN_ROUTES or (answer.status or 200) >= 400:
        return None
    return response.json(
        {"error": "tracker_store_unavailable", "detail": "the conversation could not be read or saved"},
        status=503,
    )


async def probe(agent: Any) -> bool:
    """One cheap read of the events table through the store's own engine; True for stores without one."""
    store = getattr(getattr(agent, "tracker_store", None), "_tracker_store", None)
    engine = getattr(store, "engine", None)
    if engine is None:
        return True
    import sqlalchemy as sa

    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1 FROM events LIMIT 1"))
    except Exception as error:
        if STATE.ok:
            STATE.ok, STATE.since = False, time.time()
        STATE.last_error, STATE.last_operation = type(error).__name__, "probe"
        return False
    _succeeded()
    return True


class TrackerStoreStatusInput(InputChannel):
    """Not a door for messages: `GET /webhooks/tracker_store/` reports the tracker store's state.

    Listed in the credentials Rasa is started with (tools/stack.py adds it); registering it also turns
    a failed tracker store into a 503 on the hub and REST webhooks.
    """

    @classmethod
    def name(cls) -> str:
        return "tracker_store"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        install()
        app = Sanic.get_app()
        # Channels are registered before the server starts: app-wide middleware still applies.
        app.register_middleware(track_request, "request")
        app.register_middleware(fail_the_turn, "response")
        blueprint = Blueprint("tracker_store_status", __name__)

        @blueprint.route("/", methods=["GET"])
        async def status(request: Request) -> HTTPResponse:
            agent = getattr(request.app.ctx, "agent", None)
            ok = await probe(agent) if agent is not None else STATE.ok
            return response.json(
                {**STATE.as_dict(), "installed": bool(_originals)}, status=200 if ok else 503
            )

        return blueprint
