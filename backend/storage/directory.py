"""The directory upload store: files under UPLOAD_DIR (on several machines, a mount they all share)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from backend.storage import InvalidKey, StoreUnavailable, check_key


class DirectoryStore:
    """Photos as files under one root folder, one sub-folder per conversation."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def describe(self) -> str:
        return f"directory {self.root}"

    def check(self) -> None:
        try:
            # The folder appears with the first photo; a first run has none yet, and that is fine.
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreUnavailable(f"{self.describe()}: cannot create ({error.strerror or error})") from error
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise StoreUnavailable(f"{self.describe()}: not writable")

    def _path(self, key: str) -> Path:
        root = self.root.resolve()
        # Resolved, so that a symlink planted inside cannot lead out of the folder either.
        path = (root / check_key(key)).resolve()
        if not path.is_relative_to(root):
            raise InvalidKey(f"refused upload key {key!r}")
        return path

    def save(self, key: str, data: bytes) -> None:
        target = self._path(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                return
            # A name of its own per writer: two processes saving the same photo never share a part file,
            # and a reader never sees a half-written one.
            partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
            try:
                partial.write_bytes(data)
                os.replace(partial, target)
            finally:
                partial.unlink(missing_ok=True)
        except OSError as error:
            raise StoreUnavailable(f"{self.describe()}: cannot write ({error.strerror or error})") from error

    def read(self, key: str, *, max_bytes: int) -> bytes | None:
        path = self._path(key)
        try:
            # No folder at all is a store that is not there (an unmounted share), not a missing photo.
            if not self.root.is_dir():
                raise StoreUnavailable(f"{self.describe()}: not a folder")
            if not path.is_file() or path.stat().st_size > max_bytes:
                return None
            with path.open("rb") as file:
                data = file.read(max_bytes + 1)
        except FileNotFoundError:
            return None
        except OSError as error:
            raise StoreUnavailable(f"{self.describe()}: cannot read ({error.strerror or error})") from error
        return data if len(data) <= max_bytes else None
