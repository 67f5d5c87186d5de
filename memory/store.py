"""The Milvus collection: fixed schema, CRUD, vector and hybrid search.

What milvus-lite 2.5.1 was found to do here, and what this module does about it (filters are in
filters.py, the one-process-per-file rule and a dying server in lite.py):
- A collection with a partition key makes every filter fail ("primary_key_offset == -1"),
  so `user_id` is the partition key on a Milvus server only.
- A JSON field holding null crashes the lite server and nullable fields are refused, so an
  absent metadata is stored as {} and read back as None.
- One insert of more than about 6 MB (1,000 rows of 1,536 dims) takes tens of seconds instead
  of a fraction of one (2,000 rows: 14 s; 5,000 rows: 90 s), so inserts go in chunks of 4 MB.
- A hybrid search concurrent with an upsert kills the lite server, and a read concurrent with an
  upsert can miss the row: the calls of one process on one location take turns (`lock`).

Search is hybrid by default: the vector leg and a BM25 leg (Milvus's own full-text function over
the `memory` field) fused by reciprocal rank. A collection made before the BM25 field existed
cannot be altered; it keeps working with vector search only.

On a Milvus server (found with Milvus 2.3.5 and milvus-lite 3.2.2's server):
- The default consistency is Bounded: a query right after an insert missed the row 20 times in
  20, so `update` after `add` failed. Reads of a read-modify-write ask for Strong consistency,
  what a user is shown for Session (`fresh=False`), and collections are created Strong.
- A server restart leaves collections released ("call load() before search"): a read that meets
  that loads the collection and is tried again.
- A server older than 2.5 has no BM25: creating the collection with it failed halfway and left a
  collection whose next load crashed the server. The server's version is read first; an older one
  gets a vector-only collection, and a creation that fails is dropped. On Milvus 2.3.5 an upsert
  also lost its row, so there an update is a delete and then an insert.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from pymilvus import AnnSearchRequest, DataType, Function, FunctionType, MilvusClient, MilvusException, RRFRanker

from .config import VectorStoreConfig
from .errors import DimensionMismatchError, InvalidInputError, StoreError
from .filters import MAX_VARCHAR, SCOPE_FIELDS, Scope, decode_scope, encode_scope, quote, validate_id
from .lite import forget_lite_server, hold_file, lite_server_exited, release_file

__all__ = ["MilvusStore", "Record"]

logger = logging.getLogger(__name__)

MAX_QUERY_WINDOW = 16_384
INSERT_CHUNK_BYTES = 4_000_000
# jieba splits Chinese and Japanese into words (the standard tokenizer keeps a whole Japanese
# sentence as one token) and splits English on spaces like the standard one; the stemmer makes
# "plays" match "playing". Chosen on LoCoMo's dev split (bench/locomo.py).
KEYWORD_ANALYZER: dict[str, Any] = {
    "tokenizer": "jieba",
    "filter": ["lowercase", {"type": "stemmer", "language": "english"}],
}
SCALAR_FIELDS = ("id", *SCOPE_FIELDS, "memory", "hash", "created_at", "updated_at", "category", "metadata")


@dataclass(frozen=True)
class Record:
    id: str
    memory: str
    hash: str
    created_at: str
    updated_at: str | None = None
    user_id: str = ""
    agent_id: str = ""
    run_id: str = ""
    category: str = ""
    metadata: dict[str, Any] | None = None
    vector: list[float] | None = field(default=None, repr=False)
    score: float | None = None

    @property
    def scope(self) -> Scope:
        return Scope(self.user_id, self.agent_id, self.run_id)


_REPEATABLE = {
    "has_collection",
    "describe_collection",
    "describe_index",
    "load_collection",
    "query",
    "search",
    "hybrid_search",
}


# The first Milvus release with BM25 full-text search (milvus-lite's own versions are 2.5 and up).
BM25_SINCE = (2, 5)
_RELEASED = ("released", "not loaded", "call load()")

_store_locks: dict[str, threading.RLock] = {}
_store_locks_guard = threading.Lock()


# pymilvus pings every 10 s even when idle; milvus-lite's local server allows one ping per 5 minutes
# without calls and answers the rest with GOAWAY "too_many_pings" (about 10 log lines in 40 minutes).
# milvus-lite 3.2.2's gRPC server does the same, and there a GOAWAY during a load test left
# pymilvus unable to open a new client ("Connection recovery failed", then "Fail connecting").
# So ping only while a call is in flight: an idle connection that died is found and reopened by
# gRPC at the next call.
GRPC_OPTIONS = {"grpc.keepalive_permit_without_calls": 0, "grpc.keepalive_time_ms": 300_000}


def _lock_for(uri: str) -> threading.RLock:
    """One lock per Milvus location in this process (see `MilvusStore.lock`)."""
    key = os.path.realpath(uri) if "://" not in uri else uri
    with _store_locks_guard:
        return _store_locks.setdefault(key, threading.RLock())


class MilvusStore:
    def __init__(self, config: VectorStoreConfig, dims: int) -> None:
        self.config = config
        self.collection = config.collection_name
        self.dims = dims
        self.keyword_search = True
        self._held_rows = False
        self._old_server: bool | None = None
        # Extra arguments of reads on a server (see the module's notes). A read-modify-write must see
        # every process's writes: Strong. What a user is shown (search, listing, counts) sees this
        # process's own writes: Session. On Milvus 2.3.5 Strong cost 200-400 ms per read, and
        # Session cost that only right after this client's own write (bench/consistency.py).
        self._read_options: dict[str, Any] = {} if config.is_lite else {"consistency_level": "Strong"}
        self._view_options: dict[str, Any] = {} if config.is_lite else {"consistency_level": "Session"}
        # On a milvus-lite file every Milvus call of this process takes this lock, and `Memory`
        # holds it across a read-modify-write. Found here with milvus-lite 2.5.1: a hybrid search
        # running while an upsert runs kills the lite server, and a read during an upsert misses the
        # row about one time in ten (an upsert is a delete, then an insert). A server serves
        # concurrent calls itself, and a scope's read-modify-writes take the scope lock (locks.py):
        # there, serializing every call of the process made threads wait on this lock for most of
        # a 50-user load test (bench/load.py, profiled with py-spy).
        self.lock: contextlib.AbstractContextManager[Any] = (
            _lock_for(config.uri) if config.is_lite else contextlib.nullcontext()
        )
        self._closed = False
        if config.is_lite:
            hold_file(config.uri)
        try:
            self._client = self._connect()
            self._ensure_collection()
        except BaseException:
            if config.is_lite:
                release_file(config.uri)
            raise

    # -- setup --------------------------------------------------------------------------

    def _connect(self) -> MilvusClient:
        try:
            return MilvusClient(uri=self.config.uri, token=self.config.token or "", grpc_options=GRPC_OPTIONS)
        except MilvusException as exc:
            raise StoreError(
                f"cannot open Milvus at {self.config.uri}: {exc.message or type(exc).__name__}. "
                "For milvus-lite give a writable path ending in .db; for a server check the URI and token"
            ) from None

    def _ensure_collection(self) -> None:
        if self._call("has_collection", self.collection):
            existing = self._existing_dims()
            if existing != self.dims:
                raise DimensionMismatchError(
                    f"collection '{self.collection}' at {self.config.uri} has dim {existing} but the "
                    f"embedder gives {self.dims}: use another collection_name, or the embedder it was built with"
                )
            metric = self._existing_metric()
            if metric and metric != self.config.metric_type:
                raise StoreError(
                    f"collection '{self.collection}' was built for metric {metric}, not "
                    f"{self.config.metric_type}: use metric_type {metric!r} or another collection_name"
                )
            self.keyword_search = "sparse" in self._existing_fields()
            if not self.keyword_search:
                logger.warning(
                    "collection '%s' at %s has no keyword (BM25) field: search uses vectors only. "
                    "Copy the memories into a new collection_name to get hybrid search",
                    self.collection,
                    self.config.uri,
                )
        else:
            self._create_collection()
        self._call("load_collection", self.collection)

    def _older_than_2_5(self) -> bool:
        """Whether this is a Milvus server older than 2.5 (read once; milvus-lite never is)."""
        if self._old_server is None:
            self._old_server = False
            if not self.config.is_lite:
                try:
                    found = server_version(str(self._client.get_server_version()))
                except MilvusException as exc:
                    logger.warning("could not read the Milvus server's version: %s", exc.message or exc)
                    found = None
                self._old_server = found is not None and found < BM25_SINCE
        return self._old_server

    def _create_collection(self) -> None:
        """Create the collection, with the BM25 field if the server has it; never leave half of one."""
        self.keyword_search = not self._older_than_2_5()  # BM25 came with 2.5; milvus-lite has it
        if not self.keyword_search:
            logger.warning(
                "the Milvus server at %s is older than %s and has no BM25 full-text search: collection '%s' "
                "uses vector search only. Upgrade the server to %s or later for hybrid search",
                self.config.uri,
                ".".join(map(str, BM25_SINCE)),
                self.collection,
                ".".join(map(str, BM25_SINCE)),
            )
        try:
            self._call(
                "create_collection",
                self.collection,
                schema=self._schema(),
                index_params=self._index_params(),
                **self._read_options,
            )
        except StoreError:
            with contextlib.suppress(Exception):
                if self._client.has_collection(self.collection):
                    self._client.drop_collection(self.collection)
            raise

    def _schema(self) -> Any:
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.VARCHAR, max_length=64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=self.dims)
        schema.add_field("user_id", DataType.VARCHAR, max_length=MAX_VARCHAR, is_partition_key=not self.config.is_lite)
        schema.add_field("agent_id", DataType.VARCHAR, max_length=MAX_VARCHAR)
        schema.add_field("run_id", DataType.VARCHAR, max_length=MAX_VARCHAR)
        if self.keyword_search:
            schema.add_field(
                "memory",
                DataType.VARCHAR,
                max_length=MAX_VARCHAR,
                enable_analyzer=True,
                analyzer_params=KEYWORD_ANALYZER,
            )
            schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        else:
            schema.add_field("memory", DataType.VARCHAR, max_length=MAX_VARCHAR)
        schema.add_field("hash", DataType.VARCHAR, max_length=64)
        schema.add_field("created_at", DataType.VARCHAR, max_length=64)
        schema.add_field("updated_at", DataType.VARCHAR, max_length=64)
        schema.add_field("category", DataType.VARCHAR, max_length=256)
        schema.add_field("metadata", DataType.JSON)
        if self.keyword_search:
            schema.add_function(
                Function(
                    name="memory_bm25",
                    function_type=FunctionType.BM25,
                    input_field_names=["memory"],
                    output_field_names=["sparse"],
                )
            )
        return schema

    def _index_params(self) -> Any:
        index = MilvusClient.prepare_index_params()
        index.add_index(
            "vector", index_type="FLAT" if self.config.is_lite else "AUTOINDEX", metric_type=self.config.metric_type
        )
        if self.keyword_search:
            index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
        return index

    def _existing_fields(self) -> dict[str, Mapping[str, Any]]:
        described = self._call("describe_collection", self.collection)
        return {str(fld.get("name")): fld for fld in described.get("fields", [])}

    def _existing_dims(self) -> int | None:
        vector = self._existing_fields().get("vector")
        return int(vector.get("params", {}).get("dim", 0)) if vector else None

    def _existing_metric(self) -> str | None:
        try:
            index = self._call("describe_index", self.collection, index_name="vector")
        except StoreError:
            return None
        metric = index.get("metric_type") if isinstance(index, Mapping) else None
        return str(metric) if metric else None

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if self._closed:
            raise StoreError("this memory store is closed")
        for attempt in (1, 2):
            try:
                with self.lock:
                    return getattr(self._client, method)(*args, **kwargs)
            except MilvusException as exc:
                failure = f"Milvus {method} on '{self.collection}' failed: {exc.message or exc}"
                if attempt == 1 and method in _REPEATABLE and self._reload_if_released(exc):
                    continue
                if attempt == 2 or not self._restart_if_dead():
                    raise StoreError(failure) from None
                if method not in _REPEATABLE:  # a write may or may not have happened: the caller settles it
                    raise StoreError(f"{failure}; the milvus-lite server had stopped and was started again") from None
        raise AssertionError("unreachable")

    def _reload_if_released(self, exc: MilvusException) -> bool:
        """Load the collection again if the server says it is released (as after a restart)."""
        if not any(sign in str(exc.message or exc) for sign in _RELEASED):
            return False
        logger.warning(
            "collection '%s' at %s was released (server restarted?): loading it again", self.collection, self.config.uri
        )
        try:
            with self.lock:
                self._client.load_collection(self.collection)
        except MilvusException as again:
            logger.warning("loading collection '%s' again failed: %s", self.collection, again.message or again)
            return False
        return True

    def _restart_if_dead(self) -> bool:
        """Start a new milvus-lite server on the file if ours has exited; True if it did."""
        if not self.config.is_lite or not lite_server_exited(self.config.uri):
            return False
        logger.warning("the milvus-lite server for %s had exited: starting a new one", self.config.uri)
        with self.lock:
            with contextlib.suppress(Exception):
                self._client.close()
            forget_lite_server(self.config.uri)
            self._client = self._connect()
            self._client.load_collection(self.collection)
        return True

    # -- writes -------------------------------------------------------------------------

    def insert(self, records: Sequence[Record]) -> None:
        """Insert in chunks of about 4 MB; if a chunk fails, the chunks already written are removed."""
        rows = [self._to_row(r) for r in records]
        per_chunk = max(1, INSERT_CHUNK_BYTES // (4 * self.dims + 1024))
        written: list[str] = []
        try:
            for start in range(0, len(rows), per_chunk):
                chunk = rows[start : start + per_chunk]
                self._call("insert", self.collection, chunk)
                written.extend(row["id"] for row in chunk)
        except BaseException:
            if written:
                self._call("delete", self.collection, ids=written)
            raise

    def upsert(self, record: Record) -> None:
        if self._older_than_2_5():
            # Milvus 2.3.5 lost the row of an upsert (10 rows, one upsert: 9; bench/consistency.py).
            # A delete, then an insert, keeps it; the history's pending rows cover the gap between.
            self._call("delete", self.collection, ids=[validate_id(record.id)])
            self._call("insert", self.collection, [self._to_row(record)])
            return
        self._call("upsert", self.collection, [self._to_row(record)])

    def delete(self, ids: Iterable[str]) -> None:
        checked = [validate_id(i) for i in ids]
        if checked:
            self._call("delete", self.collection, ids=checked)

    def drop(self) -> None:
        self._held_rows = False
        self._call("drop_collection", self.collection)
        self._create_collection()
        self._call("load_collection", self.collection)

    # -- reads --------------------------------------------------------------------------

    def get(self, ids: Sequence[str], with_vectors: bool = False) -> list[Record]:
        checked = [validate_id(i) for i in ids]
        if not checked:
            return []
        expr = "id in [" + ", ".join(quote(i) for i in checked) + "]"
        rows = self._call(
            "query",
            self.collection,
            filter=expr,
            output_fields=self._fields(with_vectors),
            limit=len(checked),
            **self._read_options,
        )
        return [self._from_row(row) for row in rows]

    def _options(self, fresh: bool) -> dict[str, Any]:
        return self._read_options if fresh else self._view_options

    def scan(self, expr: str, limit: int, with_vectors: bool = False, fresh: bool = True) -> list[Record]:
        """Rows matching `expr` (built by this module), oldest first, at most `limit`."""
        records: list[Record] = []
        offset = 0
        while len(records) < limit:
            window = min(MAX_QUERY_WINDOW - offset, limit - len(records)) if offset < MAX_QUERY_WINDOW else 0
            if window <= 0:
                break
            rows = self._call(
                "query",
                self.collection,
                filter=expr,
                output_fields=self._fields(with_vectors),
                limit=window,
                offset=offset,
                **self._options(fresh),
            )
            records.extend(self._from_row(row) for row in rows)
            if len(rows) < window:
                break
            offset += len(rows)
        records.sort(key=lambda r: r.created_at)
        return records

    def ids(self, expr: str, batch: int = 1000) -> list[str]:
        """Up to `batch` ids matching `expr`; callers that delete loop until it is empty."""
        rows = self._call(
            "query", self.collection, filter=expr, output_fields=["id"], limit=batch, **self._read_options
        )
        return [row["id"] for row in rows]

    def search(
        self, vectors: Sequence[Sequence[float]], expr: str, limit: int, fresh: bool = True
    ) -> list[list[Record]]:
        if not vectors:
            return []
        hits = self._call(
            "search",
            self.collection,
            data=[list(v) for v in vectors],
            anns_field="vector",
            filter=expr,
            limit=limit,
            output_fields=[f for f in SCALAR_FIELDS if f != "id"],
            search_params={"metric_type": self.config.metric_type},
            **self._options(fresh),
        )
        results: list[list[Record]] = []
        for per_query in hits:
            batch = []
            for hit in per_query:
                entity = dict(hit.get("entity", {}))
                entity["id"] = hit.get("id", entity.get("id"))
                batch.append(replace(self._from_row(entity), score=float(hit["distance"])))
            results.append(batch)
        return results

    def hybrid_search(
        self, vector: Sequence[float], text: str, expr: str, limit: int, rrf_k: int, fresh: bool = True
    ) -> list[Record]:
        """The vector and BM25 legs fused by reciprocal rank; each record's score is its vector score."""
        if not self._ever_held_rows():
            return self.search([vector], expr, limit, fresh)[0]
        pool = min(MAX_QUERY_WINDOW, max(2 * limit, 20))
        legs = [
            AnnSearchRequest(
                data=[list(vector)],
                anns_field="vector",
                param={"metric_type": self.config.metric_type},
                limit=pool,
                expr=expr,
            ),
            AnnSearchRequest(data=[text], anns_field="sparse", param={"metric_type": "BM25"}, limit=pool, expr=expr),
        ]
        hits = self._call(
            "hybrid_search",
            self.collection,
            legs,
            ranker=RRFRanker(rrf_k),
            limit=limit,
            output_fields=[f for f in self._fields(True) if f != "id"],
            **self._options(fresh),
        )
        entities = []
        for hit in hits[0]:
            entity = dict(hit.get("entity", {}))
            entity["id"] = hit.get("id", entity.get("id"))
            entities.append(entity)
        if not entities:
            return []
        scores = self._vector_scores(vector, np.asarray([e.pop("vector") for e in entities], dtype=np.float32))
        return [replace(self._from_row(e), score=s) for e, s in zip(entities, scores, strict=True)]

    def _ever_held_rows(self) -> bool:
        """Whether BM25 has statistics to score with: milvus-lite 2.5.1 fails a BM25 search of a
        collection that never held a row ("Invalid sparse row: NaN or Inf value")."""
        if not self._held_rows:
            self._held_rows = self.count("") > 0
        return self._held_rows

    def _vector_scores(self, query: Sequence[float], m: np.ndarray) -> list[float]:
        """What the vector leg would report: squared L2 distance, cosine similarity or inner product."""
        q = np.asarray(query, dtype=np.float32)
        if self.config.metric_type == "L2":
            scores = ((m - q) ** 2).sum(axis=1)
        elif self.config.metric_type == "COSINE":
            scores = (m @ q) / np.maximum(np.linalg.norm(m, axis=1) * np.linalg.norm(q), 1e-12)
        else:
            scores = m @ q
        return [float(s) for s in scores]

    def count(self, expr: str, fresh: bool = True) -> int:
        rows = self._call("query", self.collection, filter=expr, output_fields=["count(*)"], **self._options(fresh))
        return int(rows[0]["count(*)"]) if rows else 0

    def close(self) -> None:
        if self._closed:
            return
        try:
            self._client.close()
        finally:
            self._closed = True
            if self.config.is_lite:
                release_file(self.config.uri)

    # -- row mapping --------------------------------------------------------------------

    @staticmethod
    def _fields(with_vectors: bool) -> list[str]:
        return [*SCALAR_FIELDS, "vector"] if with_vectors else list(SCALAR_FIELDS)

    @staticmethod
    def _to_row(record: Record) -> dict[str, Any]:
        if record.vector is None:
            raise StoreError(f"memory {record.id} has no vector")
        if len(record.memory.encode()) > MAX_VARCHAR:
            raise InvalidInputError(
                f"a memory is at most {MAX_VARCHAR} bytes; this one has {len(record.memory.encode())}"
            )
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

    @staticmethod
    def _from_row(row: Mapping[str, Any]) -> Record:
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
        )


def server_version(text: str) -> tuple[int, int] | None:
    """(major, minor) of a Milvus server's version string, such as "v2.3.5-lite" or "2.5.4";
    None when it is not one (milvus-lite 3's "milvus_lite-3.2.2" is a lite engine, with BM25)."""
    match = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+].*)?", text.strip())
    return (int(match.group(1)), int(match.group(2))) if match else None
