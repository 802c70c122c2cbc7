"""The actions' shared base: blocking work off the event loop, and the one polite answer when the
backend cannot be reached."""

from __future__ import annotations

import asyncio
import functools
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from backend.i18n import N_, t

from .client import BackendUnavailable
from .shipper_language import language

logger = logging.getLogger(__name__)

# Said when the database cannot be reached: polite, and it tells the customer what to do.
BACKEND_DOWN_TEXT = N_(
    "Sorry, I can't reach our shipment records right now. Please try again in a few minutes, "
    'or say "agent" and a person will take over.'
)

Work = Callable[[CollectingDispatcher, Tracker, dict[str, Any]], list[EventType]]
Method = TypeVar("Method", bound=Callable[..., dict[str, Any]])
Result = TypeVar("Result")


def say_backend_down(dispatcher: CollectingDispatcher, tracker: Tracker, failure: BackendUnavailable) -> None:
    """The one place where "the backend is unavailable" becomes words for the shipper."""
    logger.error("backend unavailable: %s", failure, exc_info=failure)
    dispatcher.utter_message(text=t(language(tracker), BACKEND_DOWN_TEXT))


async def run_blocking(
    work: Work,
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    domain: dict[str, Any],
    *,
    when_down: list[EventType] | None = None,
) -> list[EventType]:
    """Runs an action's work in a worker thread (the event loop goes on serving other conversations);
    when the backend is unavailable, says so and returns `when_down`."""

    def politely() -> list[EventType]:
        try:
            return work(dispatcher, tracker, domain)
        except BackendUnavailable as failure:
            say_backend_down(dispatcher, tracker, failure)
            return list(when_down or [])

    return await asyncio.to_thread(politely)


async def off_the_loop(work: Callable[[], Awaitable[Result]]) -> Result:
    """Runs async code that blocks inside (rasa-sdk's form validation calls our synchronous
    validate_<slot> methods, which read the database and parse with spaCy) on a private event loop in
    a worker thread, so that the action server's loop goes on serving the other conversations."""

    async def awaited() -> Result:
        return await work()

    return await asyncio.to_thread(asyncio.run, awaited())


def slots_when_backend_down(**slots: Any) -> Callable[[Method], Method]:
    """A form's validate_<slot> method that answers `slots` (and says why) when the backend is down."""

    def decorate(method: Method) -> Method:
        @functools.wraps(method)
        def politely(
            self: Any, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
        ) -> dict[str, Any]:
            try:
                return method(self, value, dispatcher, tracker, domain)
            except BackendUnavailable as failure:
                say_backend_down(dispatcher, tracker, failure)
                return dict(slots)

        return politely  # type: ignore[return-value]

    return decorate


class BlockingAction(Action, ABC):
    """An action whose work blocks on the backend. Abstract, so that rasa-sdk registers only the
    actions made from it."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        return await run_blocking(self.act, dispatcher, tracker, domain, when_down=self.when_down(tracker))

    def when_down(self, tracker: Tracker) -> list[EventType]:
        """The events to return when the backend is unavailable: none, unless the action says otherwise."""
        return []

    @abstractmethod
    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """The action's work, as rasa-sdk's `run` would do it."""
