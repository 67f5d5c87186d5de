"""The memory sidebar's data and actions, checked on the server against the logged-in user."""

from __future__ import annotations

import json
import logging
from typing import Any

from memory import InvalidInputError, Memory, MemoryNotFoundError
from memory.types import AddResult

__all__ = ["MemoryActions", "describe_changes", "sidebar_props"]

logger = logging.getLogger(__name__)

NOT_YOURS = "That memory is not yours or no longer exists; nothing was changed."
SIDEBAR_LIMIT = 500


def sidebar_props(memory: Memory, user_id: str, mode: str) -> dict[str, Any]:
    """Everything the sidebar shows: memories newest first, each with its history."""
    items = memory.get_all(user_id=user_id, limit=SIDEBAR_LIMIT)["results"]
    items.sort(key=lambda i: i["updated_at"] or i["created_at"], reverse=True)
    memories = []
    for item in items:
        metadata = item.get("metadata") or {}
        memories.append(
            {
                "id": item["id"],
                "memory": item["memory"],
                "category": metadata.get("category") if isinstance(metadata.get("category"), str) else "",
                "created_at": item["created_at"],
                "updated_at": item["updated_at"],
                "history": memory.history(item["id"], user_id=user_id),
            }
        )
    return {"user": user_id, "mode": mode, "memories": memories, "limit": SIDEBAR_LIMIT}


class MemoryActions:
    """One entry point for every sidebar action; `user_id` comes from the session, never the payload."""

    def __init__(self, memory: Memory) -> None:
        self._memory = memory

    def handle(self, user_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        op = payload.get("op")
        try:
            if op == "edit":
                text = str(payload.get("text") or "").strip()
                if not text:
                    return {"ok": False, "message": "A memory cannot be empty; nothing was changed."}
                self._memory.update(str(payload.get("id")), text, user_id=user_id)
                return {"ok": True, "message": "Memory updated."}
            if op == "delete":
                self._memory.delete(str(payload.get("id")), user_id=user_id)
                return {"ok": True, "message": "Memory deleted."}
            if op == "restore":
                return self._restore(user_id, str(payload.get("id")), str(payload.get("history_id")))
            if op == "forget_all":
                if payload.get("confirm") is not True:
                    return {"ok": False, "message": "Forgetting everything needs confirmation."}
                count = self._memory.count(user_id=user_id)
                self._memory.delete_all(user_id=user_id)
                return {"ok": True, "message": f"Forgot all {count} memories."}
            if op == "export":
                items = self._memory.get_all(user_id=user_id, limit=16_384)["results"]
                export = {
                    "user_id": user_id,
                    "memories": [{**i, "history": self._memory.history(i["id"], user_id=user_id)} for i in items],
                }
                return {
                    "ok": True,
                    "message": f"Exported {len(items)} memories.",
                    "json": json.dumps(export, ensure_ascii=False, indent=2),
                }
        except (MemoryNotFoundError, InvalidInputError):
            logger.warning("refused sidebar action %r from %r on %r", op, user_id, payload.get("id"))
            return {"ok": False, "message": NOT_YOURS}
        return {"ok": False, "message": f"Unknown action {op!r}."}

    def _restore(self, user_id: str, memory_id: str, history_id: str) -> dict[str, Any]:
        versions = self._memory.history(memory_id, user_id=user_id)
        entry = next((h for h in versions if h["id"] == history_id), None)
        text = (entry["new_memory"] or entry["old_memory"]) if entry else None
        if not text:
            return {"ok": False, "message": "That version does not exist; nothing was changed."}
        self._memory.update(memory_id, text, user_id=user_id)
        return {"ok": True, "message": "Earlier version restored."}


def describe_changes(result: AddResult) -> str:
    """'Memory updated: added “…”; updated “…” → “…”; deleted “…”', or '' when nothing changed."""
    parts = []
    for item in result["results"]:
        if item["event"] == "ADD":
            parts.append(f"added “{item['memory']}”")
        elif item["event"] == "UPDATE":
            parts.append(f"updated “{item.get('previous_memory', '')}” → “{item['memory']}”")
        else:
            parts.append(f"deleted “{item['memory']}”")
    return ("Memory updated: " + "; ".join(parts)) if parts else ""
