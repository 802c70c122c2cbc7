"""Where shippers' photos are kept: one interface, a store per backend (a directory or an S3 bucket)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from backend.config import Settings


class StoreUnavailable(RuntimeError):
    """The store could not be reached or refused the operation (a disk error, S3 down); str() names the
    store and the kind of failure, never a credential."""


class InvalidKey(ValueError):
    """A key that could lead outside the store's own place (absolute, `..`, a backslash, empty)."""


class UploadStore(Protocol):
    """Photos by key (the attachment's stored relative name, `folder/sha256.ext`).

    The methods block (disk or network): callers run them in a worker thread, as the hub runs its
    database work, never on the event loop.
    """

    def save(self, key: str, data: bytes) -> None:
        """Keep `data` under `key` (content-addressed: saving the same key again is harmless)."""

    def read(self, key: str, *, max_bytes: int) -> bytes | None:
        """The bytes under `key`; None when there are none or more than `max_bytes` of them."""

    def describe(self) -> str:
        """Which store this is, for logs (never a secret)."""

    def check(self) -> None:
        """Raises StoreUnavailable when photos cannot be kept now (health checks, start-up)."""


def check_key(key: str) -> str:
    """The key when it stays inside the store: relative, `/`-separated, without `.` or `..` parts."""
    parts = key.split("/")
    if (
        not key
        or "\\" in key
        or "\x00" in key
        or key.startswith("/")
        or any(part in ("", ".", "..") for part in parts)
    ):
        raise InvalidKey(f"refused upload key {key!r}")
    return key


def make_store(settings: Settings) -> UploadStore:
    """The store UPLOAD_STORE names: `directory` (UPLOAD_DIR) or `s3` (S3_* settings)."""
    if settings.upload_store == "s3":
        from backend.storage.s3 import S3Store

        return S3Store.from_settings(settings)
    from backend.storage.directory import DirectoryStore

    return DirectoryStore(settings.upload_dir)


__all__ = ["InvalidKey", "StoreUnavailable", "UploadStore", "check_key", "make_store"]
