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
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from .errors import StoreError
from .filters import Scope

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


class _Reentrant:
    """What this thread holds, so a nested `hold` of the same key does not wait on itself."""

    def __init__(self) -> None:
        self._local = threading.local()

    def held(self) -> dict[str, int]:
        if not hasattr(self._local, "held"):
            self._local.held = {}
        held: dict[str, int] = self._local.held
        return held


class FileLocks:
    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self._threads = _Reentrant()
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the lock folder {self.directory}: {exc.strerror or exc}") from None

    def hold(self, scope: Scope) -> Any:
        return self.hold_key(scope_key(scope))

    def close(self) -> None:
        """Nothing stays open between holds."""

    @contextmanager
    def hold_key(self, name: str) -> Iterator[None]:
        bucket = int.from_bytes(hashlib.sha1(name.encode()).digest()[:4], "big") % FILE_BUCKETS
        key = f"{bucket:03d}"
        held = self._threads.held()
        if key in held:
            held[key] += 1
            try:
                yield
            finally:
                held[key] -= 1
            return
        try:
            fd = os.open(self.directory / f"{key}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        except OSError as exc:
            raise StoreError(f"cannot open a lock file in {self.directory}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # a new open file, so threads of this process wait too
            held[key] = 1
            try:
                yield
            finally:
                del held[key]
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


class AdvisoryLocks:
    """Session advisory locks, keyed by a 64-bit hash of the scope. Each held lock keeps a
    connection of its own pool: sharing the history's pool, holders waiting for a connection to
    write their history while every connection held a lock would wait for each other."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool
        self._threads = _Reentrant()

    def close(self) -> None:
        self._pool.close()

    def hold(self, scope: Scope) -> Any:
        return self.hold_key(scope_key(scope))

    @contextmanager
    def hold_key(self, key: str) -> Iterator[None]:
        held = self._threads.held()
        if key in held:
            held[key] += 1
            try:
                yield
            finally:
                held[key] -= 1
            return
        number = int.from_bytes(hashlib.sha1(b"memory-scope\x1f" + key.encode()).digest()[:8], "big", signed=True)
        with self._pool.connection() as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (number,))
            held[key] = 1
            try:
                yield
            finally:
                del held[key]
                conn.execute("SELECT pg_advisory_unlock(%s)", (number,))
