"""Argument checks of the public methods: each bad input is an `InvalidInputError` that says what
to give instead, raised before anything is read or written."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .errors import InvalidInputError
from .models import MAX_VARCHAR, SCOPE_FIELDS, Scope, check_encodable
from .types import Messages

__all__ = [
    "MAX_LIMIT",
    "category_of",
    "check_fits",
    "checked_limit",
    "checked_metadata",
    "checked_text",
    "normalized_messages",
    "scope_of",
]

MAX_METADATA_BYTES = 16_384
MAX_LIMIT = 16_384


def scope_of(user_id: str | None, agent_id: str | None, run_id: str | None, filters: Mapping[str, Any] | None) -> Scope:
    if filters is not None and not isinstance(filters, Mapping):
        raise InvalidInputError("filters must be a dict such as {'user_id': 'alice'}")
    values = {"user_id": user_id, "agent_id": agent_id, "run_id": run_id}
    for name in SCOPE_FIELDS:
        from_filter = (filters or {}).get(name)
        if from_filter is not None:
            if values[name] is not None and values[name] != from_filter:
                raise InvalidInputError(f"{name} is given twice with different values")
            values[name] = from_filter
    for name, value in values.items():
        if value is not None and not isinstance(value, str):
            raise InvalidInputError(f"{name} must be a string, not {type(value).__name__}")
        if value is not None and not value:
            raise InvalidInputError(f"{name} is empty")
    scope = Scope(values["user_id"] or "", values["agent_id"] or "", values["run_id"] or "")
    if scope.is_empty:
        raise InvalidInputError("one of user_id, agent_id or run_id is required")
    return scope


def normalized_messages(messages: Messages) -> list[dict[str, str]]:
    if isinstance(messages, str):
        items: list[Any] = [{"role": "user", "content": messages}]
    elif isinstance(messages, Mapping):
        items = [messages]
    elif isinstance(messages, list):
        items = messages
    else:
        raise InvalidInputError("messages must be a string or a list of {'role', 'content'} dicts")
    normalized = []
    for message in items:
        if not isinstance(message, Mapping) or not isinstance(message.get("content"), str):
            raise InvalidInputError("each message must be a dict with a string 'content'")
        role = message.get("role", "user")
        if role not in ("user", "assistant", "system"):
            raise InvalidInputError(f"message role {role!r} must be 'user', 'assistant' or 'system'")
        normalized.append({"role": str(role), "content": check_encodable(message["content"], "a message's content")})
    if not any(m["content"].strip() for m in normalized if m["role"] != "system"):
        raise InvalidInputError("messages are empty: there is nothing to remember")
    return normalized


def checked_text(value: object, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(f"{name} must be a non-empty string")
    return check_encodable(value.strip(), name)


def check_fits(text: str, what: str, advice: str) -> str:
    size = len(text.encode())
    if size > MAX_VARCHAR:
        raise InvalidInputError(f"a memory is at most {MAX_VARCHAR} bytes of text and {what} has {size}: {advice}")
    return text


def checked_metadata(metadata: object) -> dict[str, Any] | None:
    if metadata is None:
        return None
    if not isinstance(metadata, Mapping):
        raise InvalidInputError("metadata must be a dict")
    try:
        encoded = check_encodable(json.dumps(metadata, ensure_ascii=False, allow_nan=False), "metadata")
    except (TypeError, ValueError, RecursionError) as exc:
        if isinstance(exc, InvalidInputError):
            raise
        raise InvalidInputError(f"metadata must be JSON-serializable: {exc}") from None
    if len(encoded.encode()) > MAX_METADATA_BYTES:
        raise InvalidInputError(f"metadata is {len(encoded.encode())} bytes; at most {MAX_METADATA_BYTES}")
    loaded: dict[str, Any] = json.loads(encoded)
    return loaded or None


def checked_limit(limit: object) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInputError(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return limit


def category_of(metadata: Mapping[str, Any] | None) -> str:
    value = (metadata or {}).get("category")
    return value if isinstance(value, str) else ""
