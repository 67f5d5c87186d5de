"""Long-term memory for chat applications, with the API of Mem0 on Milvus.

from memory import Memory   # or AsyncMemory, the same methods as coroutines
m = Memory.from_config({"vector_store": {"provider": "milvus", "config": {"url": "./milvus.db"}}})
m.add("I am working on improving my tennis skills.", user_id="alice")

Everything public is named here (a test pins `__all__`): the tutorial's API, its configuration
and result types, the error tree, and what an application around it reuses (prompt templates as
files, token counts that work offline, the relational database helpers for SQLite or PostgreSQL
with versioned migrations). The modules behind it are the library's rooms: `_memory` (the
facade; `_async` makes its coroutines), `models`, `store/` (Milvus), `history/` (history and scope locks), `providers/`
(embedders, the chat model's JSON call), `extract/` (extractors).
"""

from .milvus_env import shield

shield()  # before pymilvus is imported (by .store): see milvus_env.py

# ruff: noqa: E402
from ._async import AsyncMemory
from ._memory import Memory
from .config import EmbedderConfig, LLMConfig, MemoryConfig, VectorStoreConfig, milvus_uri_from_env
from .errors import (
    ConfigError,
    DimensionMismatchError,
    ExtractionError,
    InvalidInputError,
    MemoryLayerError,
    MemoryNotFoundError,
    ModelError,
    StoreError,
    StoreLockedError,
)
from .history import Database, Migration, is_postgres_url, libpq_url, migrate, open_database, sqlalchemy_url
from .prompts import quoted, render_prompt
from .tokens import count_tokens, truncate_to_tokens
from .types import (
    AddResult,
    AddResultItem,
    DeletedMemory,
    GetAllResults,
    HistoryEntry,
    MemoryItem,
    MessageResult,
    SearchResult,
    SearchResults,
)

__all__ = [
    "AddResult",
    "AddResultItem",
    "AsyncMemory",
    "ConfigError",
    "Database",
    "DeletedMemory",
    "DimensionMismatchError",
    "EmbedderConfig",
    "ExtractionError",
    "GetAllResults",
    "HistoryEntry",
    "InvalidInputError",
    "LLMConfig",
    "Memory",
    "MemoryConfig",
    "MemoryItem",
    "MemoryLayerError",
    "MemoryNotFoundError",
    "MessageResult",
    "Migration",
    "ModelError",
    "SearchResult",
    "SearchResults",
    "StoreError",
    "StoreLockedError",
    "VectorStoreConfig",
    "count_tokens",
    "is_postgres_url",
    "libpq_url",
    "migrate",
    "milvus_uri_from_env",
    "open_database",
    "quoted",
    "render_prompt",
    "sqlalchemy_url",
    "truncate_to_tokens",
]
