"""Whose customers a report or the volume watch shows: an agent their own, a supervisor anyone's.

Seed 1.3: each agent reports their own customers' shipments to the manager. An agent's page is narrowed
to the customers they own; a supervisor sees every owner's (grouped) or picks one with `?owner=`
(`ownership.UNOWNED`, "-", for the customers nobody owns).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import InvalidInput, NotAllowed
from backend.i18n import N_
from backend.models import Agent
from backend.services.ownership import UNOWNED

OTHER_OWNERS = N_("Agents see their own customers; only supervisors may choose another owner.")
NO_SUCH_OWNER = N_("No agent {agent}.")


def owner_scope(session: Session, agent: Agent, owner: str | None) -> str | None:
    """The owner a page is narrowed to (None: every owner); refuses an agent asking for someone else's."""
    wanted = (owner or "").strip()
    if agent.role != "supervisor":
        if wanted and wanted != agent.username:
            raise NotAllowed(OTHER_OWNERS)
        return agent.username
    if not wanted:
        return None
    if wanted == UNOWNED:
        return UNOWNED
    if session.scalar(select(Agent.id).where(Agent.username == wanted)) is None:
        raise InvalidInput(NO_SUCH_OWNER, agent=wanted)
    return wanted


def owner_choices(session: Session) -> list[tuple[str, str]]:
    """(username, display name) of every agent account, for a supervisor's owner filter."""
    return [
        (username, name)
        for username, name in session.execute(
            select(Agent.username, Agent.display_name).where(Agent.role == "agent").order_by(Agent.username)
        ).tuples()
    ]
