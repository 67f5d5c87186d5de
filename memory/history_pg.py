"""The edit history in PostgreSQL: the same rows and two-step protocol as history.py's SQLite store,
for several app processes (on one host or several) sharing one history."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from .errors import StoreError
from .filters import Scope
from .history import PendingRow, Row, deleted_memory, history_entry, pending_rows
from .pg import Migration, connect_pool, migrate
from .types import DeletedMemory, HistoryEntry

__all__ = ["PostgresHistoryStore"]

MIGRATIONS: list[Migration] = [
    (
        1,
        """
        CREATE TABLE memory_history (
            seq BIGSERIAL PRIMARY KEY,
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
            pending BOOLEAN NOT NULL DEFAULT false,
            source TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX memory_history_by_memory ON memory_history (memory_id, seq);
        CREATE INDEX memory_history_by_user ON memory_history (user_id, seq);
        CREATE INDEX memory_history_pending ON memory_history (pending) WHERE pending;
        """,
    ),
]


class PostgresHistoryStore:
    def __init__(self, url: str, pool: Any | None = None) -> None:
        self.path = url
        self.pool = pool or connect_pool(url)
        try:
            migrate(self.pool, "memory_history", MIGRATIONS)
        except Exception as exc:
            self.pool.close()
            raise StoreError(f"cannot prepare the history tables in PostgreSQL: {exc}") from None

    def _run(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            with self.pool.connection() as conn:
                cursor = conn.execute(sql, params)
                return cursor.fetchall() if cursor.description else []
        except Exception as exc:
            raise StoreError(f"the history database failed: {exc}") from None

    # -- the two steps of a write -------------------------------------------------------

    def intend(self, rows: Sequence[Row]) -> list[str]:
        ids = [str(uuid.uuid4()) for _ in rows]
        try:
            with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO memory_history (id, memory_id, user_id, agent_id, run_id, old_memory, new_memory,"
                    " event, created_at, updated_at, source, pending)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, true)",
                    [r.values(row_id) for row_id, r in zip(ids, rows, strict=True)],
                )
        except Exception as exc:
            raise StoreError(f"cannot write to the history database: {exc}") from None
        return ids

    def confirm(self, ids: Sequence[str]) -> None:
        if ids:
            self._run("UPDATE memory_history SET pending = false WHERE id = ANY(%s)", (list(ids),))

    def discard(self, ids: Sequence[str]) -> None:
        if ids:
            self._run("DELETE FROM memory_history WHERE id = ANY(%s) AND pending", (list(ids),))

    def pending(self, ids: Sequence[str] | None = None) -> list[PendingRow]:
        rows = self._run(
            "SELECT id, memory_id, event, new_memory, user_id, agent_id, run_id FROM memory_history WHERE pending ORDER BY seq"
        )
        return pending_rows(rows, ids)

    # -- reads (confirmed rows only) ----------------------------------------------------

    def for_memory(self, memory_id: str, with_source: bool = False) -> list[HistoryEntry]:
        rows = self._run(
            "SELECT id, memory_id, old_memory, new_memory, event, created_at, updated_at, source"
            " FROM memory_history WHERE memory_id = %s AND NOT pending ORDER BY seq",
            (memory_id,),
        )
        return [history_entry(r, with_source) for r in rows]

    def deleted(self, scope: Scope, limit: int) -> list[DeletedMemory]:
        rows = self._run(
            "SELECT h.memory_id, h.old_memory, h.updated_at, h.source FROM memory_history h"
            " WHERE h.user_id = %s AND h.agent_id = %s AND h.run_id = %s AND NOT h.pending AND h.event = 'DELETE'"
            " AND h.seq = (SELECT max(seq) FROM memory_history l WHERE l.memory_id = h.memory_id AND NOT l.pending)"
            " ORDER BY h.seq DESC LIMIT %s",
            (scope.user_id, scope.agent_id, scope.run_id, limit),
        )
        return [deleted_memory(r) for r in rows]

    def owner(self, memory_id: str) -> Scope | None:
        rows = self._run(
            "SELECT user_id, agent_id, run_id FROM memory_history WHERE memory_id = %s AND NOT pending"
            " ORDER BY seq LIMIT 1",
            (memory_id,),
        )
        return Scope(rows[0][0], rows[0][1], rows[0][2]) if rows else None

    def reset(self) -> None:
        self._run("DELETE FROM memory_history")

    def close(self) -> None:
        self.pool.close()
