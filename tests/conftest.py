"""Fixtures shared by every test folder: the outside services the tests may run against."""

from __future__ import annotations

import os

import pytest

REDIS_ENV = "TEST_REDIS_URL"


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The Redis the tests may write and flush (make test starts one); skips when none is configured."""
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"{REDIS_ENV} is not set: the Redis tests are skipped (make test sets it)")
    return url
