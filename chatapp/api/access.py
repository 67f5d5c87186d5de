"""The access log: which app read each memory through the API, when last, and how often (as
OpenMemory kept one). One row per memory and reader, so it does not grow with every read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from chatapp.api.sources import app_name
from chatapp.database import memory_reads
from memory import Database

__all__ = ["AccessLog"]


class AccessLog:
    def __init__(self, database: Database) -> None:
        self._database = database

    def record(self, user_id: str, memory_ids: Sequence[str], reader: str) -> None:
        """`reader` (a source, as the history records it) read these memories of `user_id` now."""
        ids = list(dict.fromkeys(memory_ids))
        if not ids:
            return
        at = datetime.now(UTC).isoformat()
        with self._database.write() as conn:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            statement = dialect.insert(memory_reads)
            conn.execute(
                statement.on_conflict_do_update(
                    index_elements=["user_id", "memory_id", "reader"],
                    set_={"read_at": statement.excluded.read_at, "reads": memory_reads.c.reads + 1},
                ),
                [{"user_id": user_id, "memory_id": i, "reader": reader, "read_at": at, "reads": 1} for i in ids],
            )

    def last_reads(self, user_id: str) -> dict[str, dict[str, Any]]:
        """memory id -> who read it last ("Claude Desktop (token 'laptop')"), when, and how many
        reads all apps made, for the user's memories that an app has read."""
        query = sa.select(memory_reads.c.memory_id, memory_reads.c.reader, memory_reads.c.read_at, memory_reads.c.reads)
        with self._database.read() as conn:
            rows = conn.execute(query.where(memory_reads.c.user_id == user_id)).all()
        found: dict[str, dict[str, Any]] = {}
        for memory_id, reader, read_at, reads in sorted(rows, key=lambda r: r[2]):
            total = found.get(memory_id, {}).get("reads", 0) + reads
            found[memory_id] = {"by": app_name(reader) or reader, "at": read_at, "reads": total}
        return found
