"""The consistency check itself fails on the states it exists to catch."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from memory import Memory
from tests.reliability.checks import assert_consistent


def _history(tmp_path: Path) -> Path:
    return tmp_path / "milvus.history.sqlite"


@pytest.mark.parametrize(
    "damage",
    [
        "DELETE FROM memory_history WHERE event = 'UPDATE'",  # a change without its row
        "DELETE FROM memory_history WHERE event = 'ADD' AND new_memory = 'Likes tea'",  # a memory without its row
        "UPDATE memory_history SET pending = 1 WHERE event = 'UPDATE'",  # a half-written change
        "UPDATE memory_history SET new_memory = 'Likes coffee' WHERE event = 'UPDATE'",  # text disagrees
        "UPDATE memory_history SET user_id = 'bob' WHERE new_memory = 'Likes tea'",  # wrong owner
        "UPDATE memory_history SET event = 'UPDATE' WHERE event = 'ADD' AND new_memory = 'Likes tea'",  # no ADD
    ],
)
def test_a_damaged_history_is_caught(make_memory: Callable[..., Memory], tmp_path: Path, damage: str) -> None:
    m = make_memory()
    m.add("Likes tea", user_id="alice", infer=False)
    memory_id = m.add("Plays chess", user_id="alice", infer=False)["results"][0]["id"]
    m.update(memory_id, "Plays chess on Sundays")
    assert_consistent(m, _history(tmp_path))
    with sqlite3.connect(_history(tmp_path)) as conn:
        assert conn.execute(damage).rowcount >= 1
    with pytest.raises(AssertionError):
        assert_consistent(m, _history(tmp_path))
