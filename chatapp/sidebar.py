"""The Memories panel's data and actions, checked on the server against the logged-in user."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from chatapp.api.sources import app_source_label
from chatapp.categories import CATEGORIES, categorize
from chatapp.transfer import TransferError, export_document, texts_to_import
from chatapp.turn import relevance
from memory import AddResult, InvalidInputError, Memory, MemoryNotFoundError

__all__ = ["NOT_YOURS", "MemoryActions", "notice_changes", "sidebar_props"]

logger = logging.getLogger(__name__)

NOT_YOURS = "That memory is not yours or no longer exists; nothing was changed."
SIDEBAR_LIMIT = 500
DELETED_LIMIT = 50
SEARCH_LIMIT = 10
# Meaning search keeps the hits whose relevance is within this of the best one's, so a query that
# matches one memory well does not list the whole panel (the panel also shows text matches).
SEARCH_SCORE_SPREAD = 0.08

SOURCE_LABEL = {
    "chat": "from chat",
    "panel": "edited in the panel",
    "restore": "restored",
    "import": "imported",
    "undo": "undone",
    "api": "by the library",
}


def sidebar_props(memory: Memory, user_id: str, mode: str) -> dict[str, Any]:
    """Everything the panel shows: memories newest first, each with its category and its history
    (who made each change), the recently deleted ones, and the category names. A fixed number of
    queries, whatever the number of memories: the histories are read in one."""
    items = memory.get_all(user_id=user_id, limit=SIDEBAR_LIMIT)["results"]
    items.sort(key=lambda i: i["updated_at"] or i["created_at"], reverse=True)
    histories = memory.histories([i["id"] for i in items], user_id=user_id, with_source=True)
    memories = []
    for item in items:
        history = histories.get(item["id"], [])
        memories.append(
            {
                "id": item["id"],
                "memory": item["memory"],
                "category": categorize(item["memory"], item.get("metadata")),
                "created_at": item["created_at"],
                "updated_at": item["updated_at"],
                "history": [{**h, "source_label": _source_label(h)} for h in history],
            }
        )
    deleted = memory.deleted(user_id=user_id, limit=DELETED_LIMIT)
    return {
        "user": user_id,
        "mode": mode,
        "memories": memories,
        "deleted": deleted,
        "categories": [c for c in CATEGORIES if any(m["category"] == c for m in memories)],
        "limit": SIDEBAR_LIMIT,
    }


def _source_label(entry: Mapping[str, Any]) -> str:
    source = str(entry.get("source") or "unknown")
    app = app_source_label(source)  # "from Claude Desktop (token 'laptop')"
    return app or SOURCE_LABEL.get(source, "before changes were attributed" if source == "unknown" else source)


class MemoryActions:
    """One entry point for every panel action; `user_id` comes from the session, never the payload."""

    def __init__(self, memory: Memory) -> None:
        self._memory = memory

    def handle(self, user_id: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        op = payload.get("op")
        memory_id = str(payload.get("id"))
        try:
            if op == "edit":
                text = str(payload.get("text") or "").strip()
                if not text:
                    return {"ok": False, "message": "A memory cannot be empty; nothing was changed."}
                self._memory.update(memory_id, text, user_id=user_id, source="panel")
                return {"ok": True, "message": "Memory updated.", "focus": memory_id}
            if op == "add":
                return self._add(user_id, str(payload.get("text") or ""))
            if op == "delete":
                self._memory.delete(memory_id, user_id=user_id, source="panel")
                return {"ok": True, "message": "Memory deleted. It is in “Recently deleted” if you want it back."}
            if op == "restore":
                return self._restore_version(user_id, memory_id, str(payload.get("history_id")))
            if op == "undelete":
                self._memory.restore(memory_id, user_id=user_id, source="restore")
                return {"ok": True, "message": "Memory restored with its history.", "focus": memory_id}
            if op == "forget_all":
                if payload.get("confirm") is not True:
                    return {"ok": False, "message": "Forgetting everything needs confirmation."}
                count = self._memory.count(user_id=user_id)
                self._memory.delete_all(user_id=user_id, source="panel")
                return {
                    "ok": True,
                    "message": f"Forgot all {count} memories. They are in “Recently deleted” if you want them back.",
                }
            if op == "export":
                return self._export(user_id)
            if op == "import":
                return self._import(user_id, payload.get("json"))
            if op == "search":
                return self._search(user_id, str(payload.get("query") or ""))
            if op == "undo":
                return self.undo(user_id, payload.get("changes"))
        except (MemoryNotFoundError, InvalidInputError):
            logger.warning("refused panel action %r from %r on %r", op, user_id, payload.get("id"))
            return {"ok": False, "message": NOT_YOURS}
        return {"ok": False, "message": f"Unknown action {op!r}."}

    def _add(self, user_id: str, text: str) -> dict[str, Any]:
        text = text.strip()
        if not text:
            return {"ok": False, "message": "Type the memory to add; nothing was saved."}
        try:
            added = self._memory.add(text, user_id=user_id, infer=False, source="panel")["results"]
        except InvalidInputError as exc:
            return {"ok": False, "message": f"{exc}; nothing was saved."}
        return {"ok": True, "message": "Memory added.", "focus": added[0]["id"] if added else None}

    def _restore_version(self, user_id: str, memory_id: str, history_id: str) -> dict[str, Any]:
        versions = self._memory.history(memory_id, user_id=user_id)
        entry = next((h for h in versions if h["id"] == history_id), None)
        text = (entry["new_memory"] or entry["old_memory"]) if entry else None
        if not text:
            return {"ok": False, "message": "That version does not exist; nothing was changed."}
        self._memory.update(memory_id, text, user_id=user_id, source="restore")
        return {"ok": True, "message": "Earlier version restored.", "focus": memory_id}

    def _export(self, user_id: str) -> dict[str, Any]:
        items = self._memory.get_all(user_id=user_id, limit=16_384)["results"]
        histories = self._memory.histories([i["id"] for i in items], user_id=user_id)
        export = export_document(user_id, items, histories)
        return {
            "ok": True,
            "message": f"Exported {len(items)} memories.",
            "json": json.dumps(export, ensure_ascii=False, indent=2),
        }

    def _import(self, user_id: str, raw: object) -> dict[str, Any]:
        """Memories from an export file (ours, or any JSON list of texts): each text not already
        held is added, attributed to "import". The ids and history of the file are not reused."""
        try:
            wanted, entries = texts_to_import(str(raw))
        except TransferError as exc:
            return {"ok": False, "message": str(exc)}
        held = {i["memory"] for i in self._memory.get_all(user_id=user_id, limit=16_384)["results"]}
        new = [t for t in wanted if t not in held]
        for start in range(0, len(new), 100):
            batch = [{"role": "user", "content": t} for t in new[start : start + 100]]
            self._memory.add(batch, user_id=user_id, infer=False, source="import")
        skipped = entries - len(new)
        return {
            "ok": True,
            "message": f"Imported {len(new)} memories" + (f"; {skipped} already held or empty." if skipped else "."),
        }

    def _search(self, user_id: str, query: str) -> dict[str, Any]:
        """Memories close in meaning to `query` (vector and keyword search), best first, each with
        its relevance (cosine similarity); only those near the best one are kept."""
        if not query.strip():
            return {"ok": True, "hits": []}
        hits = self._memory.search(query, user_id=user_id, limit=SEARCH_LIMIT)["results"]
        metric = self._memory.config.vector_store.metric_type
        scored = sorted(((relevance(h["score"], metric), h["id"]) for h in hits), reverse=True)
        if not scored:
            return {"ok": True, "hits": []}
        best = scored[0][0]
        return {
            "ok": True,
            "hits": [{"id": i, "score": round(r, 3)} for r, i in scored if r >= best - SEARCH_SCORE_SPREAD],
        }

    def undo(self, user_id: str, changes: object) -> dict[str, Any]:
        """Reverse a turn's memory changes (those of a notice): an addition is deleted, an update
        goes back to the previous text, a deletion is restored. Each reversal is its own change."""
        if not isinstance(changes, list) or not changes:
            return {"ok": False, "message": "Nothing to undo."}
        undone = 0
        for change in changes:
            if not isinstance(change, Mapping):
                continue
            memory_id, event = str(change.get("id")), change.get("event")
            try:
                current = self._memory.get(memory_id, user_id=user_id)
                if event in ("ADD", "UPDATE") and (current is None or current["memory"] != change.get("memory")):
                    continue  # changed since, or undone already: leave it as the user has it now
                if event == "ADD":
                    self._memory.delete(memory_id, user_id=user_id, source="undo")
                elif event == "UPDATE" and change.get("previous_memory"):
                    self._memory.update(memory_id, str(change["previous_memory"]), user_id=user_id, source="undo")
                elif event == "DELETE" and current is None:
                    self._memory.restore(memory_id, user_id=user_id, source="undo")
                else:
                    continue
                undone += 1
            except (MemoryNotFoundError, InvalidInputError):
                logger.info("undo skipped %s of %s for %r: already changed", event, memory_id, user_id)
        if not undone:
            return {"ok": False, "message": "Those changes were already undone or changed since; nothing was changed."}
        return {"ok": True, "message": f"Undone: {undone} change{'s' if undone > 1 else ''}."}


def notice_changes(result: AddResult) -> list[dict[str, str]]:
    """A turn's changes as the notice shows them (and as Undo reverses them)."""
    return [
        {
            "id": item["id"],
            "event": item["event"],
            "memory": item["memory"],
            "previous_memory": str(item.get("previous_memory") or ""),
        }
        for item in result["results"]
    ]
