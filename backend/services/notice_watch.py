"""The notice watch: every few seconds new scans and broken promises become notices; due ones are sent."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.hub import Hub
from backend.services import notices
from backend.services.notices import Claimed, Policy, ScanRun
from backend.services.periodic import stop_job

logger = logging.getLogger(__name__)


def prepare(
    factory: sessionmaker[Session], policy: Policy, *, now: datetime | None = None
) -> tuple[ScanRun, list[Claimed]]:
    """One run's database work: new notices in one transaction, the due ones claimed in another."""
    with session_scope(factory) as session:
        run = notices.scan(session, policy=policy, now=now)
    with session_scope(factory) as session:
        claimed = notices.claim_due(session, policy=policy, now=now)
    if run.notices:
        logger.info("notice watch: %d notice(s), %d delivery(ies) written", run.notices, run.deliveries)
    return run, claimed


async def run_once(
    hub: Hub, factory: sessionmaker[Session], policy: Policy, *, now: datetime | None = None
) -> list[Claimed]:
    """One run: write the new notices, then push each due one as the bot's line through the hub (in the
    transcript, on the conversation's own channel). Returns what was sent."""
    run, claimed = await asyncio.to_thread(prepare, factory, policy, now=now)
    for cid in run.held_for:
        # The agents on that conversation's page hear that a notice waits for them (never the shipper).
        hub.announce(cid, {"type": "notice", "conversation_id": cid})
    sent: list[Claimed] = []
    for item in claimed:
        try:
            said = await hub.push_while_bot(item.conversation_id, item.text)
        except Exception:
            logger.exception("notice %d to %s could not be sent", item.delivery_id, item.conversation_id)
            await asyncio.to_thread(_mark, factory, item.delivery_id, "failed")
            continue
        if said is None:
            # A person took the conversation between the claim and the push: it waits for them instead.
            await asyncio.to_thread(_mark, factory, item.delivery_id, "held_for_agent")
            hub.announce(item.conversation_id, {"type": "notice", "conversation_id": item.conversation_id})
            continue
        sent.append(item)
    return sent


def _mark(factory: sessionmaker[Session], delivery_id: int, status: str) -> None:
    with session_scope(factory) as session:
        notices.mark_unsent(session, delivery_id, status)


class NoticeWatcher:
    """Runs the watch every `interval_s` seconds from the backend's lifespan; safe with several backends."""

    def __init__(
        self, hub: Hub, factory: sessionmaker[Session], policy: Policy, *, interval_s: float
    ) -> None:
        self._hub = hub
        self._factory = factory
        self._policy = policy
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None
        self._running: asyncio.Task[list[Claimed]] | None = None

    def start(self) -> None:
        """Start the loop (no-op when the interval is 0)."""
        if self.interval_s > 0 and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="notice-watch")

    async def _loop(self) -> None:
        while True:
            # The first run waits one interval too: start-up stays quick.
            await asyncio.sleep(self.interval_s)
            self._running = asyncio.ensure_future(run_once(self._hub, self._factory, self._policy))
            try:
                # Shielded: a shutdown lets the run in progress finish its pushes instead of cutting them.
                await asyncio.shield(self._running)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("notice watch run failed; trying again in %.0f s", self.interval_s)

    async def stop(self) -> None:
        """Cancel the loop and wait for a run in progress to finish."""
        task, self._task = self._task, None
        await stop_job(task, self._running, name="notice watch")
