"""One turn of a conversation at a time, in this process and (with REDIS_URL) across all backends.

Alone, an asyncio lock per conversation keeps its messages in order. With several backend processes a
Redis lock (redis-py's Lock: a token under `<prefix>turn:<conversation id>` with an expiry) is taken
too, inside the local one, so a conversation's messages that arrive on different processes are still
stored and answered one after the other. The expiry (the turn lease) frees the lock of a process that
died holding it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any
from weakref import WeakValueDictionary

logger = logging.getLogger(__name__)


class TurnLockTimeout(RuntimeError):
    """Another process held the conversation's lock for too long: the message was not taken."""


class TurnLocks:
    """Per-conversation locks; through Redis when `redis_url` is given."""

    def __init__(
        self,
        redis_url: str | None = None,
        *,
        prefix: str = "carrier:",
        timeout_s: float = 60.0,
        blocking_timeout_s: float = 60.0,
    ) -> None:
        self._local: WeakValueDictionary[str, asyncio.Lock] = WeakValueDictionary()
        self._url = redis_url
        self._prefix = prefix
        self._timeout = timeout_s
        self._blocking_timeout = blocking_timeout_s
        self._redis: Any = None

    @property
    def shared(self) -> bool:
        return self._url is not None

    def _local_lock(self, conversation_id: str) -> asyncio.Lock:
        lock = self._local.get(conversation_id)
        if lock is None:
            lock = asyncio.Lock()
            self._local[conversation_id] = lock
        return lock

    def _client(self) -> Any:
        if self._redis is None:
            import redis.asyncio as aioredis

            assert self._url is not None
            self._redis = aioredis.Redis.from_url(self._url, socket_timeout=5, socket_connect_timeout=5)
        return self._redis

    @contextlib.asynccontextmanager
    async def hold(self, conversation_id: str) -> AsyncIterator[None]:
        """Hold the conversation's lock for one turn."""
        async with self._local_lock(conversation_id):
            if self._url is None:
                yield
                return
            from redis.exceptions import LockError

            lock = self._client().lock(
                f"{self._prefix}turn:{conversation_id}",
                timeout=self._timeout,
                sleep=0.02,
                blocking_timeout=self._blocking_timeout,
            )
            if not await lock.acquire():
                raise TurnLockTimeout(f"conversation {conversation_id} stayed locked by another process")
            try:
                yield
            finally:
                try:
                    await lock.release()
                except LockError:  # it expired first: another process may already hold it
                    logger.warning("a turn of %s outlasted its lock", conversation_id)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None
