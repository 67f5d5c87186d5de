"""PostgreSQL connections and versioned schema migrations.

Each component (the memory history, the chat app's tables) owns a numbered list of migrations.
`migrate` applies the ones a database lacks, in order, each in its own transaction, recorded in
`schema_migrations`. Several processes starting at once take turns on an advisory lock, so each
step runs once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlparse

from psycopg_pool import ConnectionPool

from .errors import StoreError

__all__ = ["Migration", "connect_pool", "is_postgres_url", "libpq_url", "migrate", "sqlalchemy_url"]

Migration = tuple[int, str]  # (version, SQL)

_MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    component TEXT NOT NULL,
    version INTEGER NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (component, version)
)
"""
_MIGRATION_LOCK = 0x6D656D6F7279  # any fixed number, the same in every process


def is_postgres_url(value: str | None) -> bool:
    return bool(value) and urlparse(str(value)).scheme.split("+")[0] in ("postgres", "postgresql")


def libpq_url(url: str) -> str:
    """The URL libpq reads: SQLAlchemy's `postgresql+asyncpg://` becomes `postgresql://`."""
    parsed = urlparse(url)
    return parsed._replace(scheme="postgresql").geturl()


def connect_pool(url: str, max_size: int = 8) -> Any:
    """An open psycopg pool in autocommit mode; a clear error when the server cannot be reached."""
    pool = ConnectionPool(
        libpq_url(url), min_size=1, max_size=max_size, kwargs={"autocommit": True}, open=False, timeout=30
    )
    try:
        pool.open(wait=True, timeout=15)
    except Exception as exc:
        pool.close()
        raise StoreError(f"cannot connect to PostgreSQL at {_redacted(url)}: {exc}") from None
    return pool


def sqlalchemy_url(database_url: str) -> str:
    """The URL Chainlit's SQLAlchemy data layer needs: an async driver (asyncpg for PostgreSQL)."""
    scheme, rest = database_url.split("://", 1)
    if is_postgres_url(database_url) and "+" not in scheme:
        return f"postgresql+asyncpg://{rest}"
    return database_url


def migrate(pool: Any, component: str, migrations: Sequence[Migration]) -> list[int]:
    """Apply `component`'s missing migrations in order; returns the versions applied now."""
    versions = [v for v, _ in migrations]
    if versions != sorted(set(versions)):
        raise ValueError(f"{component} migrations must have increasing, unique versions")
    applied_now: list[int] = []
    with pool.connection() as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK,))
        try:
            conn.execute(_MIGRATIONS_TABLE)
            done = {
                row[0]
                for row in conn.execute(
                    "SELECT version FROM schema_migrations WHERE component = %s", (component,)
                ).fetchall()
            }
            for version, sql in migrations:
                if version in done:
                    continue
                with conn.transaction():
                    conn.execute(sql)
                    conn.execute(
                        "INSERT INTO schema_migrations (component, version) VALUES (%s, %s)", (component, version)
                    )
                applied_now.append(version)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK,))
    return applied_now


def _redacted(url: str) -> str:
    parsed = urlparse(url)
    if parsed.password:
        return parsed._replace(netloc=parsed.netloc.replace(f":{parsed.password}@", ":***@")).geturl()
    return url
