"""Relational databases for the history (and the app's own tables): one SQLAlchemy Core engine for
a SQLite file or a PostgreSQL URL, and versioned schema migrations that run on both.

Each component (the memory history, the chat app's tables) owns a numbered list of migrations.
`migrate` applies the ones a database lacks, in order, each in its own transaction, recorded in
`schema_migrations`. Processes starting at once take turns: on PostgreSQL a transaction-level
advisory lock, on SQLite the write lock that `BEGIN IMMEDIATE` takes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ..errors import StoreError

__all__ = [
    "Database",
    "Migration",
    "error_text",
    "is_postgres_url",
    "libpq_url",
    "migrate",
    "open_database",
    "redacted",
    "sqlalchemy_url",
]

logger = logging.getLogger(__name__)

# (version, SQL or a function of the connection). SQL runs on every dialect; a function may ask
# `connection.dialect.name`.
Migration = tuple[int, "str | Callable[[Connection], None]"]

_MIGRATION_LOCK = 0x6D656D6F7279  # any fixed number, the same in every process
# A PostgreSQL that does not answer within this is reported, not waited for (a pool would retry
# for its whole timeout, 15 s here before).
CONNECT_TIMEOUT_S = 5
SQLITE_BUSY_TIMEOUT_MS = 10_000

_metadata = sa.MetaData()
_schema_migrations = sa.Table(
    "schema_migrations",
    _metadata,
    sa.Column("component", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("applied_at", sa.Text, nullable=False, server_default=sa.func.current_timestamp()),
)


def is_postgres_url(value: str | None) -> bool:
    return bool(value) and urlparse(str(value)).scheme.split("+")[0] in ("postgres", "postgresql")


def libpq_url(url: str) -> str:
    """The URL libpq reads: SQLAlchemy's `postgresql+asyncpg://` becomes `postgresql://`."""
    return urlparse(url)._replace(scheme="postgresql").geturl()


def sqlalchemy_url(database_url: str) -> str:
    """The URL Chainlit's SQLAlchemy data layer needs: an async driver (asyncpg for PostgreSQL)."""
    scheme, rest = database_url.split("://", 1)
    if is_postgres_url(database_url) and "+" not in scheme:
        return f"postgresql+asyncpg://{rest}"
    return database_url


def redacted(url: str) -> str:
    parsed = urlparse(url)
    if parsed.password:
        return parsed._replace(netloc=parsed.netloc.replace(f":{parsed.password}@", ":***@")).geturl()
    return url


class Database:
    """An engine with the two kinds of transaction the stores need, failures as `StoreError`.

    `write()` on SQLite begins with `BEGIN IMMEDIATE`, so a busy file waits (busy timeout), then
    fails clearly, instead of failing at commit; `read()` takes no write lock."""

    def __init__(self, engine: Engine, where: str) -> None:
        self.engine = engine
        self.where = where
        self.is_postgres = engine.dialect.name == "postgresql"

    @contextmanager
    def write(self) -> Iterator[Connection]:
        with self._failures("is not writable"), self.engine.connect() as conn:
            conn.execution_options(immediate=True)
            with conn.begin():
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self._failures("could not be read"), self.engine.connect() as conn:
            yield conn

    @contextmanager
    def _failures(self, what: str) -> Iterator[None]:
        try:
            yield
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"the database {self.where} {what}: {error_text(exc)}") from None

    def close(self) -> None:
        self.engine.dispose()


def open_database(url_or_path: str, pool_size: int = 8) -> Database:
    """A SQLite file (created with its folder) or a postgresql:// URL, checked by one connection."""
    if is_postgres_url(url_or_path):
        url = sa.engine.make_url(libpq_url(url_or_path)).set(drivername="postgresql+psycopg")
        engine = sa.create_engine(
            url,
            pool_size=pool_size,
            max_overflow=0,
            pool_timeout=30,
            pool_pre_ping=True,
            connect_args={"connect_timeout": CONNECT_TIMEOUT_S},
        )
        where = f"PostgreSQL at {redacted(url_or_path)}"
    else:
        if url_or_path != ":memory:":
            try:
                Path(url_or_path).expanduser().parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create the folder of {url_or_path}: {exc.strerror or exc}") from None
        engine = _sqlite_engine(url_or_path)
        where = url_or_path
    try:
        with engine.connect():
            pass
    except sa.exc.SQLAlchemyError as exc:
        engine.dispose()
        if is_postgres_url(url_or_path):
            raise StoreError(f"cannot connect to {where}: {error_text(exc)}") from None
        raise StoreError(f"cannot open the database {where}: {error_text(exc)}") from None
    return Database(engine, where)


def _sqlite_engine(path: str) -> Engine:
    memory = path == ":memory:"
    engine = sa.create_engine(
        "sqlite://" if memory else f"sqlite:///{Path(path).expanduser()}",
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        poolclass=sa.StaticPool if memory else sa.QueuePool,
        **({} if memory else {"pool_size": 8, "max_overflow": 8}),
    )

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        if not memory:
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("immediate") else "BEGIN")

    return engine


def migrate(database: Database, component: str, migrations: Sequence[Migration]) -> list[int]:
    """Apply `component`'s missing migrations in order; returns the versions applied now."""
    versions = [v for v, _ in migrations]
    if versions != sorted(set(versions)):
        raise ValueError(f"{component} migrations must have increasing, unique versions")
    applied_now: list[int] = []
    for version, step in migrations:
        with database.write() as conn:
            if database.is_postgres:
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
            _schema_migrations.create(conn, checkfirst=True)
            done = conn.execute(
                sa.select(_schema_migrations.c.version).where(
                    _schema_migrations.c.component == component, _schema_migrations.c.version == version
                )
            ).first()
            if done:
                continue
            if isinstance(step, str):
                for statement in _statements(step):
                    conn.exec_driver_sql(statement)
            else:
                step(conn)
            conn.execute(sa.insert(_schema_migrations).values(component=component, version=version))
            applied_now.append(version)
    if applied_now:
        logger.info("%s: applied migrations %s to %s", component, applied_now, database.where)
    return applied_now


def _statements(sql: str) -> list[str]:
    """The statements of a migration's SQL (SQLite's driver runs one statement per call)."""
    return [s.strip() for s in sql.split(";") if s.strip()]


def error_text(exc: BaseException) -> str:
    """The first line of what the database driver said."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
