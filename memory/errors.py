"""The library's exceptions: one small tree, each message saying what to do."""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DimensionMismatchError",
    "ExtractionError",
    "InvalidInputError",
    "MemoryLayerError",
    "MemoryNotFoundError",
    "ModelError",
    "StoreError",
    "StoreLockedError",
]


class MemoryLayerError(Exception):
    """Base class of every error raised by the memory library."""


class ConfigError(MemoryLayerError):
    """The configuration is wrong: an unknown provider, a bad URI, a bad value."""


class InvalidInputError(MemoryLayerError, ValueError):
    """An argument is unusable: empty messages, a malformed id, metadata that is not JSON."""


class MemoryNotFoundError(MemoryLayerError, KeyError):
    """No memory with that id exists for the caller."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "memory not found"


class StoreError(MemoryLayerError):
    """The vector store or the history database failed."""


class StoreLockedError(StoreError):
    """Another process holds the milvus-lite file."""


class DimensionMismatchError(StoreError):
    """The collection's vector dimension differs from the embedder's."""


class ExtractionError(MemoryLayerError):
    """The model's extraction output stayed unusable after one retry."""


class ModelError(MemoryLayerError):
    """A chat or embedding model could not be reached or answered with an error."""
