"""The Memory facade: the tutorial's API over Milvus, an embedder, a chat model and a history."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from . import _inputs as check
from ._changes import changes_for
from ._shapes import memory_item, search_result
from ._writer import Writer
from .config import MemoryConfig
from .errors import InvalidInputError, MemoryNotFoundError
from .extract import Candidates, Plan, build_extractor
from .history import HistoryStore, ScopeLocks, open_history
from .models import Change, Operation, Record, Scope, now, text_hash, validate_id
from .providers import ChatClient, Embedder, Purpose, build_embedder
from .store import MilvusStore, expression, scope_filter
from .tokens import count_tokens, truncate_to_tokens
from .types import (
    AddResult,
    DeletedMemory,
    GetAllResults,
    HistoryEntry,
    MemoryItem,
    MessageResult,
    Messages,
    SearchResults,
)

__all__ = ["Memory"]

logger = logging.getLogger(__name__)

# A longer query is cut: embedding models read at most 512 (e5) to 8,191 (OpenAI) tokens.
MAX_QUERY_CHARS = 40_000
MAX_QUERY_TOKENS = 8_000


class Memory:
    """Long-term memory for users, agents and runs.

    >>> m = Memory.from_config({"vector_store": {"provider": "milvus", "config": {"url": "./milvus.db"}}})
    >>> m.add("I am working on improving my tennis skills.", user_id="alice")
    """

    def __init__(self, config: MemoryConfig | None = None, *, today: Callable[[], date] = date.today) -> None:
        self.config = config or MemoryConfig.from_env()
        self._today = today
        self.embedder: Embedder = build_embedder(self.config.embedder)
        self._chat = ChatClient(self.config.llm)
        self._extractor = build_extractor(self.config, self._chat)
        self._store, self._history, locks = self._open_stores()
        try:  # what a crash left halfway is settled, each scope under its lock
            self._writer = Writer(self._store, self._history, locks)
        except BaseException:
            self._store.close()
            self._history.close()
            locks.close()
            raise
        self._locks = locks

    def _open_stores(self) -> tuple[MilvusStore, HistoryStore, ScopeLocks]:
        """Milvus, the history and the scope locks. A milvus-lite file is opened first (its own
        lock keeps other processes out); a server's collection is made under a lock, since
        processes starting together must not each create it."""
        config = self.config.vector_store
        if config.is_lite:
            store = MilvusStore(config, self._embedding_dims())
            try:
                history, locks = open_history(self.config.history_path)
            except BaseException:
                store.close()
                raise
            return store, history, locks
        history, locks = open_history(self.config.history_path)
        try:
            with locks.hold_key(f"collection\x1f{config.uri}\x1f{config.collection_name}"):
                return MilvusStore(config, self._embedding_dims()), history, locks
        except BaseException:
            history.close()
            locks.close()
            raise

    def warm_up(self) -> None:
        """Load now what the first `add` and `search` would load on first use (the token encoder,
        the offline extractor's lexicons: about 1.5 s of CPU here), so the first user of a new
        process does not wait for it, nor do the others in the meantime."""
        count_tokens("warm up")
        self._extractor.warm_up()

    @classmethod
    def from_config(cls, config_dict: Mapping[str, Any]) -> Memory:
        return cls(MemoryConfig.from_dict(config_dict))

    @property
    def extractor_name(self) -> str:
        return self._extractor.name

    def _embedding_dims(self) -> int:
        real = self.embedder.dims
        wanted = self.config.vector_store.embedding_model_dims
        if wanted and wanted != real:
            logger.warning(
                "embedding_model_dims is %s but the %s embedder gives %s dimensions: using %s",
                wanted,
                self.config.embedder.model,
                real,
                real,
            )
        return real

    # -- add ----------------------------------------------------------------------------

    def add(
        self,
        messages: Messages,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        filters: Mapping[str, Any] | None = None,
        infer: bool = True,
        *,
        source: str = "api",
    ) -> AddResult:
        """Extract facts from `messages` and add, update or delete this scope's memories.

        The extractor plans without the scope's lock (a model call may be slow); under the lock the
        memories it saw are looked up again, and if another write changed them meanwhile it plans
        once more. `source` says who made the change (for instance "chat" or "import");
        `history(..., with_source=True)` shows it."""
        scope = check.scope_of(user_id, agent_id, run_id, filters)
        conversation = check.normalized_messages(messages)
        metadata = check.checked_metadata(metadata)
        if not infer:
            texts = [m["content"].strip() for m in conversation if m["role"] != "system" and m["content"].strip()]
            for text in texts:
                check.check_fits(text, "this message", "split it, or let infer=True extract its facts")
            with self._writer.hold(scope):
                return self._apply(
                    Plan([Operation("ADD", text=t) for t in dict.fromkeys(texts)]), scope, metadata, source
                )

        def lookup(texts: Sequence[str], purpose: Purpose, cap: int | None = None) -> Candidates:
            vectors = self.embedder.embed(texts, purpose) if texts else []
            return self._candidates(vectors, scope, cap)

        plan = self._extractor.plan(conversation, self._today(), lookup)
        for attempt in (1, 2):
            with self._writer.hold(scope):
                current = self._candidates(plan.seen.queries, scope, plan.seen.cap) if plan.seen else None
                if plan.seen is None or current is None or current.same_as(plan.seen):
                    return self._apply(plan, scope, metadata, source)
                if attempt == 2:  # changed again: keep only what still fits what is stored now
                    return self._apply(_rebased(plan, current), scope, metadata, source)
            logger.info("memories of %s changed during extraction: planning again", scope)
            plan = self._extractor.plan(conversation, self._today(), lookup)
        raise AssertionError("unreachable")

    def _candidates(self, vectors: Sequence[Sequence[float]], scope: Scope, cap: int | None = None) -> Candidates:
        """Each query's top hits, merged rank by rank (the best of every query first), without repeats."""
        batches = self._store.search(vectors, scope_filter(scope), self.config.candidate_limit)
        found: dict[str, Record] = {}
        for rank in range(max((len(b) for b in batches), default=0)):
            for batch in batches:
                if rank < len(batch):
                    found.setdefault(batch[rank].id, batch[rank])
        merged = list(found.values())
        return Candidates([list(v) for v in vectors], cap, merged[:cap] if cap else merged)

    def _apply(self, plan: Plan, scope: Scope, metadata: dict[str, Any] | None, source: str) -> AddResult:
        """Embed the new texts in one request, then write memories and history together (the
        caller holds the scope's lock)."""
        operations = plan.operations
        if not operations:
            return {"results": [], "relations": []}
        vectors: dict[str, Sequence[float]] = dict(plan.vectors)
        to_embed = list(dict.fromkeys(op.text for op in operations if op.event != "DELETE" and op.text not in vectors))
        if to_embed:
            vectors.update(zip(to_embed, self.embedder.embed(to_embed, "passage"), strict=True))
        with self._store.lock:
            current = {r.id: r for r in self._store.get([op.target.id for op in operations if op.target])}
            changes, results = changes_for(operations, current, vectors, scope, metadata, source)
            self._writer.apply(changes)
        return {"results": results, "relations": []}

    # -- by id --------------------------------------------------------------------------

    def get(self, memory_id: str, user_id: str | None = None) -> MemoryItem | None:
        record = self._find(memory_id, user_id)
        return memory_item(record) if record else None

    def update(
        self,
        memory_id: str,
        data: str,
        user_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        *,
        source: str = "api",
    ) -> MessageResult:
        """Replace a memory's text (metadata kept unless new metadata is given)."""
        text = check.check_fits(check.checked_text(data, "data"), "data", "shorten it")
        new_metadata = check.checked_metadata(metadata) if metadata is not None else None
        vector = self.embedder.embed([text], "passage")[0]
        with self._writer.hold_owner(memory_id, user_id):
            record = self._require(memory_id, user_id)
            at = now()
            updated = replace(
                record,
                memory=text,
                hash=text_hash(text),
                updated_at=at,
                vector=list(vector),
                metadata=new_metadata if new_metadata is not None else record.metadata,
                category=check.category_of(new_metadata) if new_metadata is not None else record.category,
            )
            self._writer.apply([Change("UPDATE", record, updated, at, source)])
        return {"message": "Memory updated successfully!"}

    def delete(self, memory_id: str, user_id: str | None = None, *, source: str = "api") -> MessageResult:
        with self._writer.hold_owner(memory_id, user_id):
            record = self._require(memory_id, user_id)
            self._writer.apply([Change("DELETE", record, None, now(), source)])
        return {"message": "Memory deleted successfully!"}

    def history(self, memory_id: str, user_id: str | None = None, *, with_source: bool = False) -> list[HistoryEntry]:
        """Every change to one memory, oldest first, its deletion included; `with_source=True`
        adds to each entry a `source` key: who made the change (chat, panel, restore, import, ...)."""
        if self._owner(memory_id, user_id) is None:
            if user_id is not None:
                raise MemoryNotFoundError(f"no memory {memory_id} for user {user_id!r}")
            return []
        return self._history.for_memory(memory_id, with_source=with_source)

    def histories(
        self, memory_ids: Sequence[str], user_id: str, *, with_source: bool = False
    ) -> dict[str, list[HistoryEntry]]:
        """The history of many of `user_id`'s memories in one query (a panel, an export): memory id
        -> its entries; ids that are not the user's are left out."""
        checked = [validate_id(i) for i in memory_ids]
        found = self._history.for_memories(checked, with_source=with_source, user_id=user_id)
        return {i: found[i] for i in checked if i in found}

    def deleted(
        self, user_id: str | None = None, agent_id: str | None = None, run_id: str | None = None, limit: int = 50
    ) -> list[DeletedMemory]:
        """This scope's deleted memories, the most recently deleted first (their history is kept,
        so `restore` can bring one back)."""
        return self._history.deleted(check.scope_of(user_id, agent_id, run_id, None), check.checked_limit(limit))

    def restore(self, memory_id: str, user_id: str | None = None, *, source: str = "restore") -> MessageResult:
        """Bring back a deleted memory with its id and history; its text is the one it had when
        deleted (its metadata is not kept in the history, so it comes back without)."""
        owner = self._owner(memory_id, user_id)
        if owner is None:
            raise MemoryNotFoundError(f"no deleted memory {memory_id}" + (f" for user {user_id!r}" if user_id else ""))
        text = self._deleted_text(memory_id)
        vector = self.embedder.embed([text], "passage")[0]  # outside the locks, as in `update`
        with self._writer.hold(owner), self._store.lock:
            if self._deleted_text(memory_id) != text:  # restored or changed meanwhile
                raise InvalidInputError(f"memory {memory_id} is not deleted")
            at = now()
            record = Record(id=memory_id, memory=text, hash=text_hash(text), created_at=at, vector=list(vector),
                            user_id=owner.user_id, agent_id=owner.agent_id, run_id=owner.run_id)  # fmt: skip
            self._writer.apply([Change("ADD", None, record, at, source)])
        return {"message": "Memory restored successfully!"}

    def _owner(self, memory_id: str, user_id: str | None) -> Scope | None:
        """The scope that owns `memory_id` in the history (deleted memories included), if it is `user_id`'s."""
        owner = self._history.owner(validate_id(memory_id))
        return owner if owner is not None and (user_id is None or owner.user_id == user_id) else None

    def _deleted_text(self, memory_id: str) -> str:
        """The text a deleted memory had; InvalidInputError if it is not deleted."""
        if self._store.get([memory_id]):
            raise InvalidInputError(f"memory {memory_id} is not deleted")
        entries = self._history.for_memory(memory_id)
        if not entries or entries[-1]["event"] != "DELETE" or not entries[-1]["old_memory"]:
            raise MemoryNotFoundError(f"no deleted memory {memory_id}")
        return str(entries[-1]["old_memory"])

    def _find(self, memory_id: str, user_id: str | None) -> Record | None:
        found = self._store.get([validate_id(memory_id)])
        if not found or (user_id is not None and found[0].user_id != user_id):
            return None
        return found[0]

    def _require(self, memory_id: str, user_id: str | None) -> Record:
        record = self._find(memory_id, user_id)
        if record is None:
            owner = f" for user {user_id!r}" if user_id is not None else ""
            raise MemoryNotFoundError(f"no memory {memory_id}{owner}")
        return record

    # -- many ---------------------------------------------------------------------------

    def get_all(
        self,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        filters: Mapping[str, Any] | None = None,
        limit: int = 100,
    ) -> GetAllResults:
        """This scope's memories, oldest first, at most `limit`."""
        expr = expression(check.scope_of(user_id, agent_id, run_id, filters), filters)
        records = self._store.scan(expr, check.checked_limit(limit), fresh=False)
        return {"results": [memory_item(r) for r in records]}

    def search(
        self,
        query: str,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        limit: int = 100,
        filters: Mapping[str, Any] | None = None,
        threshold: float | None = None,
    ) -> SearchResults:
        """The scope's memories most relevant to `query`, best first by `score`; at most `limit`
        (100 by default, as in Mem0 0.1 that the tutorial uses).

        With `search_mode="hybrid"` (the default) the `limit` memories returned are chosen by fusing
        vector and keyword (BM25) ranks, so an exact name or rare word counts; they are then listed
        by their vector score as the tutorial describes (L2: distance, smaller is closer; COSINE:
        larger is closer). `threshold` applies to that score.
        """
        expr = expression(check.scope_of(user_id, agent_id, run_id, filters), filters)
        text = truncate_to_tokens(check.checked_text(query, "query")[:MAX_QUERY_CHARS], MAX_QUERY_TOKENS)
        limit = check.checked_limit(limit)
        vector = self.embedder.embed([text], "query")[0]
        larger_is_closer = self.config.vector_store.metric_type != "L2"
        if self.config.search_mode == "hybrid" and self._store.keyword_search:
            hits = self._store.hybrid_search(vector, text, expr, limit, self.config.rrf_k, fresh=False)
            hits.sort(key=lambda r: r.score or 0.0, reverse=larger_is_closer)
        else:
            hits = self._store.search([vector], expr, limit, fresh=False)[0]
        scored = [(r, float(r.score or 0.0)) for r in hits]
        if threshold is not None:
            scored = [(r, s) for r, s in scored if (s >= threshold if larger_is_closer else s <= threshold)]
        return {"results": [search_result(r, s) for r, s in scored]}

    def delete_all(
        self,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        *,
        source: str = "api",
    ) -> MessageResult:
        """Delete every memory of this scope (all pages), each with its DELETE history row."""
        scope = check.scope_of(user_id, agent_id, run_id, None)
        with self._writer.hold(scope), self._store.lock:
            while batch := self._store.scan(scope_filter(scope), 1000):
                at = now()
                self._writer.apply([Change("DELETE", record, None, at, source) for record in batch])
        return {"message": "Memories deleted successfully!"}

    def reset(self) -> None:
        """Empty the collection and the history: every user, every memory."""
        with self._store.lock:
            self._store.drop()
            self._history.reset()

    def count(self, user_id: str | None = None, agent_id: str | None = None, run_id: str | None = None) -> int:
        return self._store.count(scope_filter(check.scope_of(user_id, agent_id, run_id, None)), fresh=False)

    def close(self) -> None:
        self._store.close()
        self._history.close()
        self._locks.close()

    def __enter__(self) -> Memory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _rebased(plan: Plan, current: Candidates) -> Plan:
    """`plan` kept to what still fits the memories as they are now: changes of memories that
    changed since are dropped, and additions of a text already held."""
    held = {(r.id, r.hash) for r in current.records}
    hashes = {r.hash for r in current.records}
    kept = [
        op
        for op in plan.operations
        if (op.target is not None and (op.target.id, op.target.hash) in held)
        or (op.target is None and text_hash(op.text) not in hashes)
    ]
    return replace(plan, operations=kept)
