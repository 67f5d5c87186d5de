"""The domain every part of the library shares: who owns a memory, a stored memory, an operation
an extractor plans, a change a write applies. Nothing here talks to Milvus, a database or a model.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from .errors import InvalidInputError

__all__ = [
    "MAX_VARCHAR",
    "SCOPE_FIELDS",
    "Change",
    "Event",
    "Operation",
    "Record",
    "Scope",
    "check_encodable",
    "decode_scope",
    "encode_scope",
    "now",
    "text_hash",
    "validate_id",
]

Event = Literal["ADD", "UPDATE", "DELETE"]

# The longest text Milvus keeps in a VARCHAR field, in bytes.
MAX_VARCHAR = 65_535
SCOPE_FIELDS = ("user_id", "agent_id", "run_id")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def now() -> str:
    """The current time, ISO 8601 with the local UTC offset (the tutorial's timestamps)."""
    return datetime.now().astimezone().isoformat()


def text_hash(text: str) -> str:
    """md5 of the text, as the tutorial's `hash` field shows."""
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def check_encodable(value: str, name: str) -> str:
    """`value`, if it can be stored as UTF-8 (a lone surrogate such as '\\udc80' cannot)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInputError(
            f"{name} is not valid text: it holds {value[exc.start]!r} at position {exc.start}, "
            "half of a UTF-16 pair (was it decoded with errors='surrogateescape'?)"
        ) from None
    return value


def validate_id(memory_id: object) -> str:
    if not isinstance(memory_id, str) or not _UUID.match(memory_id):
        raise InvalidInputError(
            f"{memory_id!r} is not a memory id (ids look like 'aa8eaa38-74d6-4b58-8207-b881d6d93d02')"
        )
    return memory_id


def encode_scope(value: str) -> str:
    """A scope value as stored: control characters and '%' percent-encoded, so any identifier
    round-trips through a Milvus filter (whose string literals cannot hold a newline)."""
    return "".join(f"%{ord(ch):02X}" if ch == "%" or ord(ch) < 0x20 or ord(ch) == 0x7F else ch for ch in value)


def decode_scope(value: str) -> str:
    return re.sub(r"%([0-9A-F]{2})", lambda m: chr(int(m.group(1), 16)), value)


@dataclass(frozen=True)
class Scope:
    """Who a memory belongs to. At least one of the three is set."""

    user_id: str = ""
    agent_id: str = ""
    run_id: str = ""

    def __post_init__(self) -> None:
        for name in SCOPE_FIELDS:
            value = getattr(self, name)
            if not isinstance(value, str):
                raise InvalidInputError(f"{name} must be a string, not {type(value).__name__}")
            if len(check_encodable(encode_scope(value), name).encode()) > MAX_VARCHAR:
                raise InvalidInputError(f"{name} is too long (at most {MAX_VARCHAR} bytes)")

    @property
    def is_empty(self) -> bool:
        return not (self.user_id or self.agent_id or self.run_id)

    def as_dict(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in SCOPE_FIELDS if getattr(self, name)}


@dataclass(frozen=True)
class Record:
    """One stored memory; `score` is set on search hits, `vector` when it was read or computed."""

    id: str
    memory: str
    hash: str
    created_at: str
    updated_at: str | None = None
    user_id: str = ""
    agent_id: str = ""
    run_id: str = ""
    category: str = ""
    metadata: dict[str, Any] | None = None
    vector: list[float] | None = field(default=None, repr=False)
    score: float | None = None

    @property
    def scope(self) -> Scope:
        return Scope(self.user_id, self.agent_id, self.run_id)


@dataclass(frozen=True)
class Operation:
    """What an extractor plans: ADD carries text; UPDATE a target and text; DELETE a target."""

    event: Event
    text: str = ""
    target: Record | None = None


@dataclass(frozen=True)
class Change:
    """What a write applies: ADD has `after`; UPDATE has `before` and `after`; DELETE has `before`."""

    event: Event
    before: Record | None
    after: Record | None
    at: str
    source: str = "api"  # who made it: chat, panel, restore, import, undo, api (recorded in the history)

    @property
    def record(self) -> Record:
        """The memory as it is after the change (before it, for a deletion)."""
        record = self.after or self.before
        assert record is not None
        return record

    @property
    def memory_id(self) -> str:
        return self.record.id
