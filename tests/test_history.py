"""The history's storage on its own: one implementation for SQLite and PostgreSQL, migrations that
adopt files made before them, and failures that stay inside the library's error tree."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from memory import Memory, StoreError, open_database
from memory.history import AdvisoryLocks, Database, HistoryStore, open_history
from memory.models import Change, Record, Scope

# A history file as the library wrote it before migrations (and before pending rows and sources).
_OLD_HISTORY = """
CREATE TABLE history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, memory_id TEXT NOT NULL,
    user_id TEXT NOT NULL DEFAULT '', agent_id TEXT NOT NULL DEFAULT '', run_id TEXT NOT NULL DEFAULT '',
    old_memory TEXT, new_memory TEXT, event TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT
);
CREATE INDEX history_by_memory ON history (memory_id, seq);
INSERT INTO history (id, memory_id, user_id, old_memory, new_memory, event, created_at, updated_at) VALUES
  ('h1', '00000000-0000-4000-8000-000000000001', 'alice', NULL, 'Likes tea', 'ADD', '2026-01-01', NULL),
  ('h2', '00000000-0000-4000-8000-000000000001', 'alice', 'Likes tea', 'Likes green tea', 'UPDATE',
   '2026-01-01', '2026-02-01');
"""
OLD_ID = "00000000-0000-4000-8000-000000000001"


def _record(memory_id: str, text: str, user: str = "alice") -> Record:
    return Record(memory_id, text, "h", "2026-12-01T00:00:00+00:00", user_id=user)


def test_a_history_made_before_migrations_is_adopted_with_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.history.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(_OLD_HISTORY)
    db.close()
    for _ in range(2):  # the second open finds it up to date
        history, locks = open_history(str(path))
        entries = history.for_memory(OLD_ID, with_source=True)
        assert [(e["event"], e["new_memory"], e["source"]) for e in entries] == [  # type: ignore[typeddict-item]
            ("ADD", "Likes tea", "unknown"),
            ("UPDATE", "Likes green tea", "unknown"),
        ]
        assert history.owner(OLD_ID) == Scope("alice")
        history.close()
        locks.close()
    with sqlite3.connect(path) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        applied = db.execute("SELECT component, version FROM schema_migrations").fetchall()
    assert "memory_history" in tables and "history" not in tables
    assert applied == [("memory_history", 1)]


def test_many_histories_are_read_in_one_query_and_only_the_owners(tmp_path: Path) -> None:
    history = HistoryStore(open_database(str(tmp_path / "h.sqlite")))
    ids = [f"00000000-0000-4000-8000-{n:012d}" for n in range(3)]
    rows = history.intend([Change("ADD", None, _record(i, f"fact {i}"), "2026-12-01") for i in ids])
    history.confirm(rows)
    history.confirm(
        history.intend([Change("ADD", None, _record("00000000-0000-4000-8000-000000000009", "x", "bob"), "t")])
    )
    found = history.for_memories([*ids, "00000000-0000-4000-8000-000000000009"], user_id="alice")
    assert sorted(found) == ids and all(len(entries) == 1 for entries in found.values())
    assert history.for_memories([]) == {}
    history.close()


def test_a_busy_history_file_fails_clearly_after_its_timeout(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    history = HistoryStore(open_database(str(path)))
    blocker = sqlite3.connect(path, timeout=0)
    blocker.execute("BEGIN IMMEDIATE")
    engine = history.database.engine
    short = Database(sa.create_engine(engine.url, connect_args={"timeout": 0.2}), str(path))
    try:
        with pytest.raises(StoreError, match=r"h\.sqlite is not writable: database is locked"):
            HistoryStore(short).reset()
    finally:
        blocker.rollback()
        blocker.close()
        short.close()
        history.close()


def test_a_scope_lock_that_cannot_reach_postgres_is_a_store_error() -> None:
    """psycopg's errors used to escape the library's error tree from the advisory locks."""
    unreachable = sa.create_engine(
        "postgresql+psycopg://nobody@127.0.0.1:9/none", connect_args={"connect_timeout": 2}, pool_pre_ping=True
    )
    locks = AdvisoryLocks(Database(unreachable, "PostgreSQL at 127.0.0.1:9"))
    with (
        pytest.raises(StoreError, match=r"cannot take a scope lock in PostgreSQL at 127\.0\.0\.1:9"),
        locks.hold(Scope("alice")),
    ):
        pass
    locks.close()


def test_a_wrong_postgres_url_fails_at_once_not_after_a_pool_timeout() -> None:
    started = time.monotonic()
    with pytest.raises(StoreError, match=r"cannot connect to PostgreSQL at postgresql://nobody@127\.0\.0\.1:9/none"):
        open_history("postgresql://nobody@127.0.0.1:9/none")
    assert time.monotonic() - started < 5  # a pool's 15 s timeout before


def test_what_the_holder_of_a_lock_raises_passes_through_unchanged(tmp_path: Path) -> None:
    _, locks = open_history(str(tmp_path / "h.sqlite"))
    with pytest.raises(KeyError, match="mine"), locks.hold(Scope("alice")):
        raise KeyError("mine")
    locks.close()


def test_history_rows_say_who_changed_what_through_the_library(make_memory: Callable[..., Memory]) -> None:
    m = make_memory()
    memory_id = m.add("Likes tea", user_id="alice", infer=False, source="import")["results"][0]["id"]
    m.update(memory_id, "Likes green tea", user_id="alice", source="panel")
    found = m.histories([memory_id], user_id="alice", with_source=True)
    assert [h["source"] for h in found[memory_id]] == ["import", "panel"]  # type: ignore[typeddict-item]
    assert m.histories([memory_id], user_id="bob") == {}
