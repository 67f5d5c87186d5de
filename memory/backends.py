"""Where the history and its scope locks live: a SQLite file (one host), or PostgreSQL (any number)."""

from __future__ import annotations

import tempfile

from .history import HistoryStore
from .history_pg import PostgresHistoryStore
from .locks import AdvisoryLocks, FileLocks, ScopeLocks
from .pg import connect_pool, is_postgres_url

__all__ = ["History", "open_history"]

History = HistoryStore | PostgresHistoryStore


def open_history(path: str) -> tuple[History, ScopeLocks]:
    """The history store at `path` (a SQLite file, or a postgresql:// URL) and its scope locks."""
    if is_postgres_url(path):
        pg_history = PostgresHistoryStore(path)
        try:
            return pg_history, AdvisoryLocks(connect_pool(path, max_size=32))
        except BaseException:
            pg_history.close()
            raise
    history = HistoryStore(path)
    try:
        locks = FileLocks(tempfile.mkdtemp(prefix="memory-locks-") if path == ":memory:" else path + ".locks")
    except BaseException:
        history.close()
        raise
    return history, locks
