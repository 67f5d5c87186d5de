"""Filter expressions built from values, never pasted: quoting, scopes, ids, metadata.

milvus-lite 2.5.1 parses a filter from text and ignores `filter_params`, so every value is
quoted by `quote()` and ids are validated as UUIDs before they reach a filter. Its parser has no
way to write a newline or carriage return inside a string literal, so scope values (user_id,
agent_id, run_id) are stored percent-encoded (`models.encode_scope`): any identifier round-trips
and can be matched exactly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import InvalidInputError
from ..models import SCOPE_FIELDS, Scope, check_encodable, encode_scope, validate_id

__all__ = ["expression", "ids_filter", "metadata_filter", "quote", "scope_filter"]

_METADATA_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def quote(value: str) -> str:
    """A Milvus string literal for `value`; nothing in it can end the literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def scope_filter(scope: Scope) -> str:
    """Equality on every scope field that is set; never empty."""
    parts = [f"{name} == {quote(encode_scope(value))}" for name, value in scope.as_dict().items()]
    if not parts:
        raise InvalidInputError("one of user_id, agent_id or run_id is required")
    return " and ".join(parts)


def ids_filter(ids: Sequence[str]) -> str:
    return "id in [" + ", ".join(quote(validate_id(i)) for i in ids) + "]"


def expression(scope: Scope, filters: Mapping[str, Any] | None = None) -> str:
    """The scope's filter, and the equality filters of `filters` that are not scope fields."""
    extra = {k: v for k, v in (filters or {}).items() if k not in SCOPE_FIELDS}
    expr = scope_filter(scope)
    return f"{expr} and {metadata_filter(extra)}" if extra else expr


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
