"""Typed shapes of the public results: the tutorial's dicts, key for key."""

from __future__ import annotations

from typing import Any, Literal, NotRequired

# typing_extensions' TypedDict (pydantic's own dependency): pydantic, and so FastAPI, can read it on
# Python 3.11 and describe these shapes (the REST API's OpenAPI document uses them).
from typing_extensions import TypedDict

__all__ = [
    "AddResult",
    "AddResultItem",
    "DeletedMemory",
    "Event",
    "GetAllResults",
    "HistoryEntry",
    "MemoryItem",
    "MessageResult",
    "Messages",
    "SearchResult",
    "SearchResults",
]

Event = Literal["ADD", "UPDATE", "DELETE"]
Messages = str | dict[str, Any] | list[dict[str, Any]]


class AddResultItem(TypedDict):
    id: str
    memory: str
    event: Event
    previous_memory: NotRequired[str]


class AddResult(TypedDict):
    results: list[AddResultItem]
    relations: list[Any]


class MemoryItem(TypedDict):
    id: str
    memory: str
    hash: str
    metadata: dict[str, Any] | None
    created_at: str
    updated_at: str | None
    user_id: NotRequired[str]
    agent_id: NotRequired[str]
    run_id: NotRequired[str]


class SearchResult(TypedDict):
    id: str
    memory: str
    hash: str
    metadata: dict[str, Any] | None
    score: float
    created_at: str
    updated_at: str | None
    user_id: NotRequired[str]
    agent_id: NotRequired[str]
    run_id: NotRequired[str]


class DeletedMemory(TypedDict):
    id: str
    memory: str
    deleted_at: str
    source: str


class GetAllResults(TypedDict):
    results: list[MemoryItem]


class SearchResults(TypedDict):
    results: list[SearchResult]


class HistoryEntry(TypedDict):
    id: str
    memory_id: str
    old_memory: str | None
    new_memory: str | None
    event: Event
    created_at: str
    updated_at: str | None


class MessageResult(TypedDict):
    message: str
