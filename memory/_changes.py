"""A plan's operations as the changes to write and the results `add` returns."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from ._inputs import category_of
from .models import Change, Operation, Record, Scope, now, text_hash
from .types import AddResultItem

__all__ = ["changes_for"]


def changes_for(
    operations: Sequence[Operation],
    current: Mapping[str, Record],
    vectors: Mapping[str, Sequence[float]],
    scope: Scope,
    metadata: dict[str, Any] | None,
    source: str,
) -> tuple[list[Change], list[AddResultItem]]:
    """One change per memory: `current` holds the targets as they are now (read under the lock); a
    DELETE of a memory gone meanwhile is dropped, an UPDATE of one becomes an ADD."""
    remaining = dict(current)
    changes: list[Change] = []
    results: list[AddResultItem] = []
    for op in operations:
        at = now()
        target = remaining.pop(op.target.id, None) if op.target else None
        if op.event == "DELETE":
            if target is not None:
                changes.append(Change("DELETE", target, None, at, source))
                results.append({"id": target.id, "memory": target.memory, "event": "DELETE"})
        elif op.event == "UPDATE" and target is not None:
            updated = replace(
                target, memory=op.text, hash=text_hash(op.text), updated_at=at, vector=list(vectors[op.text])
            )
            changes.append(Change("UPDATE", target, updated, at, source))
            results.append({"id": target.id, "memory": op.text, "event": "UPDATE", "previous_memory": target.memory})
        else:
            record = Record(
                id=str(uuid.uuid4()),
                memory=op.text,
                hash=text_hash(op.text),
                created_at=at,
                category=category_of(metadata),
                metadata=metadata,
                vector=list(vectors[op.text]),
                user_id=scope.user_id,
                agent_id=scope.agent_id,
                run_id=scope.run_id,
            )
            changes.append(Change("ADD", None, record, at, source))
            results.append({"id": record.id, "memory": op.text, "event": "ADD"})
    return changes, results
