"""Logins: open mode for local demos, a users file with bcrypt hashes, and the JWT secret."""

from __future__ import annotations

import json
import os
import re
import secrets
import threading
from pathlib import Path

import bcrypt

__all__ = ["UsersFile", "ensure_auth_secret", "valid_username"]

_USERNAME = re.compile(r"^[^\x00-\x1f\x7f]{1,64}$")


def valid_username(raw: str) -> str | None:
    """The identifier for a typed name, or None when it cannot be one."""
    name = (raw or "").strip()
    return name if _USERNAME.match(name) else None


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

    def add(self, username: str, password: str) -> None:
        name = valid_username(username)
        if name is None:
            raise ValueError("a user name is 1 to 64 printable characters")
        if len(password) < 8:
            raise ValueError("a password has at least 8 characters")
        with self._lock:
            users = self._load()
            users[name] = {"password_hash": bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()}
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"users": users}, indent=2, ensure_ascii=False), encoding="utf-8")
            os.chmod(tmp, 0o600)
            tmp.replace(self.path)

    def check(self, username: str, password: str) -> str | None:
        """The user's identifier when the password matches, else None."""
        name = valid_username(username)
        if name is None:
            return None
        entry = self._load().get(name)
        if not entry:
            bcrypt.checkpw(b"timing", bcrypt.hashpw(b"x", bcrypt.gensalt(4)))  # same work for unknown names
            return None
        return name if bcrypt.checkpw(password.encode(), entry["password_hash"].encode()) else None


def ensure_auth_secret(secret_file: Path) -> str:
    """CHAINLIT_AUTH_SECRET from the environment, else from `secret_file`, else a new one kept there."""
    existing = os.environ.get("CHAINLIT_AUTH_SECRET")
    if existing:
        return existing
    if secret_file.exists():
        secret = secret_file.read_text(encoding="utf-8").strip()
    else:
        secret_file.parent.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_urlsafe(48)
        fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secret)
    os.environ["CHAINLIT_AUTH_SECRET"] = secret
    return secret
