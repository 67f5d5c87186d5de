"""Assertions on the tutorial's result shapes (DESIGN.md section 2)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

ITEM_KEYS = ["id", "memory", "hash", "metadata", "created_at", "updated_at", "user_id"]
SEARCH_KEYS = ["id", "memory", "hash", "metadata", "score", "created_at", "updated_at", "user_id"]
HISTORY_KEYS = ["id", "memory_id", "old_memory", "new_memory", "event", "created_at", "updated_at"]
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def assert_timestamp(value: Any) -> None:
    assert isinstance(value, str), value
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() is not None, f"{value} has no UTC offset"


def assert_add_result(result: Any, events: list[str]) -> None:
    assert list(result) == ["results", "relations"]
    assert result["relations"] == []
    assert [r["event"] for r in result["results"]] == events
    for item in result["results"]:
        expected = ["id", "memory", "event"] + (["previous_memory"] if item["event"] == "UPDATE" else [])
        assert list(item) == expected
        assert UUID.match(item["id"])
        assert isinstance(item["memory"], str) and item["memory"]


def assert_item(item: Any, search: bool = False) -> None:
    assert list(item) == (SEARCH_KEYS if search else ITEM_KEYS)
    assert UUID.match(item["id"])
    assert re.fullmatch(r"[0-9a-f]{32}", item["hash"])
    assert item["metadata"] is None or isinstance(item["metadata"], dict)
    assert_timestamp(item["created_at"])
    if item["updated_at"] is not None:
        assert_timestamp(item["updated_at"])
    if search:
        assert isinstance(item["score"], float)


def assert_history(rows: Any, events: list[str]) -> None:
    assert [r["event"] for r in rows] == events
    for row in rows:
        assert list(row) == HISTORY_KEYS
        assert UUID.match(row["id"]) and UUID.match(row["memory_id"])
        assert_timestamp(row["created_at"])
