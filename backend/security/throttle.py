"""Login throttling: repeated failures slow down, then lock for minutes, counted three ways.

Every try is a `login_attempt` row. A try is recorded as a failure *before* the password is checked and
turned into a success after, so tries that run at the same moment all count; tries refused while a
lock holds are not recorded, so a flood cannot grow the table or stretch its own lock.

Counted per name *from one address* and per address (the eleventh wrong password within a minute is
refused there), and per name from everywhere with a much softer limit: someone who knows an agent's
name can lock that name out from their own address, not for the agent at their desk; only a guesser
spread over many addresses meets the name's own lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from backend.db import begin_write
from backend.models import LoginAttempt, utcnow

# "username": a name from any address; "username_at_client": a name from one address; "client": an address.
Scope = Literal["username", "username_at_client", "client"]
# Advisory-lock namespace of login throttling on PostgreSQL ("LG"); the key is a hash of name or address.
_LOCK_SPACE = 0x4C47


@dataclass(frozen=True)
class LockRule:
    """`failures` wrong tries within `within` lock the name (or address) for `lock_for`."""

    failures: int
    within: timedelta
    lock_for: timedelta


@dataclass(frozen=True)
class ThrottlePolicy:
    """The rules of the login throttle."""

    # For one name from one address, and for one address whatever the names.
    rules: tuple[LockRule, ...] = (
        LockRule(10, timedelta(minutes=1), timedelta(minutes=15)),
        # A patient guesser who stays under ten a minute still meets this one.
        LockRule(20, timedelta(hours=1), timedelta(hours=1)),
    )
    # For one name from every address together: softer, since it locks the name's owner out as well.
    name_rules: tuple[LockRule, ...] = (
        LockRule(50, timedelta(minutes=15), timedelta(minutes=15)),
        LockRule(100, timedelta(hours=1), timedelta(hours=1)),
    )
    # From this many failures within slow_window, each further failed answer is held back a little longer.
    slow_after: int = 3
    slow_window: timedelta = timedelta(minutes=15)
    delay_step_s: float = 0.25
    max_delay_s: float = 2.0

    @property
    def lookback(self) -> timedelta:
        """How far back failures can matter."""
        every = (*self.rules, *self.name_rules)
        return max([self.slow_window, *(rule.within + rule.lock_for for rule in every)])

    def rules_for(self, scope: Scope) -> tuple[LockRule, ...]:
        return self.name_rules if scope == "username" else self.rules

    def delay_for(self, failures: int) -> float:
        """Seconds to hold back a failed answer after `failures` recent failures (this one included)."""
        if failures < self.slow_after:
            return 0.0
        return min(self.max_delay_s, self.delay_step_s * (failures - self.slow_after + 1))


DEFAULT_POLICY = ThrottlePolicy()


@dataclass(frozen=True)
class Lockout:
    """A lock on one name or one client address."""

    scope: Scope
    key: str
    until: datetime
    failures: int

    def retry_after_s(self, now: datetime) -> int:
        """Whole seconds until the lock ends (at least 1), for a Retry-After header."""
        return max(1, int((self.until - now).total_seconds() + 0.999))


@dataclass(frozen=True)
class Attempt:
    """The throttle's answer to one login try."""

    attempt_id: int | None
    # Set when the try is refused without looking at the password.
    locked: Lockout | None = None
    # The locks this try starts if its password turns out wrong (each is audited once, then).
    would_lock: tuple[Lockout, ...] = field(default_factory=tuple)
    # How long to hold back the answer if the password is wrong.
    delay_s: float = 0.0


def normalise_username(raw: str) -> str:
    """A login name as the throttle and the accounts compare it: trimmed, lower case, at most 64 long."""
    return raw.strip().lower()[:64]


