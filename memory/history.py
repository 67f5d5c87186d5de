"""Edit history in SQLite: one row per ADD, UPDATE and DELETE, each with its owner.

Milvus and SQLite cannot share a transaction, so a write goes in two steps:
1. `intend()` commits the change's rows as *pending* (invisible to readers);
2. after the Milvus write, `confirm()` makes them visible, or `discard()` drops the rows of a
   change that did not happen. `pending()` lists what a crash left between the two steps, for
   the caller to settle against what Milvus holds (see `Memory._settle`).
So a memory never shows without its history row, nor a history row without its change.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import StoreError
from .filters import Scope
from .types import DeletedMemory, Event, HistoryEntry

__all__ = ["HistoryStore", "PendingRow", "Row", "deleted_memory", "history_entry", "pending_rows"]

_TABLE = """
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
    updated_at TEXT,
    pending INTEGER NOT NULL DEFAULT 0,
    source TEXT NOT NULL DEFAULT ''
);
"""
_INDEXES = """
CREATE INDEX IF NOT EXISTS history_by_memory ON history (memory_id, seq);
CREATE INDEX IF NOT EXISTS history_by_user ON history (user_id, seq);
CREATE INDEX IF NOT EXISTS history_pending ON history (pending) WHERE pending = 1;
"""


@dataclass(frozen=True)
class Row:
    """One change to record."""

    memory_id: str
    scope: Scope
    event: Event
    old_memory: str | None
    new_memory: str | None
    created_at: str
    updated_at: str | None
    source: str

    def values(self, row_id: str) -> tuple[str | None, ...]:
        """The row's columns, in the order both history stores insert them."""
        scope = self.scope
        return (
            row_id,
            self.memory_id,
            scope.user_id,
            scope.agent_id,
            scope.run_id,
            self.old_memory,
            self.new_memory,
            self.event,
            self.created_at,
            self.updated_at,
            self.source,
        )


@dataclass(frozen=True)
class PendingRow:
    id: str
    memory_id: str
    event: Event
    new_memory: str | None
    scope: Scope


class HistoryStore:
    def __init__(self, path: str, busy_timeout_ms: int = 10_000) -> None:
        self.path = path
        self._lock = threading.RLock()
        try:
            if path != ":memory:":
                Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                path, check_same_thread=False, isolation_level=None, timeout=busy_timeout_ms / 1000
            )
            self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._conn.executescript(_TABLE)
            columns = {row[1] for row in self._conn.execute("PRAGMA table_info(history)")}
            if "pending" not in columns:  # a history made before two-step writes
                self._conn.execute("ALTER TABLE history ADD COLUMN pending INTEGER NOT NULL DEFAULT 0")
            if "source" not in columns:  # a history made before changes said who made them
                self._conn.execute("ALTER TABLE history ADD COLUMN source TEXT NOT NULL DEFAULT ''")
            self._conn.executescript(_INDEXES)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open the history database {path}: {exc}") from None

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE takes the write lock up front, so a busy database waits, then fails clearly."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(f"history database {self.path} is not writable: {exc}") from None
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            try:
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._conn.execute("ROLLBACK")
                raise StoreError(f"history commit failed in {self.path}: {exc}") from None

    # -- the two steps of a write -------------------------------------------------------

    def intend(self, rows: Sequence[Row]) -> list[str]:
        """Commit `rows` as pending; returns their ids for `confirm` or `discard`."""
        ids = [str(uuid.uuid4()) for _ in rows]
        try:
            with self._transaction() as conn:
                conn.executemany(
                    "INSERT INTO history (id, memory_id, user_id, agent_id, run_id, old_memory, new_memory,"
                    " event, created_at, updated_at, source, pending) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
                    [r.values(row_id) for row_id, r in zip(ids, rows, strict=True)],
                )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write to the history database {self.path}: {exc}") from None
        return ids

    def confirm(self, ids: Sequence[str]) -> None:
        self._set(ids, "UPDATE history SET pending = 0 WHERE id = ?")

    def discard(self, ids: Sequence[str]) -> None:
        self._set(ids, "DELETE FROM history WHERE id = ? AND pending = 1")

    def _set(self, ids: Sequence[str], statement: str) -> None:
        if not ids:
            return
        try:
            with self._transaction() as conn:
                conn.executemany(statement, [(i,) for i in ids])
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write to the history database {self.path}: {exc}") from None

    def pending(self, ids: Sequence[str] | None = None) -> list[PendingRow]:
        """Rows written by `intend` and neither confirmed nor discarded: those of `ids`, or all."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, memory_id, event, new_memory, user_id, agent_id, run_id"
                " FROM history WHERE pending = 1 ORDER BY seq"
            ).fetchall()
        return pending_rows(rows, ids)

    # -- reads (confirmed rows only) ----------------------------------------------------

    def for_memory(self, memory_id: str, with_source: bool = False) -> list[HistoryEntry]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, memory_id, old_memory, new_memory, event, created_at, updated_at, source"
                " FROM history WHERE memory_id = ? AND pending = 0 ORDER BY seq",
                (memory_id,),
            ).fetchall()
        return [history_entry(r, with_source) for r in rows]

    def deleted(self, scope: Scope, limit: int) -> list[DeletedMemory]:
        """This scope's memories whose last change is a deletion, the most recently deleted first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT h.memory_id, h.old_memory, h.updated_at, h.source FROM history h"
                " WHERE h.user_id = ? AND h.agent_id = ? AND h.run_id = ? AND h.pending = 0 AND h.event = 'DELETE'"
                " AND h.seq = (SELECT max(seq) FROM history l WHERE l.memory_id = h.memory_id AND l.pending = 0)"
                " ORDER BY h.seq DESC LIMIT ?",
                (scope.user_id, scope.agent_id, scope.run_id, limit),
            ).fetchall()
        return [deleted_memory(r) for r in rows]

    def owner(self, memory_id: str) -> Scope | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT user_id, agent_id, run_id FROM history WHERE memory_id = ? AND pending = 0"
                " ORDER BY seq LIMIT 1",
                (memory_id,),
            ).fetchone()
        return Scope(row[0], row[1], row[2]) if row else None

    def reset(self) -> None:
        with self._transaction() as conn:
            conn.execute("DELETE FROM history")

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def pending_rows(rows: Sequence[Sequence[Any]], ids: Sequence[str] | None) -> list[PendingRow]:
    """Rows of (id, memory_id, event, new_memory, user_id, agent_id, run_id): those of `ids`, or all."""
    wanted = set(ids) if ids is not None else None
    return [
        PendingRow(r[0], r[1], r[2], r[3], Scope(r[4], r[5], r[6])) for r in rows if wanted is None or r[0] in wanted
    ]


def history_entry(r: Sequence[Any], with_source: bool) -> HistoryEntry:
    """A row of (id, memory_id, old, new, event, created_at, updated_at, source) as the tutorial shows it."""
    entry = HistoryEntry(
        id=r[0], memory_id=r[1], old_memory=r[2], new_memory=r[3], event=r[4], created_at=r[5], updated_at=r[6]
    )
    if with_source:
        entry["source"] = r[7] or "unknown"  # type: ignore[typeddict-unknown-key]
    return entry


def deleted_memory(r: Sequence[Any]) -> DeletedMemory:
    """A row of (memory_id, old_memory, deleted_at, source)."""
    return DeletedMemory(id=r[0], memory=r[1] or "", deleted_at=r[2], source=r[3] or "unknown")
