"""The app's relational data: SQLite files in APP_DATA_DIR (one process), or PostgreSQL when
DATABASE_URL is set (several processes, on one host or several).

PostgreSQL holds Chainlit's threads, steps and elements, the password logins, each user's
preferences and (through the memory library) the memory history. Chainlit creates no tables, and
its documented schema lags its code (no `defaultOpen`, `modes`, `autoCollapse`, `icon` on steps),
while its data layer turns every SQL error into a warning: so the schema is ours, in versioned
migrations, and a test reads every step back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chatapp.auth import PostgresUsers, UsersFile
from chatapp.datalayer import create_tables
from chatapp.preferences import PostgresPreferences, Preferences
from chatapp.settings import AppSettings
from memory.pg import Migration, connect_pool, migrate

__all__ = ["CHAINLIT_MIGRATIONS", "AppStores", "open_app_stores", "prepare_postgres"]

CHAINLIT_MIGRATIONS: list[Migration] = [
    (
        1,
        """
        CREATE TABLE users (
            "id" UUID PRIMARY KEY, "identifier" TEXT NOT NULL UNIQUE, "metadata" JSONB NOT NULL, "createdAt" TEXT
        );
        CREATE TABLE threads (
            "id" UUID PRIMARY KEY, "createdAt" TEXT, "name" TEXT, "userId" UUID, "userIdentifier" TEXT,
            "tags" TEXT[], "metadata" JSONB,
            FOREIGN KEY ("userId") REFERENCES users("id") ON DELETE CASCADE
        );
        CREATE TABLE steps (
            "id" UUID PRIMARY KEY, "name" TEXT NOT NULL, "type" TEXT NOT NULL, "threadId" UUID NOT NULL,
            "parentId" UUID, "streaming" BOOLEAN NOT NULL, "waitForAnswer" BOOLEAN, "isError" BOOLEAN,
            "metadata" JSONB, "tags" TEXT[], "input" TEXT, "output" TEXT, "createdAt" TEXT, "command" TEXT,
            "start" TEXT, "end" TEXT, "generation" JSONB, "showInput" TEXT, "language" TEXT, "indent" INT,
            "defaultOpen" BOOLEAN, "modes" JSONB, "autoCollapse" BOOLEAN, "icon" TEXT, "feedback" JSONB,
            FOREIGN KEY ("threadId") REFERENCES threads("id") ON DELETE CASCADE
        );
        CREATE TABLE elements (
            "id" UUID PRIMARY KEY, "threadId" UUID, "type" TEXT, "url" TEXT, "chainlitKey" TEXT, "path" TEXT,
            "name" TEXT NOT NULL, "display" TEXT, "objectKey" TEXT, "size" TEXT, "page" INT, "language" TEXT,
            "forId" UUID, "mime" TEXT, "props" JSONB, "autoPlay" BOOLEAN, "playerConfig" JSONB,
            FOREIGN KEY ("threadId") REFERENCES threads("id") ON DELETE CASCADE
        );
        CREATE TABLE feedbacks (
            "id" UUID PRIMARY KEY, "forId" UUID NOT NULL, "threadId" UUID NOT NULL, "value" INT NOT NULL,
            "comment" TEXT,
            FOREIGN KEY ("threadId") REFERENCES threads("id") ON DELETE CASCADE
        );
        CREATE INDEX threads_by_user ON threads ("userId", "createdAt");
        CREATE INDEX steps_by_thread ON steps ("threadId");
        CREATE INDEX elements_by_thread ON elements ("threadId");
        """,
    ),
    (
        2,
        """
        CREATE TABLE app_users (identifier TEXT PRIMARY KEY, password_hash TEXT NOT NULL);
        CREATE TABLE user_preferences (user_id TEXT PRIMARY KEY, value TEXT NOT NULL);
        """,
    ),
]


def prepare_postgres(database_url: str) -> Any:
    """Bring the app's tables up to date; returns a psycopg pool for the app's own tables."""
    pool = connect_pool(database_url, max_size=4)
    migrate(pool, "chatapp", CHAINLIT_MIGRATIONS)
    return pool


@dataclass
class AppStores:
    users: UsersFile | PostgresUsers
    preferences: Preferences | PostgresPreferences
    pool: Any | None = None

    def close(self) -> None:
        self.preferences.close()
        if self.pool is not None:
            self.pool.close()


def open_app_stores(settings: AppSettings) -> AppStores:
    """Create or upgrade the tables, then open the logins and preferences where they live."""
    if settings.uses_postgres and settings.external_database:
        pool = prepare_postgres(settings.external_database)
        return AppStores(PostgresUsers(pool), PostgresPreferences(pool), pool)
    create_tables(settings.database_file)
    return AppStores(UsersFile(settings.users_file), Preferences(settings.data_dir / "preferences.sqlite"))
