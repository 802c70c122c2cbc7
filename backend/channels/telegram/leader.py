"""One Telegram poller across processes: a leader lock in Redis, PostgreSQL or a file, whichever is shared.

Telegram hands each update to one getUpdates caller, and two pollers of one bot fight (409 Conflict),
so polling runs in the process that holds the lock: with REDIS_URL a key set with `SET NX PX` and
renewed well before it expires (a crashed holder loses it after the TTL); on PostgreSQL a session-level
advisory lock held on a connection of its own (a crashed holder's connection closes and frees it); on
SQLite, where all processes share one machine, an OS lock on a file beside the database. A process that
does not hold the lock serves without polling and tries again every renewal interval.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from contextlib import suppress
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from starlette.concurrency import run_in_threadpool

logger = logging.getLogger(__name__)

# The first half of the advisory lock's key (the second is the bot's id): "TG" + 18 for issue 18.
ADVISORY_NAMESPACE = 0x544718
REDIS_KEY = "carrier:telegram:poller:{bot_id}"

# Redis: renew or release the key only while it still holds our value (never another holder's).
_RENEW = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end "
    "return 0"
)
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


def this_process() -> str:
    """How the log names a process: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


class LeaderLock(Protocol):
    """A lock one process holds at a time; every call returns at once."""

    kind: str

    async def acquire(self) -> bool:
        """Takes the lock if it is free; True when this process holds it (now or already)."""
        ...

    async def renew(self) -> bool:
        """Keeps the lock; False when it was lost (expired, connection gone)."""
        ...

    async def release(self) -> None:
        """Frees the lock if this process holds it."""
        ...

    async def holder(self) -> str | None:
        """Who holds it, when the store can say."""
        ...


class RedisLeaderLock:
    """`SET key me NX PX ttl`, renewed with a compare-and-expire."""

    kind = "Redis"

    def __init__(self, redis_url: str, bot_id: int, *, ttl_s: float) -> None:
        import redis.asyncio as aioredis

        self._client: Any = aioredis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        self._key = REDIS_KEY.format(bot_id=bot_id)
        # Host and pid say who polls; the random tail tells two channels of one process apart.
        self._me = f"{this_process()}/{secrets.token_hex(4)}"
        self._ttl_ms = max(1, int(ttl_s * 1000))

    async def acquire(self) -> bool:
        if await self._client.set(self._key, self._me, nx=True, px=self._ttl_ms):
            return True
        return await self.renew()

    async def renew(self) -> bool:
        return bool(await self._client.eval(_RENEW, 1, self._key, self._me, self._ttl_ms))

    async def release(self) -> None:
        await self._client.eval(_RELEASE, 1, self._key, self._me)

    async def holder(self) -> str | None:
        value = await self._client.get(self._key)
        return value.decode() if isinstance(value, bytes) else value

    async def close(self) -> None:
        await self._client.aclose()


class PostgresLeaderLock:
    """`pg_try_advisory_lock` on a connection kept open for as long as the lock is held."""

    kind = "PostgreSQL advisory"

    def __init__(self, database_url: str, bot_id: int) -> None:
        # Its own connection, outside the app's pool: a session lock lives and dies with it.
        self._engine = create_engine(database_url, poolclass=NullPool, hide_parameters=True)
        self._key = (ADVISORY_NAMESPACE, bot_id % 2**31)
        self._connection: Connection | None = None

    def _try(self) -> bool:
        if self._connection is not None:
            return self._alive()
        connection = self._engine.connect()
        got = connection.execute(
            text("SELECT pg_try_advisory_lock(:a, :b)"), {"a": self._key[0], "b": self._key[1]}
        ).scalar()
        connection.commit()
        if got:
            self._connection = connection
            return True
        connection.close()
        return False

    def _alive(self) -> bool:
        if self._connection is None:
            return False
        try:
            self._connection.execute(text("SELECT 1"))
            self._connection.commit()
        except Exception:  # the connection is gone, and with it the lock
            self._drop()
            return False
        return True

    def _drop(self) -> None:
        if self._connection is not None:
            # Closing a dead connection may fail; it is gone either way.
            with suppress(Exception):
                self._connection.close()
            self._connection = None

    def _release(self) -> None:
        if self._connection is None:
            return
        try:
            self._connection.execute(
                text("SELECT pg_advisory_unlock(:a, :b)"), {"a": self._key[0], "b": self._key[1]}
            )
            self._connection.commit()
        finally:
            self._drop()

    async def acquire(self) -> bool:
        return await run_in_threadpool(self._try)

    async def renew(self) -> bool:
        return await run_in_threadpool(self._alive)

    async def release(self) -> None:
        await run_in_threadpool(self._release)

    async def holder(self) -> str | None:
        return None

    async def close(self) -> None:
        await run_in_threadpool(self._engine.dispose)


class FileLeaderLock:
    """An exclusive `flock` on a file; the OS frees it when the holding process ends, however it ends."""

    kind = "file"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    async def acquire(self) -> bool:
        import fcntl

        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, this_process().encode())
        self._fd = fd
        return True

    async def renew(self) -> bool:
        return self._fd is not None

    async def release(self) -> None:
        import fcntl

        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    async def holder(self) -> str | None:
        try:
            return self.path.read_text().strip() or None
        except OSError:
            return None

    async def close(self) -> None:
        await self.release()


AnyLeaderLock = RedisLeaderLock | PostgresLeaderLock | FileLeaderLock


def make_leader_lock(
    *, redis_url: str | None, database_url: str, bot_id: int, ttl_s: float, var_dir: Path
) -> AnyLeaderLock:
    """The lock every process of this deployment can see: Redis when configured, else the database's."""
    if redis_url:
        return RedisLeaderLock(redis_url, bot_id, ttl_s=ttl_s)
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        return PostgresLeaderLock(database_url, bot_id)
    # SQLite: the processes share a machine; the lock file sits beside the database file.
    database = url.database
    folder = Path(database).parent if database and database != ":memory:" else var_dir
    return FileLeaderLock(folder / f"telegram-poller-{bot_id}.lock")
