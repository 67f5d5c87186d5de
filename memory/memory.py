"""The Memory facade: the tutorial's API over Milvus, an embedder, a chat model and SQLite."""

from __future__ import annotations

import contextlib
import json
import logging
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from .backends import History, open_history
from .config import MemoryConfig
from .embeddings import Embedder, build_embedder
from .errors import InvalidInputError, MemoryNotFoundError
from .extraction import LLMExtractor, Operation, candidate_queries, text_hash
from .filters import MAX_VARCHAR, SCOPE_FIELDS, Scope, check_encodable, metadata_filter, validate_id
from .llm import ChatClient
from .locks import ScopeLocks
from .offline import HeuristicExtractor
from .store import MilvusStore, Record
from .tokens import count_tokens, truncate_to_tokens
from .types import (
    AddResult,
    AddResultItem,
    DeletedMemory,
    GetAllResults,
    HistoryEntry,
    MemoryItem,
    MessageResult,
    Messages,
    SearchResult,
    SearchResults,
)
from .writes import Change, ChangeWriter

__all__ = ["Memory"]

logger = logging.getLogger(__name__)

MAX_METADATA_BYTES = 16_384
MAX_LIMIT = 16_384
# A longer query is cut: embedding models read at most 512 (e5) to 8,191 (OpenAI) tokens.
MAX_QUERY_CHARS = 40_000
MAX_QUERY_TOKENS = 8_000
# Statements of one message looked up separately for the LLM's candidates (one embedding request).
MAX_CANDIDATE_QUERIES = 16


def _now() -> str:
    return datetime.now().astimezone().isoformat()