def _serialise(session: Session, keys: Sequence[str]) -> None:
    """One try per name and per address at a time, so simultaneous tries cannot all slip under a limit."""
    if session.get_bind().dialect.name == "postgresql":
        # Always in the same order (name, then address): two tries cannot wait for each other.
        for key in keys:
            session.execute(
                text("SELECT pg_advisory_xact_lock(:space, hashtext(:key))"),
                {"space": _LOCK_SPACE, "key": key},
            )
    else:
        begin_write(session)


def _failures(
    session: Session, scope: Scope, username: str, client_ip: str, since: datetime
) -> list[datetime]:
    stmt = select(LoginAttempt.at).where(LoginAttempt.at >= since, LoginAttempt.success.is_(False))
    if scope != "client":
        stmt = stmt.where(LoginAttempt.username == username)
    if scope != "username":
        stmt = stmt.where(LoginAttempt.client_ip == client_ip)
    if scope != "client":
        # A correct password clears a name's earlier failures (not an address's: one good account must not
        # let its owner keep guessing others from the same place).
        last_success = session.scalar(
            select(func.max(LoginAttempt.at)).where(
                LoginAttempt.username == username, LoginAttempt.success.is_(True)
            )
        )
        if last_success is not None:
            stmt = stmt.where(LoginAttempt.at > last_success)
    return sorted(session.scalars(stmt))


def lock_in_force(
    failures: Sequence[datetime], now: datetime, rules: Sequence[LockRule]
) -> tuple[datetime, int] | None:
    """(until, failures) of the longest lock these failure times (oldest first) put in force at `now`."""
    found: tuple[datetime, int] | None = None
    for rule in rules:
        n = rule.failures
        for last in range(n - 1, len(failures)):
            if failures[last] - failures[last - n + 1] <= rule.within:
                until = failures[last] + rule.lock_for
                if until > now and (found is None or until > found[0]):
                    found = (until, n)
    return found


def begin_attempt(
    session: Session,
    *,
    username: str,
    client_ip: str,
    now: datetime | None = None,
    policy: ThrottlePolicy = DEFAULT_POLICY,
) -> Attempt:
    """Refuse the try if its name or address is locked; otherwise record it as a failure until proven right.

    Commit right after: the row must be visible to simultaneous tries while the password is checked.
    """
    now = now or utcnow()
    username = normalise_username(username)
    client_ip = client_ip[:64]
    keys: tuple[tuple[Scope, str], ...] = (
        ("username", username),
        ("username_at_client", f"{username}@{client_ip}"),
        ("client", client_ip),
    )
    # The pair's count is covered by the name's and the address's locks (taken name first, then address).
    _serialise(session, [f"{scope}:{key}" for scope, key in keys if scope != "username_at_client"])
    since = now - policy.lookback
    history = {scope: _failures(session, scope, username, client_ip, since) for scope, _ in keys}
    for scope, key in keys:
        lock = lock_in_force(history[scope], now, policy.rules_for(scope))
        if lock is not None:
            return Attempt(attempt_id=None, locked=Lockout(scope, key, lock[0], lock[1]))

    row = LoginAttempt(at=now, username=username, client_ip=client_ip, success=False)
    session.add(row)
    session.flush()
    would_lock = []
    recent = 0
    for scope, key in keys:
        times = [*history[scope], now]
        lock = lock_in_force(times, now, policy.rules_for(scope))
        if lock is not None:
            would_lock.append(Lockout(scope, key, lock[0], lock[1]))
        if scope != "username":  # failures elsewhere must not slow the name's owner down
            recent = max(recent, sum(1 for at in times if at >= now - policy.slow_window))
    return Attempt(attempt_id=row.id, would_lock=tuple(would_lock), delay_s=policy.delay_for(recent))


def finish_attempt(session: Session, attempt: Attempt, *, success: bool) -> None:
    """Mark a recorded try as a success (a failure needs nothing: it was recorded as one)."""
    if success and attempt.attempt_id is not None:
        row = session.get(LoginAttempt, attempt.attempt_id)
        if row is not None:
            row.success = True
            session.flush()
