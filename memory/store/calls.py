"""How the store calls Milvus: one client, a retry policy, and who may call at the same time.

- A milvus-lite file: every call of this process takes one lock per file. Found with milvus-lite
  2.5.1: a hybrid search running while an upsert runs kills the lite server, and a read during an
  upsert misses the row about one time in ten (an upsert is a delete, then an insert). If the lite
  server dies, a new one is started on the file and a read is tried again.
- A server serves concurrent calls itself (serializing them made threads wait on that lock for
  most of a 50-user load test, bench/load.py). A server restart leaves collections released
  ("call load() before search"): a read that meets that loads the collection and tries again.
- pymilvus pings every 10 s even when idle; milvus-lite's local server allows one ping per 5
  minutes without calls and answers the rest with GOAWAY "too_many_pings". milvus-lite 3.2.2's
  gRPC server does the same, and there a GOAWAY during a load test left pymilvus unable to open a
  new client. So the client pings only while a call is in flight.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections import Counter
from typing import Any

from pymilvus import MilvusClient, MilvusException

from ..config import VectorStoreConfig
from ..errors import StoreError
from .lite import forget_lite_server, lite_server_exited

__all__ = ["GRPC_OPTIONS", "MilvusCalls"]

logger = logging.getLogger(__name__)

GRPC_OPTIONS = {"grpc.keepalive_permit_without_calls": 0, "grpc.keepalive_time_ms": 300_000}
# Calls that change nothing, so they may be tried again.
_REPEATABLE = {
    "has_collection",
    "describe_collection",
    "describe_index",
    "load_collection",
    "query",
    "search",
    "hybrid_search",
}
_RELEASED = ("released", "not loaded", "call load()")

_location_locks: dict[str, threading.RLock] = {}
_location_locks_guard = threading.Lock()


def _lock_for(uri: str) -> threading.RLock:
    key = os.path.realpath(uri) if "://" not in uri else uri
    with _location_locks_guard:
        return _location_locks.setdefault(key, threading.RLock())


class MilvusCalls:
    """The client of one collection's location, with the retry policy; counts its calls by method."""

    def __init__(self, config: VectorStoreConfig, collection: str) -> None:
        self.config = config
        self.collection = collection
        self.counts: Counter[str] = Counter()
        # On a milvus-lite file, `Memory` also holds this lock across a read-modify-write.
        self.lock: contextlib.AbstractContextManager[Any] = (
            _lock_for(config.uri) if config.is_lite else contextlib.nullcontext()
        )
        self._closed = False
        self._client = self._connect()

    def _connect(self) -> MilvusClient:
        try:
            return MilvusClient(uri=self.config.uri, token=self.config.token or "", grpc_options=GRPC_OPTIONS)
        except MilvusException as exc:
            raise StoreError(
                f"cannot open Milvus at {self.config.uri}: {exc.message or type(exc).__name__}. "
                "For milvus-lite give a writable path ending in .db; for a server check the URI and token"
            ) from None

    @property
    def client(self) -> MilvusClient:
        return self._client

    def __call__(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if self._closed:
            raise StoreError("this memory store is closed")
        for attempt in (1, 2):
            try:
                with self.lock:
                    self.counts[method] += 1
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

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        self._closed = True
        self._client.close()