class Memory:
    """Long-term memory for users, agents and runs.

    >>> m = Memory.from_config({"vector_store": {"provider": "milvus", "config": {"url": "./milvus.db"}}})
    >>> m.add("I am working on improving my tennis skills.", user_id="alice")
    """

    def __init__(self, config: MemoryConfig | None = None, *, today: Callable[[], date] = date.today) -> None:
        self.config = config or MemoryConfig.from_env()
        self._today = today
        self.embedder: Embedder = build_embedder(self.config.embedder)
        self.llm = ChatClient(self.config.llm)
        self._store, self._history, self._locks = self._open_stores()
        self._extractor: LLMExtractor | HeuristicExtractor
        if self.config.extractor == "llm":
            self._extractor = LLMExtractor(self.llm, self.config.max_operations)
        else:
            self._extractor = HeuristicExtractor(self.config.max_operations)
        self._write_lock = self._store.lock
        self._writer = ChangeWriter(self._store, self._history, self._write_lock)
        try:  # what a crash left halfway, each scope under its lock (another process may be writing it)
            self._settle()
        except BaseException:
            self.close()
            raise

    def _open_stores(self) -> tuple[MilvusStore, History, ScopeLocks]:
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
        and the offline extractor's English and Japanese lexicons: about 1.5 s of CPU here), so
        the first user of a new process does not wait for it, nor do the others in the meantime."""
        count_tokens("warm up")
        if isinstance(self._extractor, HeuristicExtractor):
            sample = [{"role": "user", "content": "I like green tea. 私は東京に住んでいます。"}]
            self._extractor.statements(sample, self._today())

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

        `source` says who made the change (for instance "chat" or "import"); `history(...,
        with_source=True)` shows it."""
        scope = _scope(user_id, agent_id, run_id, filters)
        conversation = _normalize_messages(messages)
        metadata = _checked_metadata(metadata)
        self._settle_unsettled()
        with self._locks.hold(scope):  # the candidates are read under the lock the writes take
            return self._add(conversation, scope, metadata, infer, source)

    def _add(
        self,
        conversation: list[dict[str, str]],
        scope: Scope,
        metadata: dict[str, Any] | None,
        infer: bool,
        source: str,
    ) -> AddResult:
        if not infer:
            texts = [m["content"].strip() for m in conversation if m["role"] != "system" and m["content"].strip()]
            for text in texts:
                _check_fits(text, "this message", "split it, or let infer=True extract its facts")
            return self._apply([Operation("ADD", text=t) for t in dict.fromkeys(texts)], scope, metadata, {}, source)
        today = self._today()
        if isinstance(self._extractor, HeuristicExtractor):
            statements = self._extractor.statements(conversation, today)
            if not statements:
                return {"results": [], "relations": []}
            vectors = self.embedder.embed([s.text for s in statements], "passage")
            candidates = self._candidates(vectors, scope)
            operations = self._extractor.plan(statements, candidates, today)
            known = {s.text: v for s, v in zip(statements, vectors, strict=True) if s.kind == "fact"}
            return self._apply(operations, scope, metadata, known, source)
        candidates = self._candidates_for(conversation, scope)
        operations = self._extractor.extract(conversation, candidates, today)
        return self._apply(operations, scope, metadata, {}, source)

    def _candidates_for(self, conversation: Sequence[dict[str, str]], scope: Scope) -> list[Record]:
        """The memories the LLM may update or delete: the nearest to each statement of the user's
        messages (all statements embedded in one request), so a contradicted memory is found even
        when the message talks about other things too."""
        queries = candidate_queries(conversation, MAX_CANDIDATE_QUERIES)
        return self._candidates(self.embedder.embed(queries, "query"), scope, cap=2 * self.config.candidate_limit)

    def _candidates(self, vectors: Sequence[Sequence[float]], scope: Scope, cap: int | None = None) -> list[Record]:
        """Each query's top hits, merged rank by rank (the best of every query first), without repeats."""
        batches = self._store.search(vectors, scope.filter_expr(), self.config.candidate_limit)
        found: dict[str, Record] = {}
        for rank in range(max((len(b) for b in batches), default=0)):
            for batch in batches:
                if rank < len(batch):
                    found.setdefault(batch[rank].id, batch[rank])
        merged = list(found.values())
        return merged[:cap] if cap else merged

    def _apply(
        self,
        operations: Sequence[Operation],
        scope: Scope,
        metadata: dict[str, Any] | None,
        known_vectors: Mapping[str, Sequence[float]],
        source: str,
    ) -> AddResult:
        """Embed the new texts in one request, then write memories and history together."""
        if not operations:
            return {"results": [], "relations": []}
        to_embed = list(
            dict.fromkeys(op.text for op in operations if op.event != "DELETE" and op.text not in known_vectors)
        )
        vectors = dict(known_vectors)
        if to_embed:
            vectors.update(zip(to_embed, self.embedder.embed(to_embed, "passage"), strict=True))
        results: list[AddResultItem] = []
        changes: list[Change] = []
        with self._write_lock:
            current = {r.id: r for r in self._store.get([op.target.id for op in operations if op.target])}
            for op in operations:
                now = _now()
                target = current.pop(op.target.id, None) if op.target else None  # one change per memory
                if op.event == "DELETE":
                    if target is None:
                        continue
                    changes.append(Change("DELETE", target, None, now, source))
                    results.append({"id": target.id, "memory": target.memory, "event": "DELETE"})
                elif op.event == "UPDATE" and target is not None:
                    updated = replace(
                        target, memory=op.text, hash=text_hash(op.text), updated_at=now, vector=list(vectors[op.text])
                    )
                    changes.append(Change("UPDATE", target, updated, now, source))
                    results.append(
                        {"id": target.id, "memory": op.text, "event": "UPDATE", "previous_memory": target.memory}
                    )
                else:  # ADD, or an UPDATE whose memory vanished meanwhile
                    record = Record(
                        id=str(uuid.uuid4()),
                        memory=op.text,
                        hash=text_hash(op.text),
                        created_at=now,
                        category=_category(metadata),
                        metadata=metadata,
                        vector=list(vectors[op.text]),
                        user_id=scope.user_id,
                        agent_id=scope.agent_id,
                        run_id=scope.run_id,
                    )
                    changes.append(Change("ADD", None, record, now, source))
                    results.append({"id": record.id, "memory": op.text, "event": "ADD"})
            self._writer.apply(changes)
        return {"results": results, "relations": []}

    # -- by id --------------------------------------------------------------------------

    def get(self, memory_id: str, user_id: str | None = None) -> MemoryItem | None:
        record = self._find(memory_id, user_id)
        return _item(record) if record else None

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
        text = _check_fits(_checked_text(data, "data"), "data", "shorten it")
        new_metadata = _checked_metadata(metadata) if metadata is not None else None
        vector = self.embedder.embed([text], "passage")[0]
        with self._hold_owner(memory_id, user_id), self._write_lock:
            record = self._require(memory_id, user_id)
            now = _now()
            updated = replace(
                record,
                memory=text,
                hash=text_hash(text),
                updated_at=now,
                vector=list(vector),
                metadata=new_metadata if new_metadata is not None else record.metadata,
                category=_category(new_metadata) if new_metadata is not None else record.category,
            )
            self._writer.apply([Change("UPDATE", record, updated, now, source)])
        return {"message": "Memory updated successfully!"}

    def delete(self, memory_id: str, user_id: str | None = None, *, source: str = "api") -> MessageResult:
        with self._hold_owner(memory_id, user_id), self._write_lock:
            record = self._require(memory_id, user_id)
            self._writer.apply([Change("DELETE", record, None, _now(), source)])
        return {"message": "Memory deleted successfully!"}

    def history(self, memory_id: str, user_id: str | None = None, *, with_source: bool = False) -> list[HistoryEntry]:
        """Every change to one memory, oldest first, its deletion included; `with_source=True`
        adds to each entry a `source` key: who made the change (chat, panel, restore, import, ...)."""
        if self._owner(memory_id, user_id) is None:
            if user_id is not None:
                raise MemoryNotFoundError(f"no memory {memory_id} for user {user_id!r}")
            return []
        return self._history.for_memory(memory_id, with_source=with_source)

    def deleted(
        self, user_id: str | None = None, agent_id: str | None = None, run_id: str | None = None, limit: int = 50
    ) -> list[DeletedMemory]:
        """This scope's deleted memories, the most recently deleted first (their history is kept,
        so `restore` can bring one back)."""
        return self._history.deleted(_scope(user_id, agent_id, run_id, None), _checked_limit(limit))

    def restore(self, memory_id: str, user_id: str | None = None, *, source: str = "restore") -> MessageResult:
        """Bring back a deleted memory with its id and history; its text is the one it had when
        deleted (its metadata is not kept in the history, so it comes back without)."""
        owner = self._owner(memory_id, user_id)
        if owner is None:
            raise MemoryNotFoundError(f"no deleted memory {memory_id}" + (f" for user {user_id!r}" if user_id else ""))
        text = self._deleted_text(memory_id)
        vector = self.embedder.embed([text], "passage")[0]  # outside the locks, as in `update`
        self._settle_unsettled()
        with self._locks.hold(owner), self._write_lock:
            if self._deleted_text(memory_id) != text:  # restored or changed meanwhile
                raise InvalidInputError(f"memory {memory_id} is not deleted")
            now = _now()
            record = Record(
                id=memory_id,
                memory=text,
                hash=text_hash(text),
                created_at=now,
                vector=list(vector),
                user_id=owner.user_id,
                agent_id=owner.agent_id,
                run_id=owner.run_id,
            )
            self._writer.apply([Change("ADD", None, record, now, source)])
        return {"message": "Memory restored successfully!"}

    @contextlib.contextmanager
    def _hold_owner(self, memory_id: str, user_id: str | None) -> Iterator[None]:
        """Hold the lock of the scope that owns `memory_id` (found in the history, else in Milvus)."""
        self._settle_unsettled()
        owner = self._history.owner(validate_id(memory_id))
        if owner is None:
            record = self._find(memory_id, user_id)
            owner = record.scope if record else None
        with self._locks.hold(owner) if owner else contextlib.nullcontext():  # no owner: `_require` raises
            yield

    def _settle(self, ids: Sequence[str] | None = None) -> None:
        """Settle pending history rows (`ids`, or every one), each scope's under that scope's lock:
        whoever holds it has no write in flight there, so the rows' fate is what Milvus holds."""
        by_scope: dict[Scope, list[str]] = {}
        for row in self._history.pending(ids):
            by_scope.setdefault(row.scope, []).append(row.id)
        for scope, scope_ids in by_scope.items():
            with self._locks.hold(scope):
                self._writer.settle(scope_ids)

    def _settle_unsettled(self) -> None:
        """A failed write whose rows could not be settled then (Milvus was down) is settled first."""
        if self._writer.unsettled:
            self._settle(sorted(self._writer.unsettled))

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
        expr = self._expr(user_id, agent_id, run_id, filters)
        return {"results": [_item(r) for r in self._store.scan(expr, _checked_limit(limit), fresh=False)]}

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
        expr = self._expr(user_id, agent_id, run_id, filters)
        text = truncate_to_tokens(_checked_text(query, "query")[:MAX_QUERY_CHARS], MAX_QUERY_TOKENS)
        limit = _checked_limit(limit)
        vector = self.embedder.embed([text], "query")[0]
        if self.config.search_mode == "hybrid" and self._store.keyword_search:
            hits = self._store.hybrid_search(vector, text, expr, limit, self.config.rrf_k, fresh=False)
            hits.sort(key=lambda r: r.score or 0.0, reverse=self.config.vector_store.metric_type != "L2")
        else:
            hits = self._store.search([vector], expr, limit, fresh=False)[0]
        results = []
        for record in hits:
            score = float(record.score or 0.0)
            if threshold is not None and not self._passes(score, threshold):
                continue
            results.append(_search_item(record, score))
        return {"results": results}

    def _passes(self, score: float, threshold: float) -> bool:
        return score <= threshold if self.config.vector_store.metric_type == "L2" else score >= threshold

    def _expr(
        self, user_id: str | None, agent_id: str | None, run_id: str | None, filters: Mapping[str, Any] | None
    ) -> str:
        scope = _scope(user_id, agent_id, run_id, filters)
        extra = {k: v for k, v in (filters or {}).items() if k not in SCOPE_FIELDS}
        expr = scope.filter_expr()
        return f"{expr} and {metadata_filter(extra)}" if extra else expr

    def delete_all(
        self,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        *,
        source: str = "api",
    ) -> MessageResult:
        """Delete every memory of this scope (all pages), each with its DELETE history row."""
        scope = _scope(user_id, agent_id, run_id, None)
        expr = scope.filter_expr()
        self._settle_unsettled()
        with self._locks.hold(scope), self._write_lock:
            while True:
                batch = self._store.scan(expr, 1000)
                if not batch:
                    break
                now = _now()
                self._writer.apply([Change("DELETE", record, None, now, source) for record in batch])
        return {"message": "Memories deleted successfully!"}

    def reset(self) -> None:
        """Empty the collection and the history: every user, every memory."""
        with self._write_lock:
            self._store.drop()
            self._history.reset()

    def count(self, user_id: str | None = None, agent_id: str | None = None, run_id: str | None = None) -> int:
        return self._store.count(_scope(user_id, agent_id, run_id, None).filter_expr(), fresh=False)

    def close(self) -> None:
        self._store.close()
        self._history.close()
        self._locks.close()

    def __enter__(self) -> Memory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- argument checks and result shapes ---------------------------------------------------


