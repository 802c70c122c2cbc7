"""argon2id password hashes: hash, verify, rehash, and the rules for a new password."""

from __future__ import annotations

import hashlib
import secrets

import pytest
from argon2 import PasswordHasher

from backend.models import Agent
from backend.security import passwords
from backend.security.passwords import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    UNUSABLE_HASH,
    WeakPassword,
    check_new_password,
    hash_password,
    needs_rehash,
    spend_verify_time,
    verify_password,
)

PASSWORD = "correct horse battery staple"


def test_hash_is_salted_argon2id() -> None:
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert first.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert first != second  # a fresh salt each time
    assert PASSWORD not in first


def test_verify() -> None:
    stored = hash_password(PASSWORD)
    assert verify_password(PASSWORD, stored)
    assert not verify_password(PASSWORD.upper(), stored)
    assert not verify_password("", stored)
    assert not verify_password(PASSWORD + " ", stored)


@pytest.mark.parametrize(
    "stored",
    [
        # The retired scheme: a hash of "demo-password" as the old seed wrote it. It opens nothing now.
        "scrypt$16384$8$1$00112233445566778899aabbccddeeff$" + "ab" * 32,
        UNUSABLE_HASH,
        "",
        "$argon2id$garbage",
        "plain-text-password",
    ],
)
def test_anything_but_argon2_opens_nothing(stored: str) -> None:
    assert not verify_password("demo-password", stored)
    assert not verify_password(stored, stored)
    assert not needs_rehash(stored)


def test_overlong_passwords_are_not_even_hashed() -> None:
    stored = hash_password("x" * MAX_PASSWORD_LENGTH)
    assert verify_password("x" * MAX_PASSWORD_LENGTH, stored)
    assert not verify_password("x" * (MAX_PASSWORD_LENGTH + 1), stored)


def test_needs_rehash_after_weaker_parameters() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    assert verify_password(PASSWORD, weak)
    assert needs_rehash(weak)
    assert not needs_rehash(hash_password(PASSWORD))


@pytest.mark.parametrize(
    "password", ["", " " * 20, "x" * (MIN_PASSWORD_LENGTH - 1), "x" * (MAX_PASSWORD_LENGTH + 1)]
)
def test_weak_new_passwords_are_refused(password: str) -> None:
    with pytest.raises(WeakPassword):
        check_new_password(password)


def test_good_new_passwords_pass() -> None:
    check_new_password("x" * MIN_PASSWORD_LENGTH)
    check_new_password("密码也可以是中文的而且足够长")


def scrypt_hash(password: str) -> str:
    """A genuine hash of the retired scheme, formatted `scrypt$n$r$p$salt$hash` as the old code stored it."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt${2**14}$8$1${salt.hex()}${digest.hex()}"


def test_agent_model_uses_argon2_and_no_scrypt_hash_opens() -> None:
    agent = Agent(username="someone", display_name="Someone", role="agent", password_hash=UNUSABLE_HASH)
    assert not agent.check_password("")
    agent.set_password(PASSWORD)
    assert agent.password_hash.startswith("$argon2id$")
    assert agent.check_password(PASSWORD) and not agent.check_password("wrong")
    assert agent.actor == "agent:someone"
    # No scrypt code is left: a correct scrypt hash of the very password opens nothing.
    agent.password_hash = scrypt_hash(PASSWORD)
    assert not agent.check_password(PASSWORD)
    assert not needs_rehash(agent.password_hash)


def test_unknown_names_cost_a_full_verification_too(monkeypatch: pytest.MonkeyPatch) -> None:
    # A login with an unknown name must take as long as a wrong password, or the answer's speed would
    # tell a guesser which names exist: it runs one verification against a hash of today's strength.
    checked: list[tuple[str, str]] = []

    def verify(password: str, stored: str) -> bool:
        checked.append((password, stored))
        return verify_password(password, stored)

    monkeypatch.setattr(passwords, "verify_password", verify)
    spend_verify_time(PASSWORD)
    spend_verify_time("another guess")
    assert [password for password, _ in checked] == [PASSWORD, "another guess"]
    stored = {stored for _, stored in checked}
    assert len(stored) == 1  # the same throwaway hash each time, made once
    (dummy,) = stored
    assert dummy.startswith("$argon2id$v=19$m=65536,t=3,p=4$") and not needs_rehash(dummy)
    assert not verify_password(PASSWORD, dummy)


def test_an_unusable_hash_costs_a_whole_verification(monkeypatch: pytest.MonkeyPatch) -> None:
    """An account without a password answers a login as slowly as a wrong password (no timing oracle)."""
    calls: list[str] = []
    real = passwords._hasher

    class Counting:
        def verify(self, stored: str, password: str) -> bool:
            calls.append(stored)
            return real.verify(stored, password)

        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

    monkeypatch.setattr(passwords, "_hasher", Counting())
    assert verify_password(PASSWORD, UNUSABLE_HASH) is False
    assert len(calls) == 1 and calls[0].startswith("$argon2id$")
    assert verify_password(PASSWORD, hash_password("another password entirely")) is False
    assert len(calls) == 2
