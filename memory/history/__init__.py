"""The edit history and the scope locks beside it: a SQLite file (one host) or PostgreSQL (any
number of hosts), one implementation over SQLAlchemy Core (store.py), versioned migrations
(database.py), and the locks that serialize a scope's changes (locks.py)."""

from __future__ import annotations

import tempfile

from .database import Database, Migration, is_postgres_url, libpq_url, migrate, open_database, sqlalchemy_url
from .locks import AdvisoryLocks, FileLocks, ScopeLocks
from .store import HistoryStore, PendingRow

__all__ = [
    "Database",
    "HistoryStore",
    "Migration",
    "PendingRow",
    "ScopeLocks",
    "is_postgres_url",
    "libpq_url",
    "migrate",
    "open_database",
    "open_history",
    "sqlalchemy_url",
]


def open_history(path: str) -> tuple[HistoryStore, ScopeLocks]:
    """The history at `path` (a SQLite file, or a postgresql:// URL) and its scope locks."""
    database = open_database(path)
    try:
        history = HistoryStore(database)
        if database.is_postgres:
            return history, AdvisoryLocks(open_database(path, pool_size=32))
        return history, FileLocks(tempfile.mkdtemp(prefix="memory-locks-") if path == ":memory:" else path + ".locks")
    except BaseException:
        database.close()
        raise
