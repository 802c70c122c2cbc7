"""tools.stack puts a SQLite tracker file in WAL mode before Rasa opens it, and leaves other stores alone."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from tools.stack import use_wal


def journal_mode(path: Path) -> str:
    with closing(sqlite3.connect(path)) as db:
        return str(db.execute("PRAGMA journal_mode").fetchone()[0])


def test_a_new_tracker_file_is_created_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "var" / "tracker.db"
    assert use_wal(f"sqlite:///{path}") == path
    assert journal_mode(path) == "wal"  # a fresh connection sees it: the mode is stored in the file


def test_an_existing_tracker_file_keeps_its_data_and_switches_to_wal(tmp_path: Path) -> None:
    path = tmp_path / "tracker.db"
    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, data TEXT)")
        db.execute("INSERT INTO events (data) VALUES ('hello')")
        db.commit()
    assert journal_mode(path) == "delete"
    use_wal(f"sqlite:///{path}")
    assert journal_mode(path) == "wal"
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT data FROM events").fetchall() == [("hello",)]


def test_other_stores_are_left_alone() -> None:
    assert use_wal("postgresql://rasa:secret@127.0.0.1:5432/tracker") is None
    assert use_wal("sqlite://") is None
    assert use_wal("sqlite:///:memory:") is None
