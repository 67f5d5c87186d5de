"""Changes to memories, written to Milvus and the history so that the two always agree, under the
lock of the scope they change.

A write records its history rows as pending, changes Milvus, then confirms the rows. If Milvus
fails halfway, or the process dies, `settle()` looks at what Milvus holds for each pending row:
the change happened (confirm the row) or it did not (drop the row). Whatever a crash left is
settled when the writer opens, each scope under its lock (whoever holds it has no write in flight
there, so the rows' fate is what Milvus holds); a failed write's rows at once or, if Milvus is
down, before the next write.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence

from .errors import StoreError
from .history import HistoryStore, PendingRow, ScopeLocks
from .models import Change, Record, Scope, text_hash, validate_id
from .store import MilvusStore

__all__ = ["Writer"]

logger = logging.getLogger(__name__)


class Writer:
    def __init__(self, store: MilvusStore, history: HistoryStore, locks: ScopeLocks) -> None:
        self._store = store
        self._history = history
        self._locks = locks
        self._unsettled: set[str] = set()  # rows of failed writes that could not be settled yet
        self.settle()

    # -- locks --------------------------------------------------------------------------

    @contextlib.contextmanager
    def hold(self, scope: Scope) -> Iterator[None]:
        """The scope's lock, after settling what an earlier failed write left."""
        self._settle_unsettled()
        with self._locks.hold(scope):
            yield

    @contextlib.contextmanager
    def hold_owner(self, memory_id: str, user_id: str | None) -> Iterator[None]:
        """The lock of the scope that owns `memory_id` (found in the history, else in Milvus) and
        the store's; with no owner, no scope lock (the caller finds nothing and says so)."""
        self._settle_unsettled()
        owner = self._history.owner(validate_id(memory_id))
        if owner is None:
            found = self._store.get([memory_id])
            owner = found[0].scope if found and (user_id is None or found[0].user_id == user_id) else None
        with self._locks.hold(owner) if owner else contextlib.nullcontext(), self._store.lock:
            yield

    def hold_key(self, key: str) -> contextlib.AbstractContextManager[None]:
        lock: contextlib.AbstractContextManager[None] = self._locks.hold_key(key)
        return lock

    # -- writes -------------------------------------------------------------------------

    def apply(self, changes: Sequence[Change]) -> None:
        """Write `changes` (one per memory) to Milvus with their history rows."""
        if not changes:
            return
        if len({c.memory_id for c in changes}) != len(changes):
            raise ValueError("one change per memory in a write")
        with self._store.lock:
            ids = self._history.intend(changes)
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

    # -- settling -----------------------------------------------------------------------

    def settle(self, ids: Sequence[str] | None = None) -> None:
        """Settle pending history rows (`ids`, or every one), each scope's under that scope's lock."""
        by_scope: dict[Scope, list[str]] = {}
        for row in self._history.pending(ids):
            by_scope.setdefault(row.scope, []).append(row.id)
        for scope, scope_ids in by_scope.items():
            with self._locks.hold(scope):
                self._settle_rows(scope_ids)

    def _settle_rows(self, ids: Sequence[str]) -> None:
        """Confirm the pending rows whose change Milvus holds; drop the others."""
        with self._store.lock:
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

    def _settle_unsettled(self) -> None:
        if self._unsettled:
            self.settle(sorted(self._unsettled))

    def _settle_after_failure(self, ids: Sequence[str]) -> None:
        try:
            self._settle_rows(ids)
        except Exception:  # Milvus may be what failed: settle before the next write, or at the next start
            logger.warning("could not settle a failed write now; it will be settled later", exc_info=True)
            self._unsettled.update(ids)


def _happened(row: PendingRow, current: Record | None) -> bool:
    if row.event == "DELETE":
        return current is None
    if current is None:
        return False
    return row.event == "ADD" or current.hash == text_hash(row.new_memory or "")
