"""Guarded patches that take Rasa 3.6.21's avoidable costs off every custom-action turn.

Imported by Rasa with the project's channels (credentials.yml) and tracker store (endpoints.yml), before
Sanic starts serving; `apply()` is idempotent. Each patch replaces one method of Rasa 3.6.21 whose source
was read for it, so on any other Rasa version nothing is patched and a warning says so: Rasa then runs
as shipped, slower but correct. Measured by `make bench` (issue 17):

- `RemoteAction._validate_action_result` called `jsonschema.validate`, which checks the schema against
  its meta-schema on every call (about 14 ms); the validator is built and checked once instead, and an
  invalid reply is still refused with the same `ValidationError`.
- `EndpointConfig.request` opened a new aiohttp session (`EndpointConfig.session`), so a new TCP
  connection, for every call; the session is kept per event loop, with keep-alive shorter than the
  action server's (Sanic: 5 s) so a pooled connection is never one the server is closing.
- After each user message `ActionExtractSlots` replayed the whole conversation into a new tracker to
  call `action_validate_slot_mappings` on the action server, whose only job is the `language` slot; the
  same rule (bot/language_slot.py) runs here instead, in-process.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import aiohttp
import jsonschema
import rasa
from rasa.core.actions.action import ActionExtractSlots, RemoteAction
from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
from rasa.shared.core.constants import ACTION_VALIDATE_SLOT_MAPPINGS
from rasa.shared.core.events import Event, SlotSet
from rasa.utils.endpoints import EndpointConfig

from bot.language_slot import SLOT as LANGUAGE_SLOT
from bot.language_slot import slot_value

logger = logging.getLogger(__name__)

SUPPORTED_RASA = "3.6.21"
# Sanic closes an idle keep-alive connection after 5 s; reusing one it is closing would fail the call.
KEEPALIVE_S = 4.0

_applied = False
_originals: dict[str, Any] = {}


def supported() -> bool:
    """The installed Rasa is the one these patches were written against."""
    return rasa.__version__ == SUPPORTED_RASA


def apply() -> bool:
    """Applies every patch once; False (and a warning) on a Rasa version they were not written for."""
    global _applied
    if _applied:
        return True
    if not supported():
        logger.warning(
            "Rasa %s is installed, the tuning in %s was written for %s: not applied, Rasa runs as shipped",
            rasa.__version__,
            __name__,
            SUPPORTED_RASA,
        )
        return False
    _originals.update(
        validate=RemoteAction._validate_action_result,
        session=EndpointConfig.session,
        validation_action=ActionExtractSlots._execute_validation_action,
        run=RemoteAction.run,
    )
    RemoteAction._validate_action_result = _validate_action_result
    RemoteAction.run = _timed_run
    EndpointConfig.session = _kept_session
    ActionExtractSlots._execute_validation_action = _execute_validation_action
    _applied = True
    logger.info("Rasa %s tuning applied: one reply validator, kept-alive action calls, local language slot",
                rasa.__version__)  # fmt: skip
    return True


# ---------------------------------------------------------------- where a turn's time goes

# Milliseconds and counts since start, per part of a turn: `turn` (the channel's whole handling),
# `tracker_read`, `tracker_save`, `action_call` (a remote action as Rasa waits for it). Served by our
# channels at GET /webhooks/<channel>/stats for `make bench`'s breakdown; sums, so reading is free.
TIMINGS_MS: defaultdict[str, float] = defaultdict(float)
COUNTS: Counter[str] = Counter()


@contextmanager
def timed(part: str) -> Iterator[None]:
    """Adds the time of the block to TIMINGS_MS[part] and one to COUNTS[part]."""
    started = time.perf_counter()
    try:
        yield
    finally:
        TIMINGS_MS[part] += (time.perf_counter() - started) * 1000
        COUNTS[part] += 1


def timings() -> dict[str, dict[str, float]]:
    return {"ms": {k: round(v, 2) for k, v in TIMINGS_MS.items()}, "count": dict(COUNTS)}


async def _timed_run(self: RemoteAction, *args: Any, **kwargs: Any) -> Any:
    with timed("action_call"):
        return await _originals["run"](self, *args, **kwargs)


# ---------------------------------------------------------------- the action reply validator, built once

_validator: Any = None


def reply_validator() -> Any:
    """A validator for Rasa's own action-reply schema, the schema checked against its meta-schema once."""
    global _validator
    if _validator is None:
        schema = RemoteAction.action_response_format_spec()
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        _validator = cls(schema)
    return _validator


def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    # What jsonschema.validate raises (the best-matching error), with Rasa's own hint appended.
    error = jsonschema.exceptions.best_match(reply_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        ". Failed to validate Action server response from API, make sure your response from the Action "
        "endpoint is valid."
    )
    raise error


# ---------------------------------------------------------------- a kept-alive session per event loop

_sessions: dict[tuple[int, Any], aiohttp.ClientSession] = {}


def _session_for(endpoint: EndpointConfig) -> aiohttp.ClientSession:
    loop = asyncio.get_running_loop()
    auth = (
        aiohttp.BasicAuth(endpoint.basic_auth["username"], endpoint.basic_auth["password"])
        if endpoint.basic_auth
        else None
    )
    key = (id(loop), (tuple(sorted((endpoint.headers or {}).items())), auth))
    session = _sessions.get(key)
    if session is None or session.closed:
        session = aiohttp.ClientSession(
            headers=endpoint.headers,
            auth=auth,
            timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_S),
        )
        _sessions[key] = session
    return session


@asynccontextmanager
async def _borrowed(session: aiohttp.ClientSession) -> AsyncIterator[aiohttp.ClientSession]:
    # `EndpointConfig.request` closes what `session()` gives it; a kept session must outlive the call.
    yield session


def _kept_session(self: EndpointConfig) -> Any:
    return _borrowed(_session_for(self))


async def close_sessions() -> None:
    """Closes the kept sessions of the running loop (on server stop)."""
    loop_id = id(asyncio.get_running_loop())
    for key in [key for key in _sessions if key[0] == loop_id]:
        await _sessions.pop(key).close()


# ---------------------------------------------------------------- the language slot, in-process

LOCAL_VALIDATION_SLOTS = frozenset({LANGUAGE_SLOT})


async def _execute_validation_action(
    self: ActionExtractSlots,
    extraction_events: list[Event],
    output_channel: Any,
    nlg: Any,
    tracker: Any,
    domain: Any,
) -> list[Event]:
    """What `action_validate_slot_mappings` (bot/actions/language.py) answers, without the remote call.

    It sets the `language` slot from the latest message and passes every other extracted slot through
    unchanged; a slot set to the value it already has is left out (one event less to store per turn).
    """
    slot_events = [event for event in extraction_events if isinstance(event, SlotSet)]
    if ACTION_VALIDATE_SLOT_MAPPINGS not in domain.user_actions:
        return list(slot_events)
    if LANGUAGE_SLOT not in tracker.slots:
        # A domain this module was not written for: ask the action server, as Rasa would.
        return await _originals["validation_action"](
            self, extraction_events, output_channel, nlg, tracker, domain
        )
    latest = tracker.latest_message
    message = {"text": latest.text, "metadata": latest.metadata} if latest is not None else {}
    previous = tracker.get_slot(LANGUAGE_SLOT)
    value = slot_value(message, previous)
    events: list[Event] = [SlotSet(LANGUAGE_SLOT, value)] if value != previous else []
    return events + [event for event in slot_events if event.key not in LOCAL_VALIDATION_SLOTS]
