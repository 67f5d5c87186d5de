"""Export and import files, one shape for the panel and the REST API: an export is
`{"user_id": ..., "memories": [{...the library's item..., "history": [...]}]}`, and an import takes
that file back, or any JSON list of texts."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from memory import HistoryEntry, MemoryItem

__all__ = ["IMPORT_LIMIT", "TransferError", "export_document", "texts_to_import"]

IMPORT_LIMIT = 2000


class TransferError(ValueError):
    """The file cannot be imported; the message says why (nothing was imported)."""


def export_document(
    user_id: str, items: Sequence[MemoryItem], histories: Mapping[str, list[HistoryEntry]]
) -> dict[str, Any]:
    return {"user_id": user_id, "memories": [{**i, "history": histories.get(i["id"], [])} for i in items]}


def texts_to_import(raw: object) -> tuple[list[str], int]:
    """The distinct non-empty texts of a file (JSON text, or already parsed), and how many entries it
    had. TransferError for a file that is not JSON, has no list of memories, or has too many."""
    if isinstance(raw, str | bytes):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise TransferError("That file is not JSON; nothing was imported.") from None
    entries = raw.get("memories") if isinstance(raw, dict) else raw
    if not isinstance(entries, list):
        raise TransferError("The file has no list of memories; nothing was imported.")
    texts = [e.get("memory") if isinstance(e, dict) else e for e in entries]
    wanted = list(dict.fromkeys(t.strip() for t in texts if isinstance(t, str) and t.strip()))
    if len(wanted) > IMPORT_LIMIT:
        raise TransferError(f"The file has {len(wanted):,} memories; at most {IMPORT_LIMIT:,} at once.")
    return wanted, len(texts)
