"""Per-user tokens for other apps, made in the panel: shown once, kept only as a SHA-256 hash.

A token is 32 random bytes, so a fast hash is enough (nothing to guess from it) and a lookup by hash
finds it in one indexed read. Every request looks its token up in the app's database, so a revoked
token fails at once, in every process that shares the database.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from chatapp.database import api_tokens
from memory import Database

__all__ = ["TOKEN_PREFIX", "Caller", "TokenError", "TokenStore"]

TOKEN_PREFIX = "mcm_"  # memory chat memory: says what a leaked string is
MAX_TOKENS_PER_USER = 20
MAX_NAME_CHARS = 40
_NAME = re.compile(r"^[^\x00-\x1f\x7f'\"\\]+$")
# "Last used" is written at most this often per token (a read of every request is enough to check it).
LAST_USE_EVERY = timedelta(seconds=60)


class TokenError(ValueError):
    """A token cannot be made: a bad or taken name, or too many tokens."""


@dataclass(frozen=True)
class Caller:
    """Who is calling the API: a user, through one of their tokens."""

    user_id: str
    token_id: str
    token_name: str
    last_used_at: str | None
    last_client: str | None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat()


class TokenStore:
    def __init__(self, database: Database) -> None:
        self._database = database

    def create(self, user_id: str, name: str) -> tuple[dict[str, Any], str]:
        """A new token for `user_id`: its listing and the secret, which is never stored."""
        name = " ".join(str(name or "").split())
        if not name or len(name) > MAX_NAME_CHARS or not _NAME.match(name):
            raise TokenError(f"a token's name is 1 to {MAX_NAME_CHARS} characters, without quotes or backslashes")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = {
            "id": str(uuid.uuid4()),
            "user_id": user_id,
            "name": name,
            "token_hash": _hash(secret),
            "hint": secret[-4:],
            "created_at": _now(),
        }
        with self._database.write() as conn:
            owned = conn.execute(sa.select(api_tokens.c.name).where(api_tokens.c.user_id == user_id)).scalars().all()
            if name.casefold() in {n.casefold() for n in owned}:
                raise TokenError(f"you already have a token named '{name}': pick another name, or revoke that one")
            if len(owned) >= MAX_TOKENS_PER_USER:
                raise TokenError(f"you have {len(owned)} tokens, the most there can be: revoke one first")
            conn.execute(api_tokens.insert().values(**row))
        return _listing({**row, "last_used_at": None, "last_client": None}), secret

    def list(self, user_id: str) -> list[dict[str, Any]]:
        """The user's tokens, newest first, without secrets or hashes."""
        query = sa.select(api_tokens).where(api_tokens.c.user_id == user_id).order_by(api_tokens.c.created_at.desc())
        with self._database.read() as conn:
            return [_listing(dict(row._mapping)) for row in conn.execute(query)]

    def revoke(self, user_id: str, token_id: str) -> str | None:
        """Delete one of the user's tokens; its name, or None when the user has no such token."""
        where = sa.and_(api_tokens.c.id == str(token_id), api_tokens.c.user_id == user_id)
        with self._database.write() as conn:
            name = conn.execute(sa.select(api_tokens.c.name).where(where)).scalar()
            if name is not None:
                conn.execute(api_tokens.delete().where(where))
        return name

    def verify(self, secret: str) -> Caller | None:
        """The caller a token stands for, or None for an unknown or revoked token."""
        if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
            return None
        query = sa.select(
            api_tokens.c.user_id, api_tokens.c.id, api_tokens.c.name, api_tokens.c.last_used_at,
            api_tokens.c.last_client,
        ).where(api_tokens.c.token_hash == _hash(secret))  # fmt: skip
        with self._database.read() as conn:
            row = conn.execute(query).first()
        return Caller(*row) if row else None

    @staticmethod
    def use_is_news(caller: Caller, client: str | None = None) -> bool:
        """Whether `note_use` would write: the last use is over a minute old, or the client changed."""
        if client is not None and client != caller.last_client:
            return True
        last = caller.last_used_at
        return not last or datetime.fromisoformat(last) <= datetime.now(UTC) - LAST_USE_EVERY

    def note_use(self, caller: Caller, client: str | None = None) -> None:
        """Record that the token was used (by `client`, when known); at most once a minute per token,
        unless the client changed."""
        if not self.use_is_news(caller, client):
            return
        values: dict[str, Any] = {"last_used_at": _now()}
        if client is not None:
            values["last_client"] = client
        with self._database.write() as conn:
            conn.execute(api_tokens.update().where(api_tokens.c.id == caller.token_id).values(**values))


def _listing(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "hint": row["hint"],
        "created_at": row["created_at"],
        "last_used_at": row["last_used_at"],
        "last_client": row["last_client"],
    }
