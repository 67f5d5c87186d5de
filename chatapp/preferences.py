"""Each user's UI preferences (memory on or off, Memories panel open or closed), kept on the server
so they follow the user to a new chat, another tab or another browser."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from typing import Any

import sqlalchemy as sa

from chatapp.database import upsert, user_preferences
from memory import Database

__all__ = ["Preferences", "UserPreferences"]


@dataclass(frozen=True)
class UserPreferences:
    memory_enabled: bool = True
    panel_open: bool = True  # on a wide screen; a phone opens the panel only when asked


class Preferences:
    """user id -> JSON of `UserPreferences`, in the app's database."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def get(self, user_id: str) -> UserPreferences:
        with self._database.read() as conn:
            return _decode(conn.execute(_value_of(user_id)).scalar())

    def set(self, user_id: str, **changes: bool) -> UserPreferences:
        with self._database.write() as conn:  # read and write in one transaction: no change is lost
            updated = replace(_decode(conn.execute(_value_of(user_id).with_for_update()).scalar()), **changes)
            upsert(conn, user_preferences, {"user_id": user_id, "value": json.dumps(asdict(updated))})
        return updated


def _value_of(user_id: str) -> sa.Select[str]:
    return sa.select(user_preferences.c.value).where(user_preferences.c.user_id == user_id)


def _decode(value: str | None) -> UserPreferences:
    if value is None:
        return UserPreferences()
    try:
        stored: dict[str, Any] = json.loads(value)
    except ValueError:  # a damaged row gives the defaults rather than a broken chat
        return UserPreferences()
    known = {k: bool(v) for k, v in stored.items() if k in UserPreferences.__dataclass_fields__}
    return UserPreferences(**known)
