"""Integration tokens: created once and shown once, stored as a SHA-256, checked in constant time, revoked."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.clock import utcnow
from backend.models import INTEGRATION_SCOPES, IntegrationToken

log = logging.getLogger(__name__)

# Recognisable in logs and secret scanners; the rest is 256 bits from the OS.
TOKEN_PREFIX = "cit_"
# last_used_at is a hint for whoever audits tokens, not a log: one write a minute per token is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenError(Exception):
    """A token command that cannot be done, in one sentence."""


@dataclass(frozen=True)
class NewToken:
    """A token just created: `secret` exists only here, the database keeps its hash."""

    record: IntegrationToken
    secret: str


def hash_token(secret: str) -> str:
    """The SHA-256 (hex) kept in place of a token; a random 256-bit token needs no slow hash."""
    return hashlib.sha256(secret.encode()).hexdigest()


def redacted(secret: str) -> str:
    """What logs may show of a token: its first characters only."""
    return secret[: len(TOKEN_PREFIX) + 4] + "…"


def check_scopes(scopes: list[str]) -> list[str]:
    """The scopes, deduplicated in order; TokenError naming the first unknown one."""
    if not scopes:
        raise TokenError(f"give at least one --scope ({', '.join(INTEGRATION_SCOPES)})")
    for scope in scopes:
        if scope not in INTEGRATION_SCOPES:
            raise TokenError(f"unknown scope {scope!r}; the scopes are: {', '.join(INTEGRATION_SCOPES)}")
    return list(dict.fromkeys(scopes))


def create_token(session: Session, *, name: str, scopes: list[str]) -> NewToken:
    """A new token named `name` with these scopes; the name must be free (a revoked one stays taken)."""
    name = name.strip()
    if not name or len(name) > 64:
        raise TokenError("a token name has 1 to 64 characters")
    wanted = check_scopes(scopes)
    if session.scalars(select(IntegrationToken).where(IntegrationToken.name == name)).first() is not None:
        raise TokenError(f"a token named {name!r} already exists; revoke it and choose another name")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = IntegrationToken(name=name, scopes=" ".join(wanted), token_hash=hash_token(secret))
    session.add(record)
    session.flush()
    log.info("integration token %r created with scopes %s", name, " ".join(wanted))
    return NewToken(record=record, secret=secret)


def list_tokens(session: Session) -> list[IntegrationToken]:
    """Every token, oldest first, revoked ones included."""
    return list(session.scalars(select(IntegrationToken).order_by(IntegrationToken.id)))


def revoke_token(session: Session, *, name: str) -> IntegrationToken:
    """Revoke the token named `name` (revoking twice keeps the first time)."""
    record = session.scalars(select(IntegrationToken).where(IntegrationToken.name == name)).first()
    if record is None:
        raise TokenError(f"no token named {name!r}")
    if record.revoked_at is None:
        record.revoked_at = utcnow()
        log.info("integration token %r revoked", name)
    return record


def find_active_token(session: Session, secret: str) -> IntegrationToken | None:
    """The live token this secret is, or None (unknown or revoked); marks it used."""
    digest = hash_token(secret)
    record = session.scalars(select(IntegrationToken).where(IntegrationToken.token_hash == digest)).first()
    # The lookup is by hash, so timing says nothing about the token; compare again to keep it explicit.
    if record is None or not hmac.compare_digest(record.token_hash, digest):
        log.info("integration token refused: unknown %s", redacted(secret))
        return None
    if record.revoked_at is not None:
        log.info("integration token refused: %r was revoked", record.name)
        return None
    now = utcnow()
    if record.last_used_at is None or now - record.last_used_at >= LAST_USED_RESOLUTION:
        record.last_used_at = now
    return record
