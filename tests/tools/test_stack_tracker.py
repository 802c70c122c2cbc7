"""tools.stack gives Rasa the kept SQL tracker store and puts a SQLite tracker file in WAL mode first."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import yaml

from tools.stack import ROOT, TRACKER_STORE_TYPE, tracker_store_config, use_wal


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


def test_rasa_is_given_the_kept_sql_tracker_store_for_sqlite_and_postgresql() -> None:
    # A type Rasa cannot import falls back to its in-memory store with only a warning: conversations
    # would not survive a restart. The class must exist where the configuration says.
    module, _, name = TRACKER_STORE_TYPE.rpartition(".")
    assert (ROOT / (module.replace(".", "/") + ".py")).read_text().count(
        f"class {name}(SQLTrackerStore)"
    ) == 1
    sqlite = tracker_store_config("sqlite:////tmp/tracker.db")
    assert sqlite == {"type": TRACKER_STORE_TYPE, "dialect": "sqlite", "db": "/tmp/tracker.db"}
    postgres = tracker_store_config("postgresql://rasa:pw@db:5433/tracker")
    assert postgres["type"] == TRACKER_STORE_TYPE and postgres["dialect"] == "postgresql"
    assert yaml.safe_load((ROOT / "endpoints.yml").read_text())["tracker_store"]["type"] == TRACKER_STORE_TYPE
