"""Logins: open mode for local demos, a users file with bcrypt hashes, and the JWT secret."""

from __future__ import annotations

import json
import os
import re
import secrets
import threading
import time
from pathlib import Path
from typing import Any

import bcrypt

__all__ = ["PostgresUsers", "UsersFile", "ensure_auth_secret", "valid_username"]

_USERNAME = re.compile(r"^[^\x00-\x1f\x7f]{1,64}$")


def valid_username(raw: str) -> str | None:
    """The identifier for a typed name, or None when it cannot be one."""
    name = (raw or "").strip()
    return name if _USERNAME.match(name) else None


def _checked_new_login(username: str, password: str) -> tuple[str, str]:
    """The identifier and bcrypt hash of a new login; ValueError for a bad name or short password."""
    name = valid_username(username)
    if name is None:
        raise ValueError("a user name is 1 to 64 printable characters")
    if len(password) < 8:
        raise ValueError("a password has at least 8 characters")
    return name, bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()


def _matches(name: str | None, stored_hash: str | None, password: str) -> str | None:
    if name is None or stored_hash is None:
        bcrypt.checkpw(b"timing", bcrypt.hashpw(b"x", bcrypt.gensalt(4)))  # same work for unknown names
        return None
    return name if bcrypt.checkpw(password.encode(), stored_hash.encode()) else None


class UsersFile:
    """`{"users": {"alice": {"password_hash": "$2b$..."}}}`, written atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def _load(self) -> dict[str, dict[str, str]]:
        if not self.path.exists():
            return {}
        data = json.loads(self.path.read_text(encoding="utf-8"))
        users = data.get("users", {})
        return users if isinstance(users, dict) else {}

    @property
    def where(self) -> str:
        return str(self.path)

    def add(self, username: str, password: str) -> None:
        name, password_hash = _checked_new_login(username, password)
        with self._lock:
            users = self._load()
            users[name] = {"password_hash": password_hash}
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"users": users}, indent=2, ensure_ascii=False), encoding="utf-8")
            os.chmod(tmp, 0o600)
            tmp.replace(self.path)

    def check(self, username: str, password: str) -> str | None:
        """The user's identifier when the password matches, else None."""
        name = valid_username(username)
        entry = self._load().get(name) if name else None
        return _matches(name, entry["password_hash"] if entry else None, password)


class PostgresUsers:
    """The same logins in PostgreSQL's `app_users` table, for several app processes."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool
        self.where = "PostgreSQL (table app_users)"

    def add(self, username: str, password: str) -> None:
        name, password_hash = _checked_new_login(username, password)
        with self._pool.connection() as conn:
            conn.execute(
                "INSERT INTO app_users (identifier, password_hash) VALUES (%s, %s)"
                " ON CONFLICT (identifier) DO UPDATE SET password_hash = excluded.password_hash",
                (name, password_hash),
            )

    def check(self, username: str, password: str) -> str | None:
        name = valid_username(username)
        row = None
        if name:
            with self._pool.connection() as conn:
                row = conn.execute("SELECT password_hash FROM app_users WHERE identifier = %s", (name,)).fetchone()
        return _matches(name, row[0] if row else None, password)


def ensure_auth_secret(secret_file: Path) -> str:
    """CHAINLIT_AUTH_SECRET from the environment, else from `secret_file`, else a new one kept there."""
    existing = os.environ.get("CHAINLIT_AUTH_SECRET")
    if existing:
        return existing
    secret_file.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # made before, or by a process starting at the same moment
        secret = _read_secret(secret_file)
    else:
        secret = secrets.token_urlsafe(48)
        with os.fdopen(fd, "w") as handle:
            handle.write(secret)
    os.environ["CHAINLIT_AUTH_SECRET"] = secret
    return secret


def _read_secret(secret_file: Path, wait_s: float = 5.0) -> str:
    """The secret in the file, waiting briefly for a process that has just created it to write it."""
    deadline = time.monotonic() + wait_s
    while True:
        secret = secret_file.read_text(encoding="utf-8").strip()
        if secret or time.monotonic() > deadline:
            return secret
        time.sleep(0.05)
