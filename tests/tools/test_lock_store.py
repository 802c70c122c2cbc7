"""Rasa's lock store from REDIS_URL: every part of the URL reaches Rasa, and the store it makes works."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import make_url

from tools.stack import RASA_BIN, RASA_ENV, ROOT, lock_store_config, write_endpoints


def test_without_redis_one_rasa_process_locks_in_memory() -> None:
    assert lock_store_config(None) == {"type": "in_memory"}


def test_the_whole_redis_url_reaches_the_lock_store() -> None:
    url = "rediss://rasa:p%40ss%23word@cache.internal:6380/3?key_prefix=carrier&ssl_ca_certs=/etc/ssl/ca.pem"
    assert lock_store_config(url) == {
        "type": "redis",
        "url": "cache.internal",
        "port": 6380,
        "db": 3,
        "username": "rasa",
        "password": "p@ss#word",
        "use_ssl": True,
        "key_prefix": "carrier",
        "ssl_ca_certs": "/etc/ssl/ca.pem",
    }
    assert lock_store_config("redis://127.0.0.1") == {"type": "redis", "url": "127.0.0.1", "port": 6379}


def test_a_url_that_is_not_redis_is_refused() -> None:
    with pytest.raises(ValueError, match="REDIS_URL must start with redis://"):
        lock_store_config("http://127.0.0.1:6379")


def test_rasa_locks_through_the_redis_it_is_given(redis_url: str, tmp_path: Path) -> None:
    """Rasa itself reads the endpoints file and takes and releases a conversation's lock in Redis."""
    endpoints = write_endpoints(
        tmp_path / "endpoints.yml",
        action_url="http://127.0.0.1:1",
        tracker_url=f"sqlite:///{tmp_path / 'tracker.db'}",
        redis_url=make_url(redis_url)
        .set(database="5", query={"key_prefix": "locktest"})
        .render_as_string(hide_password=False),
    )
    assert yaml.safe_load(endpoints.read_text())["lock_store"]["db"] == 5
    script = f"""
import asyncio
from rasa.core.lock_store import LockStore
from rasa.utils.endpoints import read_endpoint_config
store = LockStore.create(read_endpoint_config({str(endpoints)!r}, "lock_store"))
async def main():
    async with store.lock("telegram:42"):
        keys = store.red.keys("*")
        print(sorted(k.decode() for k in keys))
    print(store.red.keys("*"))
asyncio.run(main())
"""
    done = subprocess.run(
        [str(RASA_BIN / "python"), "-c", script], cwd=ROOT, env={**RASA_ENV}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    held, after = done.stdout.strip().splitlines()
    assert "locktest:lock:telegram:42" in held
    assert after == "[]"
