"""Budgets on the public doors: how many widget sessions, messages and uploads one address or one
conversation may use in a window, so that one script cannot fill the disk or keep Rasa busy for everyone.

Fixed windows counted per key (`messages:conversation:web:…` in the minute that started at 10:41):
cheap, and exact enough for abuse limits. The counts live in Redis when REDIS_URL is set, so every
backend process spends the same budget; one process alone counts in memory. If Redis stops answering,
the doors stay open (a limit is a guard, not a dependency) and the log says so.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

logger = logging.getLogger(__name__)
# Key prefix in Redis (shared with nothing else of ours).
REDIS_PREFIX = "carrier:limit:"


@dataclass(frozen=True)
class Budget:
    """At most `limit` units per `window_s` seconds for one key; a limit of 0 turns the budget off."""

    name: str
    limit: int
    window_s: int

    def window_key(self, key: str, now: float) -> tuple[str, int]:
        """The counter's key for this moment, and how long it has left to live."""
        start = int(now // self.window_s) * self.window_s
        return f"{self.name}:{key}:{start}", max(1, start + self.window_s - int(now))


class Limiter(Protocol):
    def spend(self, budget: Budget, key: str, amount: int = 1) -> bool:
        """Take `amount` from the key's budget: True when it fits (and is now spent), False when over."""
        ...


class MemoryLimiter:
    """Counts in this process (one backend process: `make run`)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._counts: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def spend(self, budget: Budget, key: str, amount: int = 1) -> bool:
        if budget.limit <= 0:
            return True
        now = self._clock()
        counter, ttl = budget.window_key(key, now)
        with self._lock:
            if len(self._counts) > 50_000:
                # Old windows are dropped now and then, so the table does not grow with every address.
                self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
            used, _ = self._counts.get(counter, (0, now + ttl))
            if used + amount > budget.limit:
                return False
            self._counts[counter] = (used + amount, now + ttl)
            return True


class RedisLimiter:
    """Counts in Redis, shared by every backend process."""

    def __init__(self, redis_url: str, clock: Callable[[], float] = time.time) -> None:
        import redis

        self._redis = redis.Redis.from_url(redis_url, socket_timeout=1, socket_connect_timeout=1)
        self._clock = clock

    def spend(self, budget: Budget, key: str, amount: int = 1) -> bool:
        if budget.limit <= 0:
            return True
        counter, ttl = budget.window_key(key, self._clock())
        name = REDIS_PREFIX + counter
        try:
            pipe = self._redis.pipeline()
            pipe.incrby(name, amount)
            pipe.expire(name, ttl)
            used = int(pipe.execute()[0])
            if used > budget.limit:
                # Over: give the units back, so a refused upload does not eat the rest of the day.
                self._redis.decrby(name, amount)
                return False
            return True
        except Exception:
            logger.warning("limit %s not checked: Redis unreachable", budget.name)
            return True


def make_limiter(redis_url: str | None) -> Limiter:
    """Shared counts through Redis when several processes serve, in memory otherwise."""
    return RedisLimiter(redis_url) if redis_url else MemoryLimiter()


@dataclass(frozen=True)
class DoorBudgets:
    """The budgets of the public doors, from the settings (LIMIT_* variables)."""

    sessions_per_address: Budget
    messages_per_conversation: Budget
    messages_per_address: Budget
    uploads_per_conversation: Budget
    upload_bytes_per_conversation: Budget

    @classmethod
    def from_settings(cls, settings: LimitSettings) -> DoorBudgets:
        upload_bytes = settings.limit_upload_mb_per_conversation_day * 1024 * 1024
        return cls(
            sessions_per_address=Budget("sessions:address", settings.limit_sessions_per_address_hour, 3600),
            messages_per_conversation=Budget(
                "messages:conversation", settings.limit_messages_per_conversation_minute, 60
            ),
            messages_per_address=Budget("messages:address", settings.limit_messages_per_address_minute, 60),
            uploads_per_conversation=Budget(
                "uploads:conversation", settings.limit_uploads_per_conversation_day, 86400
            ),
            upload_bytes_per_conversation=Budget("upload-bytes:conversation", upload_bytes, 86400),
        )


class LimitSettings(Protocol):
    limit_sessions_per_address_hour: int
    limit_messages_per_conversation_minute: int
    limit_messages_per_address_minute: int
    limit_uploads_per_conversation_day: int
    limit_upload_mb_per_conversation_day: int
