"""Filter expressions built from values, never pasted: quoting, scope encoding, ids, metadata.

milvus-lite 2.5.1 parses a filter from text and ignores `filter_params`, so every value is
quoted by `quote()` and ids are validated as UUIDs before they reach a filter. Its parser has no
way to write a newline or carriage return inside a string literal, so scope values (user_id,
agent_id, run_id) are stored percent-encoded for control characters and '%': any identifier
round-trips and can be matched exactly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import InvalidInputError

__all__ = [
    "MAX_VARCHAR",
    "SCOPE_FIELDS",
    "Scope",
    "check_encodable",
    "decode_scope",
    "encode_scope",
    "metadata_filter",
    "quote",
    "validate_id",
]

MAX_VARCHAR = 65_535
SCOPE_FIELDS = ("user_id", "agent_id", "run_id")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_METADATA_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def quote(value: str) -> str:
    """A Milvus string literal for `value`; nothing in it can end the literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def encode_scope(value: str) -> str:
    return "".join(f"%{ord(ch):02X}" if ch == "%" or ord(ch) < 0x20 or ord(ch) == 0x7F else ch for ch in value)


def decode_scope(value: str) -> str:
    return re.sub(r"%([0-9A-F]{2})", lambda m: chr(int(m.group(1), 16)), value)


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

    def filter_expr(self) -> str:
        """Equality on every scope field that is set; never empty."""
        parts = [f"{name} == {quote(encode_scope(value))}" for name, value in self.as_dict().items()]
        if not parts:
            raise InvalidInputError("one of user_id, agent_id or run_id is required")
        return " and ".join(parts)


def metadata_filter(filters: Mapping[str, Any]) -> str:
    """Equality filters on metadata keys and `category` (Mem0 2.x `filters=` style)."""
    parts = []
    for key, value in filters.items():
        if key == "category":
            if not isinstance(value, str):
                raise InvalidInputError("filters['category'] must be a string")
            parts.append(f"category == {quote(value)}")
            continue
        if not isinstance(key, str) or not _METADATA_KEY.match(key):
            raise InvalidInputError(f"filter key {key!r} must be a plain name (letters, digits, '_')")
        if isinstance(value, bool):
            literal = "true" if value else "false"
        elif isinstance(value, (int, float)):
            literal = repr(value)
        elif isinstance(value, str):
            literal = quote(check_encodable(value, f"filters[{key!r}]").replace("\n", " ").replace("\r", " "))
        else:
            raise InvalidInputError(f"filter on {key!r} takes a string, number or boolean, not {type(value).__name__}")
        parts.append(f'metadata["{key}"] == {literal}')
    return " and ".join(parts)
