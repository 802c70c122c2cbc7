"""Logging in and out of the console: throttle, password check, a fresh session, and the audit trail.

The use case of the console's login form, without HTTP: the routes in backend.console.auth turn its
outcome into a page, a cookie or a redirect. Each database step is its own short transaction, run in a
worker thread; the hold-back after a failure is an asyncio sleep that holds no thread meanwhile.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from anyio import to_thread
from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.models import Agent, ConsoleSession, utcnow
from backend.security import throttle
from backend.security.accounts import DEMO_USERNAMES, get_agent
from backend.security.passwords import hash_password, needs_rehash, spend_verify_time, verify_password
from backend.security.sessions import SessionPolicy, end_session, load_session, start_session
from backend.services.audit import record_audit_event

THROTTLE_ACTOR = "system:login_throttle"


@dataclass(frozen=True)
class LoginRequest:
    """What a login form brings: the name (as typed), the password, and who is asking from where."""

    username: str
    password: str
    client_ip: str
    user_agent: str | None
    # The session cookie the browser still had, if any: it ends at this login.
    old_token: str | None


@dataclass(frozen=True)
class LoggedIn:
    """The name and password opened an account: the new session's cookie token."""

    token: str


@dataclass(frozen=True)
class Locked:
    """Logging in is paused for this name or address; nothing was checked or counted."""

    retry_after_s: int


@dataclass(frozen=True)
class Refused:
    """Wrong name or password; `now_locked` when this failure paused logging in."""

    now_locked: bool


LoginOutcome = LoggedIn | Locked | Refused


def find_session(
    factory: sessionmaker[Session], token: str | None, *, policy: SessionPolicy, touch: bool = True
) -> ConsoleSession | None:
    """The live console session of a cookie token, or None, in its own transaction committed at once.

    Committed at once so that other transactions of the same request (the hub's, in worker threads) do
    not wait behind a lock this one holds on SQLite.
    """
    if not token:
        return None
    with session_scope(factory) as db:
        return load_session(db, token, policy=policy, touch=touch)


def _check_password(
    factory: sessionmaker[Session], username: str, password: str, production: bool
) -> int | None:
    """The id of the active account this name and password open, else None (as slowly either way)."""
    with session_scope(factory) as db:
        agent = get_agent(db, username)
        usable = agent is not None and agent.active and not (production and agent.username in DEMO_USERNAMES)
        if agent is None or not usable:
            spend_verify_time(password)
            return None
        return agent.id if verify_password(password, agent.password_hash) else None


def _open_session(
    factory: sessionmaker[Session],
    request: LoginRequest,
    *,
    agent_id: int,
    attempt: throttle.Attempt,
    policy: SessionPolicy,
) -> str:
    """Record the success, open a session (ending the one the browser had) and audit the login."""
    with session_scope(factory) as db:
        throttle.finish_attempt(db, attempt, success=True)
        agent = db.get(Agent, agent_id)
        assert agent is not None
        if needs_rehash(agent.password_hash):
            agent.password_hash = hash_password(request.password)
        if request.old_token:
            # A fresh token at every login: a token planted before it (session fixation) is worth nothing.
            previous = load_session(db, request.old_token, policy=policy)
            if previous is not None:
                end_session(db, previous)
        token, row = start_session(
            db, agent=agent, client_ip=request.client_ip, user_agent=request.user_agent, policy=policy
        )
        record_audit_event(
            db,
            actor=agent.actor,
            action="login",
            agent_id=agent.id,
            client_ip=request.client_ip,
            data={"session": row.id[:12]},
        )
        return token


def _audit_lockouts(factory: sessionmaker[Session], attempt: throttle.Attempt, client_ip: str) -> None:
    with session_scope(factory) as db:
        for lock in attempt.would_lock:
            record_audit_event(
                db,
                actor=THROTTLE_ACTOR,
                action="login_locked",
                client_ip=client_ip,
                data={
                    "scope": lock.scope,
                    "key": lock.key,
                    "until": lock.until.isoformat(),
                    "failures": lock.failures,
                },
            )


async def log_in(
    factory: sessionmaker[Session],
    request: LoginRequest,
    *,
    production: bool,
    throttle_policy: throttle.ThrottlePolicy,
    session_policy: SessionPolicy,
) -> LoginOutcome:
    """The throttle first, then the password; a failure is held back by the throttle's delay."""
    name = throttle.normalise_username(request.username)

    def begin() -> throttle.Attempt:
        with session_scope(factory) as db:
            return throttle.begin_attempt(
                db, username=name, client_ip=request.client_ip, policy=throttle_policy
            )

    attempt = await to_thread.run_sync(begin)
    if attempt.locked is not None:
        return Locked(attempt.locked.retry_after_s(utcnow()))
    agent_id = await to_thread.run_sync(_check_password, factory, name, request.password, production)
    if agent_id is None:
        if attempt.would_lock:
            await to_thread.run_sync(_audit_lockouts, factory, attempt, request.client_ip)
        # Slows a guesser down; asyncio.sleep holds no worker thread meanwhile.
        await asyncio.sleep(attempt.delay_s)
        return Refused(now_locked=bool(attempt.would_lock))
    token = await to_thread.run_sync(
        lambda: _open_session(factory, request, agent_id=agent_id, attempt=attempt, policy=session_policy)
    )
    return LoggedIn(token)


def log_out(factory: sessionmaker[Session], *, session_id: str, client_ip: str) -> None:
    """End a console session and put the logout on the audit trail."""
    with session_scope(factory) as db:
        row = db.get(ConsoleSession, session_id)
        if row is not None:
            end_session(db, row)
            record_audit_event(
                db,
                actor=row.agent.actor,
                action="logout",
                agent_id=row.agent_id,
                client_ip=client_ip,
                data={"session": row.id[:12]},
            )
