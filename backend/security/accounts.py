"""Console accounts: create an agent or supervisor, set a password, and the demo accounts of `make run`."""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.models import AGENT_ROLES, Agent
from backend.security.passwords import check_new_password, hash_password, verify_password
from backend.security.sessions import end_sessions_of
from backend.services.audit import record_audit_event

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
CLI_ACTOR = "system:cli"


@dataclass(frozen=True)
class DemoAccount:
    """A demo login of `make run`: its name, role, and the file under var/ that holds its password."""

    username: str
    display_name: str
    role: str
    password_file: str


# Never in production (backend.__main__ refuses, and the login refuses these names there).
DEMO_ACCOUNTS = (
    DemoAccount("demo", "Demo Agent", "agent", "demo_agent_password"),
    DemoAccount("demo-supervisor", "Demo Supervisor", "supervisor", "demo_supervisor_password"),
)
DEMO_USERNAMES = frozenset(account.username for account in DEMO_ACCOUNTS)


class AccountError(ValueError):
    """A refused account change, with a sentence for the person at the terminal."""


def check_username(username: str) -> str:
    """The name as stored (lower case), or AccountError when it is not 2-64 of a-z 0-9 . _ -."""
    name = username.strip().lower()
    if not USERNAME.fullmatch(name):
        raise AccountError(
            f"{username!r} is not a valid name: 2 to 64 characters of a-z, 0-9, '.', '_' and '-', "
            "starting with a letter or digit"
        )
    return name


def get_agent(session: Session, username: str) -> Agent | None:
    """The account with this name (any case), or None."""
    return session.scalars(select(Agent).where(Agent.username == username.strip().lower())).one_or_none()


def create_agent(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    display_name: str | None = None,
    actor: str = CLI_ACTOR,
) -> Agent:
    """Create an agent or supervisor with an argon2 hash of `password`; refuses a taken name."""
    name = check_username(username)
    if role not in AGENT_ROLES:
        raise AccountError(f"role must be one of {', '.join(AGENT_ROLES)}; got {role!r}")
    try:
        check_new_password(password)
    except ValueError as error:
        raise AccountError(str(error)) from error
    if get_agent(session, name) is not None:
        raise AccountError(f"there is already an account named {name!r}")
    agent = Agent(
        username=name,
        display_name=(display_name or name).strip()[:100] or name,
        role=role,
        password_hash=hash_password(password),
        active=True,
    )
    session.add(agent)
    session.flush()
    record_audit_event(session, actor=actor, action="agent_created", agent_id=agent.id, data={"role": role})
    return agent


def set_agent_password(session: Session, *, username: str, password: str, actor: str = CLI_ACTOR) -> Agent:
    """Give an account a new password and log it out everywhere."""
    try:
        check_new_password(password)
    except ValueError as error:
        raise AccountError(str(error)) from error
    agent = get_agent(session, username)
    if agent is None:
        raise AccountError(f"there is no account named {username.strip().lower()!r}")
    agent.password_hash = hash_password(password)
    session.flush()
    ended = end_sessions_of(session, agent.id)
    record_audit_event(
        session, actor=actor, action="password_set", agent_id=agent.id, data={"sessions_ended": ended}
    )
    return agent


def write_secret_file(path: Path, value: str) -> None:
    """Write a secret readable by its owner only (mode 600 from the first byte)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    # O_CREAT's mode applies to new files only: an older file keeps its mode unless told.
    path.chmod(0o600)


def ensure_demo_agents(session: Session, var_dir: Path) -> list[tuple[DemoAccount, str]]:
    """Make sure each demo account exists with the random password kept in var_dir.

    Returns each account with what happened to it: "created", "password reset" or "kept".

    A new account gets a new random password (or the one its file already holds), written to its file. An
    existing account whose file is missing or no longer matches gets a new random password: the file is
    how the developer knows it.
    """
    changed: list[tuple[DemoAccount, str]] = []
    for account in DEMO_ACCOUNTS:
        path = var_dir / account.password_file
        kept = path.read_text().strip() if path.exists() else ""
        try:
            check_new_password(kept)
        except ValueError:
            kept = ""
        agent = get_agent(session, account.username)
        if agent is None:
            password = kept or secrets.token_urlsafe(18)
            create_agent(
                session,
                username=account.username,
                password=password,
                role=account.role,
                display_name=account.display_name,
            )
            changed.append((account, "created"))
        elif kept and verify_password(kept, agent.password_hash):
            changed.append((account, "kept"))
            continue
        else:
            password = secrets.token_urlsafe(18)
            set_agent_password(session, username=account.username, password=password)
            changed.append((account, "password reset"))
        if password != kept:
            write_secret_file(path, password)
    return changed
