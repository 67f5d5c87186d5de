"""What every reliability test checks afterwards: memories and history agree, nobody else's changed."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

from memory import Memory


def history_rows(history_file: Path | str) -> list[dict[str, Any]]:
    """Every row of the history, pending ones included, oldest first, read as plain SQL: a SQLite
    file, or the `memory_history` table at a postgresql:// URL."""
    if isinstance(history_file, str) and history_file.startswith("postgresql"):
        import psycopg
        from psycopg.rows import dict_row

        with psycopg.connect(history_file, row_factory=dict_row) as pg:
            return list(pg.execute("SELECT * FROM memory_history ORDER BY seq").fetchall())
    with sqlite3.connect(history_file) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM memory_history ORDER BY seq")]


def assert_consistent(memory: Memory, history_file: Path | str) -> dict[str, list[dict[str, Any]]]:
    """Each user's memories are exactly those whose history ends in ADD or UPDATE, with that text.

    Also: no pending (half-written) history row is left, each memory's history starts with ADD,
    chains old -> new text, has a DELETE only at its end or just before a restore (an ADD of the
    deleted text), and its timestamps never go back.
    Returns every user's memories.
    """
    rows = history_rows(history_file)
    assert [r for r in rows if r["pending"]] == [], "a half-written change was left behind"
    by_memory: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_memory.setdefault(row["memory_id"], []).append(row)
    memories: dict[str, list[dict[str, Any]]] = {}
    for user in sorted({r["user_id"] for r in rows}):
        stored = memory.get_all(user_id=user, limit=16_384)["results"]
        memories[user] = stored
        alive = {
            memory_id: chain[-1]["new_memory"]
            for memory_id, chain in by_memory.items()
            if chain[0]["user_id"] == user and chain[-1]["event"] != "DELETE"
        }
        assert {m["id"]: m["memory"] for m in stored} == alive, f"memories and history disagree for {user[:40]!r}"
    for memory_id, chain in by_memory.items():
        assert chain[0]["event"] == "ADD" and chain[0]["old_memory"] is None, memory_id
        assert len({(r["user_id"], r["agent_id"], r["run_id"]) for r in chain}) == 1, "a memory changed owner"
        for before, after in pairwise(chain):
            if after["event"] == "ADD":  # a restore: right after a deletion, with the deleted text
                assert before["event"] == "DELETE" and after["old_memory"] is None, f"{memory_id} added twice"
                assert after["new_memory"] == before["old_memory"], f"{memory_id} restored with another text"
            else:
                assert before["event"] != "DELETE", f"{memory_id} changed after its deletion"
                assert after["old_memory"] == before["new_memory"], f"history of {memory_id} skips a version"
            assert _when(after) >= _when(before), f"history of {memory_id} goes back in time"
    return memories


def _when(row: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(row["updated_at"] or row["created_at"])


@dataclass(frozen=True)
class Snapshot:
    """One user's memories and the history of each, to compare before and after."""

    memories: tuple[tuple[str, str, str], ...]
    history: tuple[tuple[str, str | None, str | None, str], ...]

    @classmethod
    def of(cls, memory: Memory, user_id: str) -> Snapshot:
        items = memory.get_all(user_id=user_id, limit=16_384)["results"]
        history = [
            (h["memory_id"], h["old_memory"], h["new_memory"], h["event"])
            for item in items
            for h in memory.history(item["id"], user_id=user_id)
        ]
        return cls(
            tuple(sorted((i["id"], i["memory"], i["hash"]) for i in items)),
            tuple(sorted(history, key=lambda h: (h[0], str(h[1]), str(h[2]), h[3]))),
        )
