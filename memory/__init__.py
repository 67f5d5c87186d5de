"""Long-term memory for chat applications, with the API of Mem0 on Milvus.

from memory import Memory
m = Memory.from_config({"vector_store": {"provider": "milvus", "config": {"url": "./milvus.db"}}})
m.add("I am working on improving my tennis skills.", user_id="alice")
"""

from .milvus_env import shield

shield()  # before pymilvus is imported (by .memory): see milvus_env.py

from .config import MemoryConfig  # noqa: E402
from .errors import (  # noqa: E402
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
from .memory import Memory  # noqa: E402

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