def _scope(user_id: str | None, agent_id: str | None, run_id: str | None, filters: Mapping[str, Any] | None) -> Scope:
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


def _normalize_messages(messages: Messages) -> list[dict[str, str]]:
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


def _checked_text(value: object, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(f"{name} must be a non-empty string")
    return check_encodable(value.strip(), name)


def _check_fits(text: str, what: str, advice: str) -> str:
    size = len(text.encode())
    if size > MAX_VARCHAR:
        raise InvalidInputError(f"a memory is at most {MAX_VARCHAR} bytes of text and {what} has {size}: {advice}")
    return text


def _checked_metadata(metadata: object) -> dict[str, Any] | None:
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


def _checked_limit(limit: object) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInputError(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return limit


def _category(metadata: Mapping[str, Any] | None) -> str:
    value = (metadata or {}).get("category")
    return value if isinstance(value, str) else ""


def _scope_keys(record: Record) -> dict[str, str]:
    return {name: getattr(record, name) for name in SCOPE_FIELDS if getattr(record, name)}


def _item(record: Record) -> MemoryItem:
    item: dict[str, Any] = {
        "id": record.id,
        "memory": record.memory,
        "hash": record.hash,
        "metadata": record.metadata,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }
    item.update(_scope_keys(record))
    return item  # type: ignore[return-value]


def _search_item(record: Record, score: float) -> SearchResult:
    item: dict[str, Any] = {
        "id": record.id,
        "memory": record.memory,
        "hash": record.hash,
        "metadata": record.metadata,
        "score": score,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }
    item.update(_scope_keys(record))
    return item  # type: ignore[return-value]
