"""Locks that serialize one scope's memory changes across threads and processes.

Two processes (or two threads) extracting the same user's facts at once each read the same
candidates and add the same memory twice; two updating one memory at once break its history
chain. So every read-modify-write of a scope (a user, agent or run) holds that scope's lock, and
pending history rows are settled under it. The lock lives where the history lives:
- beside a SQLite history, `FileLocks`: `flock` on one of 256 files in `<history>.locks/`
  (processes on one host);
- with a PostgreSQL history, `AdvisoryLocks`: `pg_advisory_lock` (processes on any host).

The locks are re-entrant per thread, so code holding a scope may call code that takes it again.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa

from ..errors import StoreError
from ..models import Scope
from .database import Database, error_text

__all__ = ["AdvisoryLocks", "FileLocks", "ScopeLocks", "scope_key"]

FILE_BUCKETS = 256


def scope_key(scope: Scope) -> str:
    """The widest owner a scope names: a user's lock covers their agents' and runs' memories too,
    since a user's search and extraction see all of them."""
    if scope.user_id:
        return f"user\x1f{scope.user_id}"
    if scope.agent_id:
        return f"agent\x1f{scope.agent_id}"
    return f"run\x1f{scope.run_id}"


class ScopeLocks(Protocol):
    def hold(self, scope: Scope) -> Any: ...

    def hold_key(self, key: str) -> Any: ...

    def close(self) -> None: ...


class _ReentrantLocks:
    """Re-entrant per thread: a nested hold of a key this thread holds does not wait on itself.
    Subclasses say how to hold a key exclusively across threads and processes."""

    def __init__(self) -> None:
        self._local = threading.local()

    def hold(self, scope: Scope) -> Any:
        return self.hold_key(scope_key(scope))

    @contextmanager
    def hold_key(self, name: str) -> Iterator[None]:
        key = self._key(name)
        if not hasattr(self._local, "held"):
            self._local.held = {}
        held: dict[str, int] = self._local.held
        if key in held:
            held[key] += 1
            try:
                yield
            finally:
                held[key] -= 1
            return
        with self._exclusive(key):
            held[key] = 1
            try:
                yield
            finally:
                del held[key]

    def _key(self, name: str) -> str:
        return name

    def _exclusive(self, key: str) -> AbstractContextManager[None]:
        raise NotImplementedError

    def close(self) -> None:
        """Nothing stays open between holds."""


class FileLocks(_ReentrantLocks):
    def __init__(self, directory: str | Path) -> None:
        super().__init__()
        self.directory = Path(directory)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the lock folder {self.directory}: {exc.strerror or exc}") from None

    def _key(self, name: str) -> str:
        """One of FILE_BUCKETS files: two names may share one, which only makes them take turns."""
        return f"{int.from_bytes(hashlib.sha1(name.encode()).digest()[:4], 'big') % FILE_BUCKETS:03d}"

    @contextmanager
    def _exclusive(self, key: str) -> Iterator[None]:
        try:
            fd = os.open(self.directory / f"{key}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        except OSError as exc:
            raise StoreError(f"cannot open a lock file in {self.directory}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # a new open file, so threads of this process wait too
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


class AdvisoryLocks(_ReentrantLocks):
    """Session advisory locks, keyed by a 64-bit hash of the name. Each held lock keeps a
    connection of its own pool: sharing the history's pool, holders waiting for a connection to
    write their history while every connection held a lock would wait for each other. A failure
    to take or give back a lock is a `StoreError`; what the holder raises passes through as it is."""

    def __init__(self, database: Database) -> None:
        super().__init__()
        self._database = database

    def close(self) -> None:
        self._database.close()

    @contextmanager
    def _exclusive(self, key: str) -> Iterator[None]:
        number = int.from_bytes(hashlib.sha1(b"memory-scope\x1f" + key.encode()).digest()[:8], "big", signed=True)
        try:
            conn = self._database.engine.connect()
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"cannot take a scope lock in {self._database.where}: {error_text(exc)}") from None
        try:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.execute(sa.text("SELECT pg_advisory_lock(:n)"), {"n": number})
        except sa.exc.SQLAlchemyError as exc:
            conn.close()
            raise StoreError(f"cannot take a scope lock in {self._database.where}: {error_text(exc)}") from None
        try:
            yield
        finally:
            try:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:n)"), {"n": number})
            except sa.exc.SQLAlchemyError:  # the session is gone, and its locks with it
                conn.invalidate()
            finally:
                conn.close()
