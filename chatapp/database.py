"""The app's relational data, one schema for both databases: `APP_DATA_DIR/chainlit.db` (SQLite,
one process) or PostgreSQL when DATABASE_URL is set (several processes, on one host or several).

It holds Chainlit's threads, steps and elements, the password logins and each user's preferences;
the memory history is the library's (in the same PostgreSQL, or beside the Milvus file).
Chainlit creates no tables, and its documented schema lags its code (no `defaultOpen`, `modes`,
`autoCollapse`, `icon` on steps), while its data layer turns every SQL error into a warning: so
the schema is ours, in versioned migrations, and a test reads every step back.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from memory import Database, Migration, migrate, open_database

__all__ = [
    "CHAINLIT_MIGRATIONS",
    "api_tokens",
    "app_users",
    "memory_reads",
    "open_app_database",
    "upsert",
    "user_preferences",
]

logger = logging.getLogger(__name__)

# The types Chainlit's SQL uses on PostgreSQL; SQLite keeps text (its data layer sends JSON as text).
_ID = sa.Text().with_variant(postgresql.UUID(as_uuid=False), "postgresql")
_JSON = sa.Text().with_variant(postgresql.JSONB(), "postgresql")
_TAGS = sa.Text().with_variant(postgresql.ARRAY(sa.Text), "postgresql")

_chainlit = sa.MetaData()
sa.Table(
    "users",
    _chainlit,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("identifier", sa.Text, nullable=False, unique=True),
    sa.Column("metadata", _JSON, nullable=False),
    sa.Column("createdAt", sa.Text),
)
threads = sa.Table(
    "threads",
    _chainlit,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("createdAt", sa.Text),
    sa.Column("name", sa.Text),
    sa.Column("userId", _ID, sa.ForeignKey("users.id", ondelete="CASCADE")),
    sa.Column("userIdentifier", sa.Text),
    sa.Column("tags", _TAGS),
    sa.Column("metadata", _JSON),
)


def _thread_id(nullable: bool = True) -> sa.Column[Any]:
    return sa.Column("threadId", _ID, sa.ForeignKey("threads.id", ondelete="CASCADE"), nullable=nullable)


steps = sa.Table(
    "steps",
    _chainlit,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("type", sa.Text, nullable=False),
    _thread_id(nullable=False),
    sa.Column("parentId", _ID),
    sa.Column("streaming", sa.Boolean(create_constraint=False), nullable=False),
    *(sa.Column(name, sa.Boolean(create_constraint=False)) for name in ("waitForAnswer", "isError")),
    sa.Column("metadata", _JSON),
    sa.Column("tags", _TAGS),
    *(sa.Column(name, sa.Text) for name in ("input", "output", "createdAt", "command", "start", "end")),
    sa.Column("generation", _JSON),
    *(sa.Column(name, sa.Text) for name in ("showInput", "language")),
    sa.Column("indent", sa.Integer),
    sa.Column("defaultOpen", sa.Boolean(create_constraint=False)),
    sa.Column("modes", _JSON),
    sa.Column("autoCollapse", sa.Boolean(create_constraint=False)),
    sa.Column("icon", sa.Text),
    sa.Column("feedback", _JSON),
)
elements = sa.Table(
    "elements",
    _chainlit,
    sa.Column("id", _ID, primary_key=True),
    _thread_id(),
    *(sa.Column(name, sa.Text) for name in ("type", "url", "chainlitKey", "path")),
    sa.Column("name", sa.Text, nullable=False),
    *(sa.Column(name, sa.Text) for name in ("display", "objectKey", "size")),
    sa.Column("page", sa.Integer),
    sa.Column("language", sa.Text),
    sa.Column("forId", _ID),
    sa.Column("mime", sa.Text),
    sa.Column("props", _JSON),
    sa.Column("autoPlay", sa.Boolean(create_constraint=False)),
    sa.Column("playerConfig", _JSON),
)
sa.Table(
    "feedbacks",
    _chainlit,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("forId", _ID, nullable=False),
    _thread_id(nullable=False),
    sa.Column("value", sa.Integer, nullable=False),
    sa.Column("comment", sa.Text),
)
_CHAINLIT_INDEXES = (
    sa.Index("threads_by_user", threads.c.userId, threads.c.createdAt),
    sa.Index("steps_by_thread", steps.c.threadId),
    sa.Index("elements_by_thread", elements.c.threadId),
)

_app = sa.MetaData()
app_users = sa.Table(
    "app_users",
    _app,
    sa.Column("identifier", sa.Text, primary_key=True),
    sa.Column("password_hash", sa.Text, nullable=False),
)
user_preferences = sa.Table(
    "user_preferences",
    _app,
    sa.Column("user_id", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)


_api = sa.MetaData()
# Tokens that other apps (MCP clients, scripts) use for one user's memories: only a hash is kept.
api_tokens = sa.Table(
    "api_tokens",
    _api,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("user_id", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("token_hash", sa.Text, nullable=False, unique=True),
    sa.Column("hint", sa.Text, nullable=False),  # the token's last characters, to tell tokens apart
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("last_used_at", sa.Text),
    sa.Column("last_client", sa.Text),  # the app that used it last: "Claude Desktop", "the REST API"
    sa.UniqueConstraint("user_id", "name"),
)
# The access log: which app last read each memory (through the API), and how often.
memory_reads = sa.Table(
    "memory_reads",
    _api,
    sa.Column("user_id", sa.Text, primary_key=True),
    sa.Column("memory_id", sa.Text, primary_key=True),
    sa.Column("reader", sa.Text, primary_key=True),  # a source as the history records it
    sa.Column("read_at", sa.Text, nullable=False),
    sa.Column("reads", sa.Integer, nullable=False, server_default="1"),
)


def _chainlit_tables(conn: Connection) -> None:
    """Chainlit's tables; a SQLite file made before migrations keeps its tables and gets the
    index it lacked (elements_by_thread)."""
    _chainlit.create_all(conn, checkfirst=True)
    for index in _CHAINLIT_INDEXES:
        index.create(conn, checkfirst=True)


# The component's name and versions match what PostgreSQL databases made before this module hold.
CHAINLIT_MIGRATIONS: list[Migration] = [
    (1, _chainlit_tables),
    (2, lambda conn: _app.create_all(conn, checkfirst=True)),
    (4, lambda conn: _api.create_all(conn, checkfirst=True)),
]


def open_app_database(where: str, data_dir: Path | None = None) -> Database:
    """The app's database (a SQLite file or a postgresql:// URL), brought up to date. With a
    `data_dir`, logins and preferences kept there before this schema (users.json,
    preferences.sqlite) are moved in once."""
    database = open_database(where, pool_size=4)
    try:
        migrate(database, "chatapp", CHAINLIT_MIGRATIONS)
        if data_dir is not None:
            _adopt_legacy_files(database, data_dir)
    except BaseException:
        database.close()
        raise
    return database


def upsert(conn: Connection, table: sa.Table, values: Mapping[str, Any]) -> None:
    """Insert a row, or update the one with its primary key."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    keys = [c.name for c in table.primary_key.columns]
    statement = dialect.insert(table).values(**values)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=keys, set_={k: statement.excluded[k] for k in values if k not in keys}
        )
    )


def _adopt_legacy_files(database: Database, data_dir: Path) -> None:
    users_file, preferences_file = data_dir / "users.json", data_dir / "preferences.sqlite"
    if users_file.exists():
        users = json.loads(users_file.read_text(encoding="utf-8")).get("users", {})
        with database.write() as conn:
            for name, entry in users.items():
                upsert(conn, app_users, {"identifier": name, "password_hash": entry["password_hash"]})
        users_file.rename(users_file.with_name("users.json.imported"))
        logger.info("moved %d logins from %s into the app's database", len(users), users_file)
    if preferences_file.exists():
        with contextlib.closing(sqlite3.connect(preferences_file)) as old:
            rows = old.execute("SELECT user_id, value FROM user_preferences").fetchall()
        with database.write() as conn:
            for user_id, value in rows:
                upsert(conn, user_preferences, {"user_id": user_id, "value": value})
        preferences_file.rename(preferences_file.with_name("preferences.sqlite.imported"))
        logger.info("moved the preferences of %d users from %s into the app's database", len(rows), preferences_file)
