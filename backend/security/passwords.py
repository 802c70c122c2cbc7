"""Password hashes with argon2id (argon2-cffi): hash, verify, and whether a stored hash needs redoing."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_LENGTH = 12
# Longer input is refused before hashing: nobody types more, and it would only cost the server time.
MAX_PASSWORD_LENGTH = 1024
# Stored instead of a hash when an account must not log in with any password (retired scrypt hashes).
UNUSABLE_HASH = "!unusable"

# argon2-cffi's defaults are RFC 9106's second recommended profile: argon2id, 64 MiB, 3 passes, 4 lanes.
_hasher = PasswordHasher()


class WeakPassword(ValueError):
    """A new password that is empty, too short or too long."""


def check_new_password(password: str) -> None:
    """Refuse a new password that is empty, shorter than MIN_PASSWORD_LENGTH or absurdly long."""
    if not password or not password.strip():
        raise WeakPassword("the password is empty")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise WeakPassword(f"the password must have at most {MAX_PASSWORD_LENGTH} characters")


def hash_password(password: str) -> str:
    """An argon2id hash in PHC format (`$argon2id$v=19$m=...`), salted."""
    return _hasher.hash(password)


def verify_password(password: str, stored: str) -> bool:
    """True when `password` matches `stored`; False for a wrong password or a hash that is not argon2."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    if not stored.startswith("$argon2"):
        # An account without a usable password answers as slowly as a wrong one: no timing tells it.
        spend_verify_time(password)
        return False
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """True when `stored` was made with weaker parameters than today's (rehash it at the next login)."""
    if not stored.startswith("$argon2"):
        return False
    try:
        return _hasher.check_needs_rehash(stored)
    except InvalidHashError:
        return False


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash("no account has this password, it only costs time")


def spend_verify_time(password: str) -> None:
    """Verify against a throwaway hash, so an unknown name answers as slowly as a wrong password."""
    verify_password(password, _dummy_hash())
