"""The care-message job: every CARE_MESSAGE_CHECK_S, message campaigns' due targets get the follow-up script
through the hub, and targets whose period ended unanswered become 'unreachable'."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.hub import Hub
from backend.services import care_messages
from backend.services.care_messages import Due
from backend.services.notices import Policy
from backend.services.periodic import PeriodicCheck

logger = logging.getLogger(__name__)
# How long one run may take on the event loop before the job's thread stops waiting for it.
RUN_TIMEOUT_S = 300.0


def prepare(factory: sessionmaker[Session], policy: Policy, *, now: datetime | None = None) -> list[Due]:
    """One run's database work: the ended periods' unanswered targets closed, then what is due now."""
    with session_scope(factory) as session:
        expired = care_messages.expire(session, tz=policy.tz, now=now)
    if expired:
        logger.info("care messages: %d target(s) unanswered at the end of their period", expired)
    with session_scope(factory) as session:
        return care_messages.due_now(session, policy=policy, now=now)


async def run_once(
    hub: Hub, factory: sessionmaker[Session], policy: Policy, *, now: datetime | None = None
) -> list[int]:
    """One run: each due target's script said through the hub (in the transcript, on the chat's own
    channel). Returns the ids of the targets sent."""
    due = await asyncio.to_thread(prepare, factory, policy, now=now)
    sent: list[int] = []
    for item in due:
        try:
            said = await hub.ask_care(item.target_id, item.conversation_id)
        except Exception:  # one chat's failure must not stop the others; the target stays due
            logger.exception("care message of target %d to %s failed", item.target_id, item.conversation_id)
            continue
        if said is not None:
            sent.append(item.target_id)
    if sent:
        logger.info("care messages: %d follow-up script(s) sent", len(sent))
    return sent


def care_message_job(hub: Hub, factory: sessionmaker[Session], settings: Any) -> PeriodicCheck[list[int]]:
    """The backend's job (create it on the running event loop): each run's sends happen on that loop, where
    the hub and its locks live, while PeriodicCheck's thread waits for them (a shutdown lets a run finish)."""
    loop = asyncio.get_running_loop()
    policy = Policy.from_settings(settings)

    def check() -> list[int]:
        return asyncio.run_coroutine_threadsafe(run_once(hub, factory, policy), loop).result(RUN_TIMEOUT_S)

    return PeriodicCheck(
        check, interval_s=settings.care_message_check_s, name="care messages", wait_first=True
    )
