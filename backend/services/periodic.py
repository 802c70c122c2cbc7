"""Stopping the backend's periodic jobs (SLA watch, notice watch, monthly classes) the same way."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

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
