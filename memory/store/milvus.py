"""The Milvus collection: CRUD, vector and hybrid search, over a fixed schema (schema.py), rows
(rows.py), filters built from values (filters.py) and a client with a retry policy (calls.py).

- One insert of more than about 6 MB (1,000 rows of 1,536 dims) takes milvus-lite 2.5.1 tens of
  seconds instead of a fraction of one (2,000 rows: 14 s; 5,000 rows: 90 s): inserts go in 4 MB chunks.
- Search is hybrid by default: the vector leg and a BM25 leg (Milvus's own full-text function over
  the `memory` field) fused by reciprocal rank. A collection made before the BM25 field existed
  cannot be altered; it keeps working with vector search only.
- On a Milvus server (found with Milvus 2.3.5 and milvus-lite 3.2.2's server) the default
  consistency is Bounded: a query right after an insert missed the row 20 times in 20, so
  `update` after `add` failed. Reads of a read-modify-write ask for Strong consistency, what a
  user is shown for Session (`fresh=False`; on 2.3.5 Strong cost 200-400 ms per read, Session
  that only right after this client's own write, bench/consistency.py), and collections are
  created Strong. On Milvus 2.3.5 an upsert also lost its row, so there an update is a delete
  and then an insert.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from pymilvus import AnnSearchRequest, MilvusException, RRFRanker

from ..config import VectorStoreConfig
from ..errors import DimensionMismatchError, StoreError
from ..models import Record, validate_id
from .calls import MilvusCalls
from .filters import ids_filter
from .lite import hold_file, release_file
from .rows import SCALAR_FIELDS, fields, from_row, hit_entity, to_row, vector_scores
from .schema import BM25_SINCE, build_schema, index_params, server_version

__all__ = ["MilvusStore"]

logger = logging.getLogger(__name__)

MAX_QUERY_WINDOW = 16_384
INSERT_CHUNK_BYTES = 4_000_000


class MilvusStore:
    def __init__(self, config: VectorStoreConfig, dims: int) -> None:
        self.config = config
        self.collection = config.collection_name
        self.dims = dims
        self.keyword_search = True
        self._held_rows = False
        self._old_server: bool | None = None
        # Extra arguments of reads on a server: Strong for a read-modify-write, Session for what a user is shown.
        self._read_options: dict[str, Any] = {} if config.is_lite else {"consistency_level": "Strong"}
        self._view_options: dict[str, Any] = {} if config.is_lite else {"consistency_level": "Session"}
        if config.is_lite:
            hold_file(config.uri)
        try:
            self._call = MilvusCalls(config, self.collection)
            self._ensure_collection()
        except BaseException:
            if config.is_lite:
                release_file(config.uri)
            raise

    @property
    def lock(self) -> contextlib.AbstractContextManager[Any]:
        """Held by every call on a milvus-lite file, and by `Memory` across a read-modify-write."""
        return self._call.lock

    @property
    def call_counts(self) -> Mapping[str, int]:
        """Milvus calls made so far, by method."""
        return self._call.counts

    # -- setup --------------------------------------------------------------------------

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
                    found = server_version(str(self._call.client.get_server_version()))
                except MilvusException as exc:
                    logger.warning("could not read the Milvus server's version: %s", exc.message or exc)
                    found = None
                self._old_server = found is not None and found < BM25_SINCE
        return self._old_server

    def _create_collection(self) -> None:
        """Create the collection, with the BM25 field if the server has it; never leave half of one."""
        self.keyword_search = not self._older_than_2_5()
        if not self.keyword_search:
            since = ".".join(map(str, BM25_SINCE))
            logger.warning(
                "the Milvus server at %s is older than %s and has no BM25 full-text search: collection '%s' "
                "uses vector search only. Upgrade the server to %s or later for hybrid search",
                self.config.uri,
                since,
                self.collection,
                since,
            )
        on_server = not self.config.is_lite
        try:
            self._call(
                "create_collection",
                self.collection,
                schema=build_schema(self.dims, on_server, self.keyword_search),
                index_params=self._index_params(),
                **self._read_options,
            )
        except StoreError:
            with contextlib.suppress(Exception):
                if self._call.client.has_collection(self.collection):
                    self._call.client.drop_collection(self.collection)
            raise

    def _index_params(self) -> Any:
        return index_params(self.config.metric_type, not self.config.is_lite, self.keyword_search)

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

    # -- writes -------------------------------------------------------------------------

    def insert(self, records: Sequence[Record]) -> None:
        """Insert in chunks of about 4 MB; if a chunk fails, the chunks already written are removed."""
        rows = [to_row(r) for r in records]
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
            self._call("insert", self.collection, [to_row(record)])
            return
        self._call("upsert", self.collection, [to_row(record)])

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

    def _options(self, fresh: bool) -> dict[str, Any]:
        return self._read_options if fresh else self._view_options

    def get(self, ids: Sequence[str], with_vectors: bool = False) -> list[Record]:
        if not ids:
            return []
        rows = self._call(
            "query",
            self.collection,
            filter=ids_filter(ids),
            output_fields=fields(with_vectors),
            limit=len(ids),
            **self._read_options,
        )
        return [from_row(row) for row in rows]

    def scan(self, expr: str, limit: int, with_vectors: bool = False, fresh: bool = True) -> list[Record]:
        """Rows matching `expr` (built by filters.py), oldest first, at most `limit`."""
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
                output_fields=fields(with_vectors),
                limit=window,
                offset=offset,
                **self._options(fresh),
            )
            records.extend(from_row(row) for row in rows)
            if len(rows) < window:
                break
            offset += len(rows)
        records.sort(key=lambda r: r.created_at)
        return records

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
        return [[from_row(hit_entity(hit), float(hit["distance"])) for hit in per_query] for per_query in hits]

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
            output_fields=[f for f in fields(True) if f != "id"],
            **self._options(fresh),
        )
        entities = [hit_entity(hit) for hit in hits[0]]
        if not entities:
            return []
        matrix = np.asarray([e.pop("vector") for e in entities], dtype=np.float32)
        scores = vector_scores(self.config.metric_type, vector, matrix)
        return [from_row(e, s) for e, s in zip(entities, scores, strict=True)]

    def _ever_held_rows(self) -> bool:
        """Whether BM25 has statistics to score with: milvus-lite 2.5.1 fails a BM25 search of a
        collection that never held a row ("Invalid sparse row: NaN or Inf value")."""
        if not self._held_rows:
            self._held_rows = self.count("") > 0
        return self._held_rows

    def count(self, expr: str, fresh: bool = True) -> int:
        rows = self._call("query", self.collection, filter=expr, output_fields=["count(*)"], **self._options(fresh))
        return int(rows[0]["count(*)"]) if rows else 0

    def close(self) -> None:
        if self._call.closed:
            return
        try:
            self._call.close()
        finally:
            if self.config.is_lite:
                release_file(self.config.uri)
