"""Server-side console sessions and CSRF tokens.

The session cookie carries a random token; the database keeps only its SHA-256, so a copy of the table
logs nobody in. Each session has its own CSRF token (synchroniser pattern) that pages carry in
`<meta name="csrf-token">` and forms in a hidden `csrf_token` field. The login form, which comes before
any session, uses a signed double-submit token instead: a random nonce in a cookie, and its HMAC in the form.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from backend.models import Agent, ConsoleSession, utcnow

SESSION_COOKIE = "console_session"
LOGIN_CSRF_COOKIE = "console_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
# Ended or expired sessions are kept this long (who was logged in when), then purged at a later login.
KEEP_ENDED = timedelta(days=30)


@dataclass(frozen=True)
class SessionPolicy:
    """How long a console login lasts."""

    # Logged out after this long without a request (a lunch break is fine, a night is not).
    idle: timedelta = timedelta(hours=2)
    # Logged out this long after logging in, however busy: a working day and some.
    lifetime: timedelta = timedelta(hours=12)
    # last_seen_at is written at most this often: one write per request would contend for SQLite's lock.
    touch_every: timedelta = timedelta(minutes=1)


DEFAULT_POLICY = SessionPolicy()


def token_digest(token: str) -> str:
    """The SHA-256 (hex) under which a session token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def tokens_match(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison of two tokens; False when either is missing."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def start_session(
    session: Session,
    *,
    agent: Agent,
    client_ip: str | None,
    user_agent: str | None,
    now: datetime | None = None,
    policy: SessionPolicy = DEFAULT_POLICY,
) -> tuple[str, ConsoleSession]:
    """Open a session for `agent`; returns the cookie's token (shown once, never stored) and the row."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    row = ConsoleSession(
        id=token_digest(token),
        agent_id=agent.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + policy.lifetime,
        client_ip=(client_ip or "")[:64] or None,
        user_agent=(user_agent or "")[:300] or None,
    )
    session.add(row)
    session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < now - KEEP_ENDED))
    session.flush()
    return token, row


def load_session(
    session: Session,
    token: str | None,
    *,
    now: datetime | None = None,
    policy: SessionPolicy = DEFAULT_POLICY,
    touch: bool = True,
) -> ConsoleSession | None:
    """The live session of this cookie token (its agent still active), or None; refreshes last_seen_at.

    `touch=False` only looks: a live stream re-checking its login must not keep an idle session alive.
    """
    if not token or len(token) > 200:
        return None
    now = now or utcnow()
    row = session.scalars(
        select(ConsoleSession).where(ConsoleSession.id == token_digest(token))
    ).one_or_none()
    if row is None or row.ended_at is not None or not row.agent.active:
        return None
    if now >= row.expires_at or now >= row.last_seen_at + policy.idle:
        return None
    if touch and now - row.last_seen_at >= policy.touch_every:
        row.last_seen_at = now
        session.flush()
    return row


def end_session(session: Session, row: ConsoleSession, *, now: datetime | None = None) -> None:
    """Log this session out (the row stays, with its end time, until purged)."""
    if row.ended_at is None:
        row.ended_at = now or utcnow()
        session.flush()


def end_sessions_of(session: Session, agent_id: int, *, now: datetime | None = None) -> int:
    """Log an agent out everywhere (after a password change); returns how many sessions ended."""
    now = now or utcnow()
    rows = list(
        session.scalars(
            select(ConsoleSession).where(
                ConsoleSession.agent_id == agent_id, ConsoleSession.ended_at.is_(None)
            )
        )
    )
    for row in rows:
        row.ended_at = now
    session.flush()
    return len(rows)


def new_login_nonce() -> str:
    """A fresh nonce for the login form's CSRF cookie."""
    return secrets.token_urlsafe(24)


def login_csrf_token(key: bytes, nonce: str) -> str:
    """The login form's CSRF token: an HMAC of the cookie's nonce, so a forged form cannot match a cookie."""
    return hmac.new(key, b"console-login-csrf\x00" + nonce.encode(), hashlib.sha256).hexdigest()


def check_login_csrf(key: bytes, nonce: str | None, given: str | None) -> bool:
    """True when the form's token is the HMAC of the cookie's nonce."""
    if not nonce or len(nonce) > 100:
        return False
    return tokens_match(login_csrf_token(key, nonce), given)
