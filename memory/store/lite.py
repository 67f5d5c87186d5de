"""What only a milvus-lite file needs: one process per file, and a server that may die.

milvus-lite runs its server as a child process per file. A second process opening the same file
gets an exception with no message, so an advisory lock is taken first and the error names the
file. If the server exits, milvus-lite keeps handing out its dead socket; `lite_server_exited`
and `forget_lite_server` let the store start a new one.
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

from ..errors import StoreError, StoreLockedError

__all__ = ["forget_lite_server", "hold_file", "lite_server_exited", "release_file"]


class _PathLocks:
    """One advisory lock per milvus-lite file, shared by the stores of this process."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._held: dict[str, tuple[int, int]] = {}

    def acquire(self, db_path: str) -> None:
        key = os.path.realpath(db_path)
        with self._guard:
            if key in self._held:
                fd, count = self._held[key]
                self._held[key] = (fd, count + 1)
                return
            try:
                Path(key).parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(key + ".lock", os.O_CREAT | os.O_RDWR, 0o600)
            except OSError as exc:
                raise StoreError(
                    f"cannot use {db_path} for milvus-lite: {exc.strerror or exc} ({exc.filename or key}). "
                    "Give a path ending in .db in a folder you can write to"
                ) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise StoreLockedError(
                    f"the Milvus file {db_path} is open in another process (milvus-lite allows one): "
                    "stop that process, or use another path or a Milvus server URI"
                ) from None
            self._held[key] = (fd, 1)

    def release(self, db_path: str) -> None:
        key = os.path.realpath(db_path)
        with self._guard:
            if key not in self._held:
                return
            fd, count = self._held[key]
            if count > 1:
                self._held[key] = (fd, count - 1)
                return
            del self._held[key]
            forget_lite_server(db_path)  # the last store here: stop the server, so other processes may open the file
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


_locks = _PathLocks()


def lite_server_exited(uri: str) -> bool:
    """Whether the milvus-lite server process of this file, started by this process, has exited.

    milvus-lite 2.5.1 keeps its servers in `server_manager_instance._servers` (path -> Server, with
    the process in `_p`) and hands out a dead server's socket forever; there is no public API.
    """
    from milvus_lite.server_manager import server_manager_instance

    server = server_manager_instance._servers.get(str(Path(uri).absolute().resolve()))
    process = getattr(server, "_p", None)
    return process is not None and process.poll() is not None


def forget_lite_server(uri: str) -> None:
    """Stop this process's milvus-lite server of the file (if any); the next MilvusClient starts a new one."""
    from milvus_lite.server_manager import server_manager_instance

    if str(Path(uri).absolute().resolve()) in server_manager_instance._servers:
        server_manager_instance.release_server(uri)


def hold_file(db_path: str) -> None:
    """Take this process's hold on a milvus-lite file (counted: several stores may share it)."""
    _locks.acquire(db_path)


def release_file(db_path: str) -> None:
    """Give back a hold; the last one stops the server, so another process may open the file."""
    _locks.release(db_path)
