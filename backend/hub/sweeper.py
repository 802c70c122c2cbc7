"""The turn sweeper: every few seconds, answers the turns a dead process left unanswered.

A process that dies between storing a shipper's message and answering it leaves the turn `with_bot`
with a lease; once the lease has run out, any backend's sweeper takes it up (Hub.sweep_turns claims
each turn in one conditional UPDATE, so with several processes exactly one answers it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from backend.hub.hub import Hub

logger = logging.getLogger(__name__)


class TurnSweeper:
    """Runs Hub.sweep_turns every `interval_s` seconds from the backend's lifespan; 0 turns it off."""

    def __init__(self, hub: Hub, *, interval_s: float) -> None:
        self._hub = hub
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.interval_s > 0 and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="turn-sweeper")

    async def _loop(self) -> None:
        while True:
            # Soon after start-up too: a restarted process answers what its predecessor left.
            await asyncio.sleep(self.interval_s)
            try:
                taken = await self._hub.sweep_turns()
            except Exception:
                logger.exception("turn sweep failed; trying again in %.0f s", self.interval_s)
                continue
            if taken:
                logger.info("turn sweep took up %d unanswered turns", taken)

    async def stop(self) -> None:
        """Stop sweeping; a turn cut short keeps its lease and is taken up again later."""
        task, self._task = self._task, None
        if task is None:
            return
        loop = task.get_loop()
        if loop is not asyncio.get_running_loop():
            # Started on another event loop (a test client runs start-up and shut-down on two).
            if not loop.is_closed():
                loop.call_soon_threadsafe(task.cancel)
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
