"""Changes to memories, written to Milvus and the history so that the two always agree.

A write records its history rows as pending, changes Milvus, then confirms the rows. If Milvus
fails halfway, or the process dies, `settle()` looks at what Milvus holds for each pending row:
the change happened (confirm the row) or it did not (drop the row). `Memory` settles whatever a
crash left when it opens, and a failed write's rows at once or, if Milvus is down, before the
next write.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import StoreError
from .extraction import text_hash
from .history import PendingRow, Row
from .store import MilvusStore, Record
from .types import Event

if TYPE_CHECKING:
    from .backends import History

__all__ = ["Change", "ChangeWriter"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Change:
    """ADD has `after`; UPDATE has `before` and `after`; DELETE has `before`."""

    event: Event
    before: Record | None
    after: Record | None
    at: str
    source: str = "api"  # who made it: chat, panel, restore, import, undo, api (recorded in the history)

    @property
    def memory_id(self) -> str:
        record = self.after or self.before
        assert record is not None
        return record.id

    def row(self) -> Row:
        record = self.before or self.after
        assert record is not None
        return Row(
            memory_id=self.memory_id,
            scope=record.scope,
            event=self.event,
            old_memory=self.before.memory if self.before else None,
            new_memory=self.after.memory if self.after else None,
            created_at=record.created_at,
            updated_at=None if self.event == "ADD" else self.at,
            source=self.source,
        )


class ChangeWriter:
    def __init__(self, store: MilvusStore, history: History, lock: AbstractContextManager[Any]) -> None:
        self._store = store
        self._history = history
        self._lock = lock
        self._unsettled: set[str] = set()  # rows of this writer's failed writes that could not be settled yet

    @property
    def unsettled(self) -> frozenset[str]:
        return frozenset(self._unsettled)

    def apply(self, changes: Sequence[Change]) -> None:
        """Write `changes` (one per memory) to Milvus with their history rows."""
        if not changes:
            return
        if len({c.memory_id for c in changes}) != len(changes):
            raise ValueError("one change per memory in a write")
        with self._lock:
            ids = self._history.intend([c.row() for c in changes])
            try:
                deleted = [c.memory_id for c in changes if c.event == "DELETE"]
                if deleted:
                    self._store.delete(deleted)
                for change in changes:
                    if change.event == "UPDATE" and change.after is not None:
                        self._store.upsert(change.after)
                self._store.insert([c.after for c in changes if c.event == "ADD" and c.after is not None])
            except BaseException:
                self._settle_after_failure(ids)
                raise
            try:
                self._history.confirm(ids)
            except StoreError:
                self._unsettled.update(ids)
                raise

    def settle(self, ids: Sequence[str]) -> None:
        """Confirm the pending rows whose change Milvus holds; drop the others. The caller holds
        the rows' scope lock, so no write of theirs is in flight (see `Memory._settle`)."""
        with self._lock:
            pending = self._history.pending(ids)
            if pending:
                current = {r.id: r for r in self._store.get(sorted({p.memory_id for p in pending}))}
                happened = {p.id for p in pending if _happened(p, current.get(p.memory_id))}
                self._history.confirm(sorted(happened))
                self._history.discard([p.id for p in pending if p.id not in happened])
                logger.warning(
                    "settled %d unfinished memory changes: %d had reached Milvus, %d had not",
                    len(pending),
                    len(happened),
                    len(pending) - len(happened),
                )
            self._unsettled.difference_update(p.id for p in pending)

    def _settle_after_failure(self, ids: Sequence[str]) -> None:
        try:
            self.settle(ids)
        except Exception:  # Milvus may be what failed: settle before the next write, or at the next start
            logger.warning("could not settle a failed write now; it will be settled later", exc_info=True)
            self._unsettled.update(ids)


def _happened(row: PendingRow, current: Record | None) -> bool:
    if row.event == "DELETE":
        return current is None
    if current is None:
        return False
    return row.event == "ADD" or current.hash == text_hash(row.new_memory or "")
