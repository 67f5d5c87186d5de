"""Records as the tutorial's result dicts: the same keys, in the same order, for get_all and search."""

from __future__ import annotations

from typing import Any, cast

from .models import SCOPE_FIELDS, Record
from .types import MemoryItem, SearchResult

__all__ = ["memory_item", "search_result"]


def _shape(record: Record, score: float | None) -> dict[str, Any]:
    item: dict[str, Any] = {"id": record.id, "memory": record.memory, "hash": record.hash, "metadata": record.metadata}
    if score is not None:
        item["score"] = score
    item.update(created_at=record.created_at, updated_at=record.updated_at)
    item.update({name: getattr(record, name) for name in SCOPE_FIELDS if getattr(record, name)})
    return item


def memory_item(record: Record) -> MemoryItem:
    return cast(MemoryItem, _shape(record, None))


def search_result(record: Record, score: float) -> SearchResult:
    return cast(SearchResult, _shape(record, score))
