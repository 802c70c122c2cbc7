"""The backend's periodic jobs: claiming a period once among processes, a check loop, stopping them alike."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.models import ScheduledJobRun

logger = logging.getLogger(__name__)

# How long a shutdown waits for a run in progress (a transaction, the pushes of a notice run).
FINISH_RUN_S = 30.0


async def stop_job(
    task: asyncio.Task[None] | None, running: asyncio.Future[Any] | None, *, name: str
) -> None:
    """Cancel a job's loop `task`, then let its `running` run finish (shielded: never cut mid-transaction)."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    if running is not None and not running.done():
        try:
            await asyncio.wait_for(asyncio.shield(running), timeout=FINISH_RUN_S)
        except Exception:
            logger.exception("%s: the run in progress did not finish cleanly at shutdown", name)


def claimer() -> str:
    """Who claims a period: this host and process."""
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


def claim_period(session: Session, job: str, period: str, now: datetime) -> ScheduledJobRun | None:
    """Insert `job`'s claim row for `period`; None when another process has it (committed, or waiting to be).

    Call it inside the run's own transaction, after backend.db.begin_write: on PostgreSQL a second
    process's insert waits on the first's uncommitted key and then fails; on SQLite the write lock makes the
    second wait and then find the row. A process that dies mid-run leaves no claim.
    """
    if session.get(ScheduledJobRun, (job, period)) is not None:
        return None
    claim = ScheduledJobRun(job=job, period=period, claimed_at=now, claimed_by=claimer())
    try:
        with session.begin_nested():
            session.add(claim)
    except IntegrityError:
        return None
    return claim


T = TypeVar("T")


class PeriodicCheck(Generic[T]):
    """Runs `check` (blocking, in a worker thread) at once (or after one interval) and then every
    `interval_s` seconds."""

    def __init__(
        self,
        check: Callable[[], T],
        *,
        interval_s: float,
        name: str,
        wait_first: bool = False,
        then: Callable[[T], None] | None = None,
    ) -> None:
        self._check = check
        self.interval_s = interval_s
        self.name = name
        # A watch with nothing to catch up on at start-up waits one interval before its first run.
        self._wait_first = wait_first
        # Called on the event loop with each run's result (a publish to the consoles, say).
        self._then = then
        self._task: asyncio.Task[None] | None = None
        self._running: asyncio.Future[T] | None = None
        self.last: T | None = None

    def start(self) -> None:
        """Start the loop (its first check at once, or after one interval); an interval of 0 is off."""
        if self.interval_s > 0 and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name=self.name)

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        if self._wait_first:
            await asyncio.sleep(self.interval_s)
        while True:
            self._running = loop.run_in_executor(None, self._check)
            try:
                # Shielded: a shutdown waits for the transaction in progress instead of leaving it behind.
                self.last = await asyncio.shield(self._running)
                if self._then is not None:
                    self._then(self.last)
            except Exception:
                logger.exception("%s: the run failed; trying again in %.0f s", self.name, self.interval_s)
            await asyncio.sleep(self.interval_s)

    async def stop(self) -> None:
        """Cancel the loop and wait for a run in progress to finish."""
        task, self._task = self._task, None
        await stop_job(task, self._running, name=self.name)
