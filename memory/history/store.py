"""Edit history: one row per ADD, UPDATE and DELETE, each with its owner, in a SQLite file or in
PostgreSQL (one implementation over SQLAlchemy Core).

Milvus and a database cannot share a transaction, so a write goes in two steps:
1. `intend()` commits the change's rows as *pending* (invisible to readers);
2. after the Milvus write, `confirm()` makes them visible, or `discard()` drops the rows of a
   change that did not happen. `pending()` lists what a crash left between the two steps, for
   the caller to settle against what Milvus holds (see `_writer.Writer.settle`).
So a memory never shows without its history row, nor a history row without its change.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..models import Change, Event, Scope
from ..types import DeletedMemory, HistoryEntry
from .database import Database, Migration, migrate

__all__ = ["MIGRATIONS", "HistoryStore", "PendingRow"]

_metadata = sa.MetaData()
history = sa.Table(
    "memory_history",
    _metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("id", sa.Text, nullable=False, unique=True),
    sa.Column("memory_id", sa.Text, nullable=False),
    sa.Column("user_id", sa.Text, nullable=False, server_default=""),
    sa.Column("agent_id", sa.Text, nullable=False, server_default=""),
    sa.Column("run_id", sa.Text, nullable=False, server_default=""),
    sa.Column("old_memory", sa.Text),
    sa.Column("new_memory", sa.Text),
    sa.Column("event", sa.Text, sa.CheckConstraint("event IN ('ADD', 'UPDATE', 'DELETE')"), nullable=False),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("updated_at", sa.Text),
    sa.Column("pending", sa.Boolean(create_constraint=False), nullable=False, server_default=sa.false()),
    sa.Column("source", sa.Text, nullable=False, server_default=""),
    sqlite_autoincrement=True,
)
sa.Index("memory_history_by_memory", history.c.memory_id, history.c.seq)
sa.Index("memory_history_by_user", history.c.user_id, history.c.seq)
sa.Index(
    "memory_history_pending",
    history.c.pending,
    sqlite_where=history.c.pending.is_(True),
    postgresql_where=history.c.pending.is_(True),
)


def _create_or_adopt(conn: Connection) -> None:
    """Create the table; a SQLite history made before migrations (table `history`, perhaps without
    the `pending` and `source` columns) is brought up to date and renamed instead."""
    inspector = sa.inspect(conn)
    if conn.dialect.name == "sqlite" and inspector.has_table("history"):
        columns = {c["name"] for c in inspector.get_columns("history")}
        if "pending" not in columns:
            conn.exec_driver_sql("ALTER TABLE history ADD COLUMN pending INTEGER NOT NULL DEFAULT 0")
        if "source" not in columns:
            conn.exec_driver_sql("ALTER TABLE history ADD COLUMN source TEXT NOT NULL DEFAULT ''")
        for old_index in ("history_by_memory", "history_by_user", "history_pending"):
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS {old_index}")
        conn.exec_driver_sql("ALTER TABLE history RENAME TO memory_history")
        for index in history.indexes:
            index.create(conn)
        return
    _metadata.create_all(conn)


# The component's name and version 1 match what PostgreSQL databases made before this module hold.
MIGRATIONS: list[Migration] = [(1, _create_or_adopt)]

_ENTRY = (history.c.id, history.c.memory_id, history.c.old_memory, history.c.new_memory, history.c.event,
          history.c.created_at, history.c.updated_at, history.c.source)  # fmt: skip


@dataclass(frozen=True)
class PendingRow:
    id: str
    memory_id: str
    event: Event
    new_memory: str | None
    scope: Scope


class HistoryStore:
    def __init__(self, database: Database) -> None:
        self.database = database
        self.path = database.where
        migrate(database, "memory_history", MIGRATIONS)

    # -- the two steps of a write -------------------------------------------------------

    def intend(self, changes: Sequence[Change]) -> list[str]:
        """Commit the changes' rows as pending; returns their ids for `confirm` or `discard`."""
        ids = [str(uuid.uuid4()) for _ in changes]
        with self.database.write() as conn:
            conn.execute(history.insert(), [_row(row_id, change) for row_id, change in zip(ids, changes, strict=True)])
        return ids

    def confirm(self, ids: Sequence[str]) -> None:
        if ids:
            with self.database.write() as conn:
                conn.execute(history.update().where(history.c.id.in_(ids)).values(pending=False))

    def discard(self, ids: Sequence[str]) -> None:
        if ids:
            with self.database.write() as conn:
                conn.execute(history.delete().where(history.c.id.in_(ids), history.c.pending.is_(True)))

    def pending(self, ids: Sequence[str] | None = None) -> list[PendingRow]:
        """Rows written by `intend` and neither confirmed nor discarded: those of `ids`, or all."""
        query = sa.select(history.c.id, history.c.memory_id, history.c.event, history.c.new_memory,
                          history.c.user_id, history.c.agent_id, history.c.run_id)  # fmt: skip
        query = query.where(history.c.pending.is_(True)).order_by(history.c.seq)
        if ids is not None:
            query = query.where(history.c.id.in_(list(ids)))
        with self.database.read() as conn:
            rows = conn.execute(query).all()
        return [PendingRow(r[0], r[1], r[2], r[3], Scope(r[4], r[5], r[6])) for r in rows]

    # -- reads (confirmed rows only) ----------------------------------------------------

    def for_memory(self, memory_id: str, with_source: bool = False) -> list[HistoryEntry]:
        return self.for_memories([memory_id], with_source).get(memory_id, [])

    def for_memories(
        self, memory_ids: Sequence[str], with_source: bool = False, user_id: str | None = None
    ) -> dict[str, list[HistoryEntry]]:
        """The entries of many memories in one query (of `user_id`'s only, when given): memory id
        -> its entries, oldest first."""
        found: dict[str, list[HistoryEntry]] = {}
        if not memory_ids:
            return found
        query = (
            sa.select(*_ENTRY)
            .where(history.c.memory_id.in_(list(memory_ids)), history.c.pending.is_(False))
            .order_by(history.c.seq)
        )
        if user_id is not None:
            query = query.where(history.c.user_id == user_id)
        with self.database.read() as conn:
            for row in conn.execute(query):
                found.setdefault(row[1], []).append(_entry(row, with_source))
        return found

    def deleted(self, scope: Scope, limit: int) -> list[DeletedMemory]:
        """This scope's memories whose last change is a deletion, the most recently deleted first."""
        h = history.alias("h")
        last = history.alias("l")
        latest = (
            sa.select(sa.func.max(last.c.seq))
            .where(last.c.memory_id == h.c.memory_id, last.c.pending.is_(False))
            .scalar_subquery()
        )
        query = (
            sa.select(h.c.memory_id, h.c.old_memory, h.c.updated_at, h.c.source)
            .where(
                h.c.user_id == scope.user_id,
                h.c.agent_id == scope.agent_id,
                h.c.run_id == scope.run_id,
                h.c.pending.is_(False),
                h.c.event == "DELETE",
                h.c.seq == latest,
            )
            .order_by(h.c.seq.desc())
            .limit(limit)
        )
        with self.database.read() as conn:
            rows = conn.execute(query).all()
        return [DeletedMemory(id=r[0], memory=r[1] or "", deleted_at=r[2], source=r[3] or "unknown") for r in rows]

    def owner(self, memory_id: str) -> Scope | None:
        query = (
            sa.select(history.c.user_id, history.c.agent_id, history.c.run_id)
            .where(history.c.memory_id == memory_id, history.c.pending.is_(False))
            .order_by(history.c.seq)
            .limit(1)
        )
        with self.database.read() as conn:
            row = conn.execute(query).first()
        return Scope(row[0], row[1], row[2]) if row else None

    def reset(self) -> None:
        with self.database.write() as conn:
            conn.execute(history.delete())

    def close(self) -> None:
        self.database.close()


def _row(row_id: str, change: Change) -> dict[str, object]:
    record = change.before or change.after
    assert record is not None
    return {
        "id": row_id,
        "memory_id": change.memory_id,
        "user_id": record.user_id,
        "agent_id": record.agent_id,
        "run_id": record.run_id,
        "old_memory": change.before.memory if change.before else None,
        "new_memory": change.after.memory if change.after else None,
        "event": change.event,
        "created_at": record.created_at,
        "updated_at": None if change.event == "ADD" else change.at,
        "source": change.source,
        "pending": True,
    }


def _entry(r: Sequence[object], with_source: bool) -> HistoryEntry:
    """A row of `_ENTRY` as the tutorial shows it."""
    entry = HistoryEntry(
        id=str(r[0]),
        memory_id=str(r[1]),
        old_memory=r[2],  # type: ignore[typeddict-item]
        new_memory=r[3],  # type: ignore[typeddict-item]
        event=r[4],  # type: ignore[typeddict-item]
        created_at=str(r[5]),
        updated_at=r[6],  # type: ignore[typeddict-item]
    )
    if with_source:
        entry["source"] = r[7] or "unknown"  # type: ignore[typeddict-unknown-key]
    return entry
