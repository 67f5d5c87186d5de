"""Records to Milvus rows and back, and the vector scores of rows a hybrid search found.

A JSON field holding null crashes the milvus-lite 2.5.1 server and nullable fields are refused,
so an absent metadata is stored as {} and read back as None.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import InvalidInputError, StoreError
from ..models import MAX_VARCHAR, SCOPE_FIELDS, Record, decode_scope, encode_scope

__all__ = ["SCALAR_FIELDS", "fields", "from_row", "hit_entity", "to_row", "vector_scores"]

SCALAR_FIELDS = ("id", *SCOPE_FIELDS, "memory", "hash", "created_at", "updated_at", "category", "metadata")


def fields(with_vectors: bool) -> list[str]:
    return [*SCALAR_FIELDS, "vector"] if with_vectors else list(SCALAR_FIELDS)


def to_row(record: Record) -> dict[str, Any]:
    if record.vector is None:
        raise StoreError(f"memory {record.id} has no vector")
    if len(record.memory.encode()) > MAX_VARCHAR:
        raise InvalidInputError(f"a memory is at most {MAX_VARCHAR} bytes; this one has {len(record.memory.encode())}")
    return {
        "id": record.id,
        "vector": list(record.vector),
        "user_id": encode_scope(record.user_id),
        "agent_id": encode_scope(record.agent_id),
        "run_id": encode_scope(record.run_id),
        "memory": record.memory,
        "hash": record.hash,
        "created_at": record.created_at,
        "updated_at": record.updated_at or "",
        "category": record.category[:256],
        "metadata": dict(record.metadata) if record.metadata else {},
    }


def from_row(row: Mapping[str, Any], score: float | None = None) -> Record:
    vector = row.get("vector")
    return Record(
        id=str(row["id"]),
        memory=str(row.get("memory", "")),
        hash=str(row.get("hash", "")),
        created_at=str(row.get("created_at", "")),
        updated_at=row.get("updated_at") or None,
        user_id=decode_scope(row.get("user_id") or ""),
        agent_id=decode_scope(row.get("agent_id") or ""),
        run_id=decode_scope(row.get("run_id") or ""),
        category=str(row.get("category") or ""),
        metadata=dict(row["metadata"]) if row.get("metadata") else None,
        vector=[float(x) for x in vector] if vector is not None else None,
        score=score,
    )


def hit_entity(hit: Mapping[str, Any]) -> dict[str, Any]:
    """A search hit's fields, with its id."""
    entity = dict(hit.get("entity", {}))
    entity["id"] = hit.get("id", entity.get("id"))
    return entity


def vector_scores(metric_type: str, query: Sequence[float], m: np.ndarray) -> list[float]:
    """What the vector leg would report: squared L2 distance, cosine similarity or inner product."""
    q = np.asarray(query, dtype=np.float32)
    if metric_type == "L2":
        scores = ((m - q) ** 2).sum(axis=1)
    elif metric_type == "COSINE":
        scores = (m @ q) / np.maximum(np.linalg.norm(m, axis=1) * np.linalg.norm(q), 1e-12)
    else:
        scores = m @ q
    return [float(s) for s in scores]
