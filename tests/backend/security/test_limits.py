"""Budgets on the public doors: counted per key and window, shared by processes through Redis."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from backend.config import Settings
from backend.security.limits import Budget, DoorBudgets, MemoryLimiter, RedisLimiter


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


FIVE_A_MINUTE = Budget("test:messages", 5, 60)


def test_a_key_gets_its_budget_per_window_and_other_keys_are_untouched() -> None:
    clock = Clock(1_000_020.0)
    limiter = MemoryLimiter(clock)
    assert [limiter.spend(FIVE_A_MINUTE, "web:a") for _ in range(7)] == [True] * 5 + [False] * 2
    assert limiter.spend(FIVE_A_MINUTE, "web:b")  # another conversation has its own
    clock.now += 60  # the next window
    assert limiter.spend(FIVE_A_MINUTE, "web:a")


def test_an_amount_that_does_not_fit_is_refused_and_not_spent() -> None:
    limiter = MemoryLimiter(Clock())
    bytes_a_day = Budget("test:bytes", 10_000, 86400)
    assert limiter.spend(bytes_a_day, "web:a", 8_000)
    assert not limiter.spend(bytes_a_day, "web:a", 5_000)
    assert limiter.spend(bytes_a_day, "web:a", 2_000)


def test_a_budget_of_zero_is_no_limit() -> None:
    limiter = MemoryLimiter(Clock())
    assert all(limiter.spend(Budget("off", 0, 60), "k") for _ in range(1000))


def test_processes_share_one_budget_through_redis(redis_url: str) -> None:
    clock = Clock(2_000_000.0 + hash(redis_url) % 1000 * 60)
    budget = Budget(f"test:shared:{id(clock)}", 6, 60)
    first, second = RedisLimiter(redis_url, clock), RedisLimiter(redis_url, clock)
    spent = [limiter.spend(budget, "203.0.113.9") for limiter in (first, second) * 4]
    assert spent == [True] * 6 + [False] * 2
    assert not first.spend(budget, "203.0.113.9") and second.spend(budget, "198.51.100.1")
    bytes_budget = Budget(f"test:bytes:{id(clock)}", 100, 60)
    assert first.spend(bytes_budget, "web:a", 80)
    assert not second.spend(bytes_budget, "web:a", 30)  # refused, and not counted
    assert second.spend(bytes_budget, "web:a", 20)


def test_without_redis_the_doors_stay_open() -> None:
    assert RedisLimiter("redis://127.0.0.1:1/0").spend(FIVE_A_MINUTE, "k")


def test_budgets_come_from_the_settings_and_a_negative_one_stops_start_up() -> None:
    settings = Settings(_env_file=None, limit_messages_per_conversation_minute=7)  # type: ignore[call-arg]
    budgets = DoorBudgets.from_settings(settings)
    assert (budgets.messages_per_conversation.limit, budgets.messages_per_conversation.window_s) == (7, 60)
    assert budgets.upload_bytes_per_conversation.limit == 100 * 1024 * 1024
    with pytest.raises(ValidationError, match="LIMIT_"):
        Settings(_env_file=None, limit_sessions_per_address_hour=-1)  # type: ignore[call-arg]


def test_every_budget_setting_is_one_the_test_stacks_turn_off() -> None:
    from tools.stack import DOOR_LIMITS

    fields = {name.upper() for name in Settings.model_fields if name.startswith("limit_")}
    assert fields == set(DOOR_LIMITS)
