"""Logins: open mode for local demos, password logins (bcrypt hashes) in the app's database, and the JWT secret."""

from __future__ import annotations

import os
import re
import secrets
import time
from pathlib import Path

import bcrypt
import sqlalchemy as sa

from chatapp.database import app_users, upsert
from memory import Database

__all__ = ["Users", "ensure_auth_secret", "valid_username"]

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


class Users:
    """Password logins (bcrypt hashes) in the app's database."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self.where = database.where

    def add(self, username: str, password: str) -> None:
        name, password_hash = _checked_new_login(username, password)
        with self._database.write() as conn:
            upsert(conn, app_users, {"identifier": name, "password_hash": password_hash})

    def check(self, username: str, password: str) -> str | None:
        """The user's identifier when the password matches, else None."""
        name = valid_username(username)
        stored = None
        if name:
            with self._database.read() as conn:
                stored = conn.execute(
                    sa.select(app_users.c.password_hash).where(app_users.c.identifier == name)
                ).scalar()
        return _matches(name, stored, password)


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
