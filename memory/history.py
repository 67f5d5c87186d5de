"""Edit history in SQLite: one row per ADD, UPDATE and DELETE, each with its owner.

Writes happen inside `transaction()`, which takes SQLite's write lock up front
(BEGIN IMMEDIATE), so the caller can do its Milvus write inside the block and a failure
of either side rolls the history back: never a history row without its memory.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import StoreError
from .store import Scope
from .types import Event, HistoryEntry

__all__ = ["HistoryStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    memory_id TEXT NOT NULL,
    user_id TEXT NOT NULL DEFAULT '',
    agent_id TEXT NOT NULL DEFAULT '',
    run_id TEXT NOT NULL DEFAULT '',
    old_memory TEXT,
    new_memory TEXT,
    event TEXT NOT NULL CHECK (event IN ('ADD', 'UPDATE', 'DELETE')),
    created_at TEXT NOT NULL,
    updated_at TEXT
);
CREATE INDEX IF NOT EXISTS history_by_memory ON history (memory_id, seq);
CREATE INDEX IF NOT EXISTS history_by_user ON history (user_id, seq);
"""


class HistoryWriter:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def record(
        self,
        memory_id: str,
        scope: Scope,
        event: Event,
        old_memory: str | None,
        new_memory: str | None,
        created_at: str,
        updated_at: str | None,
    ) -> None:
        self._conn.execute(
            "INSERT INTO history (id, memory_id, user_id, agent_id, run_id, old_memory, new_memory,"
            " event, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                str(uuid.uuid4()),
                memory_id,
                scope.user_id,
                scope.agent_id,
                scope.run_id,
                old_memory,
                new_memory,
                event,
                created_at,
                updated_at,
            ),
        )


class HistoryStore:
    def __init__(self, path: str, busy_timeout_ms: int = 10_000) -> None:
        self.path = path
        if path != ":memory:":
            Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        try:
            self._conn = sqlite3.connect(
                path, check_same_thread=False, isolation_level=None, timeout=busy_timeout_ms / 1000
            )
            self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._conn.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the history database {path}: {exc}") from None

    @contextmanager
    def transaction(self) -> Iterator[HistoryWriter]:
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(f"history database {self.path} is not writable: {exc}") from None
            try:
                yield HistoryWriter(self._conn)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            try:
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._conn.execute("ROLLBACK")
                raise StoreError(f"history commit failed in {self.path}: {exc}") from None

    def for_memory(self, memory_id: str) -> list[HistoryEntry]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, memory_id, old_memory, new_memory, event, created_at, updated_at"
                " FROM history WHERE memory_id = ? ORDER BY seq",
                (memory_id,),
            ).fetchall()
        return [
            HistoryEntry(
                id=r[0], memory_id=r[1], old_memory=r[2], new_memory=r[3], event=r[4], created_at=r[5], updated_at=r[6]
            )
            for r in rows
        ]

    def owner(self, memory_id: str) -> Scope | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT user_id, agent_id, run_id FROM history WHERE memory_id = ? ORDER BY seq LIMIT 1", (memory_id,)
            ).fetchone()
        return Scope(row[0], row[1], row[2]) if row else None

    def reset(self) -> None:
        with self.transaction():
            self._conn.execute("DELETE FROM history")

    def close(self) -> None:
        with self._lock:
            self._conn.close()
