"""Each user's UI preferences (memory on or off, Memories panel open or closed), kept on the server
so they follow the user to a new chat, another tab or another browser."""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

__all__ = ["PostgresPreferences", "Preferences", "UserPreferences"]


@dataclass(frozen=True)
class UserPreferences:
    memory_enabled: bool = True
    panel_open: bool = True  # on a wide screen; a phone opens the panel only when asked


class Preferences:
    """A small SQLite table beside the chat threads: user id -> JSON of `UserPreferences`."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, timeout=10)
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS user_preferences (user_id TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self._db.commit()

    def get(self, user_id: str) -> UserPreferences:
        with self._lock:
            return self._read(user_id)

    def _read(self, user_id: str) -> UserPreferences:
        row = self._db.execute("SELECT value FROM user_preferences WHERE user_id = ?", (user_id,)).fetchone()
        return _decode(row[0] if row else None)

    def set(self, user_id: str, **changes: bool) -> UserPreferences:
        with self._lock:
            updated = replace(self._read(user_id), **changes)
            self._db.execute(
                "INSERT INTO user_preferences (user_id, value) VALUES (?, ?)"
                " ON CONFLICT (user_id) DO UPDATE SET value = excluded.value",
                (user_id, json.dumps(asdict(updated))),
            )
            self._db.commit()
        return updated

    def close(self) -> None:
        with self._lock:
            self._db.close()


class PostgresPreferences:
    """The same table in PostgreSQL (made by chatapp.database's migrations), for several processes."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool

    def get(self, user_id: str) -> UserPreferences:
        with self._pool.connection() as conn:
            row = conn.execute("SELECT value FROM user_preferences WHERE user_id = %s", (user_id,)).fetchone()
        return _decode(row[0] if row else None)

    def set(self, user_id: str, **changes: bool) -> UserPreferences:
        with self._pool.connection() as conn, conn.transaction():
            row = conn.execute(
                "SELECT value FROM user_preferences WHERE user_id = %s FOR UPDATE", (user_id,)
            ).fetchone()
            updated = replace(_decode(row[0] if row else None), **changes)
            conn.execute(
                "INSERT INTO user_preferences (user_id, value) VALUES (%s, %s)"
                " ON CONFLICT (user_id) DO UPDATE SET value = excluded.value",
                (user_id, json.dumps(asdict(updated))),
            )
        return updated

    def close(self) -> None:
        """The pool is the app's; it closes it."""


def _decode(value: str | None) -> UserPreferences:
    if value is None:
        return UserPreferences()
    try:
        stored: dict[str, Any] = json.loads(value)
    except ValueError:  # a damaged row gives the defaults rather than a broken chat
        return UserPreferences()
    known = {k: bool(v) for k, v in stored.items() if k in UserPreferences.__dataclass_fields__}
    return UserPreferences(**known)
