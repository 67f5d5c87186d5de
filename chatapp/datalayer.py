"""Chainlit's SQLAlchemy data layer on SQLite. Chainlit creates no tables: we do, at start-up."""

from __future__ import annotations

import sqlite3
from pathlib import Path

__all__ = ["create_tables"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    "id" TEXT PRIMARY KEY, "identifier" TEXT NOT NULL UNIQUE, "metadata" TEXT NOT NULL, "createdAt" TEXT
);
CREATE TABLE IF NOT EXISTS threads (
    "id" TEXT PRIMARY KEY, "createdAt" TEXT, "name" TEXT, "userId" TEXT, "userIdentifier" TEXT,
    "tags" TEXT, "metadata" TEXT,
    FOREIGN KEY ("userId") REFERENCES users("id") ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS steps (
    "id" TEXT PRIMARY KEY, "name" TEXT NOT NULL, "type" TEXT NOT NULL, "threadId" TEXT NOT NULL,
    "parentId" TEXT, "command" TEXT, "modes" TEXT, "streaming" BOOLEAN NOT NULL, "waitForAnswer" BOOLEAN,
    "isError" BOOLEAN, "metadata" TEXT, "tags" TEXT, "input" TEXT, "output" TEXT, "createdAt" TEXT,
    "start" TEXT, "end" TEXT, "generation" TEXT, "showInput" TEXT, "defaultOpen" BOOLEAN,
    "autoCollapse" BOOLEAN, "language" TEXT, "icon" TEXT, "feedback" TEXT,
    FOREIGN KEY ("threadId") REFERENCES threads("id") ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS elements (
    "id" TEXT PRIMARY KEY, "threadId" TEXT, "type" TEXT, "chainlitKey" TEXT, "path" TEXT, "url" TEXT,
    "objectKey" TEXT, "name" TEXT NOT NULL, "display" TEXT, "size" TEXT, "language" TEXT, "page" INT,
    "props" TEXT, "autoPlay" BOOLEAN, "playerConfig" TEXT, "forId" TEXT, "mime" TEXT,
    FOREIGN KEY ("threadId") REFERENCES threads("id") ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS feedbacks (
    "id" TEXT PRIMARY KEY, "forId" TEXT NOT NULL, "threadId" TEXT NOT NULL, "value" INT NOT NULL, "comment" TEXT,
    FOREIGN KEY ("threadId") REFERENCES threads("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS threads_by_user ON threads ("userId", "createdAt");
CREATE INDEX IF NOT EXISTS steps_by_thread ON steps ("threadId");
"""


def create_tables(database_file: Path) -> None:
    database_file.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(database_file) as db:
        db.execute("PRAGMA journal_mode = WAL")
        db.executescript(SCHEMA)
