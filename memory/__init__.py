"""Long-term memory for chat applications, with the API of Mem0 on Milvus.

from memory import Memory
m = Memory.from_config({"vector_store": {"provider": "milvus", "config": {"url": "./milvus.db"}}})
m.add("I am working on improving my tennis skills.", user_id="alice")
"""

from .config import MemoryConfig
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
from .memory import Memory

__all__ = [
    "ConfigError",
    "DimensionMismatchError",
    "ExtractionError",
    "InvalidInputError",
    "Memory",
    "MemoryConfig",
    "MemoryLayerError",
    "MemoryNotFoundError",
    "ModelError",
    "StoreError",
    "StoreLockedError",
]
