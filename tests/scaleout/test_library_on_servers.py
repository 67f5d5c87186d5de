"""The library on a Milvus server and a PostgreSQL history: read-your-writes, a server restart,
servers without BM25, and writers in several processes."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pymilvus import MilvusClient

from bench.harness.servers import MilvusServer
from memory import Memory, MemoryConfig, StoreError
from memory.models import Record
from memory.store import MilvusStore, server_version
from tests.processes import ROOT
from tests.reliability.checks import assert_consistent

HISTORIES = ["sqlite", "postgres"]


@pytest.fixture
def history_for(pg_url: str, tmp_path: Path) -> Callable[[str], str]:
    def location(kind: str) -> str:
        return pg_url if kind == "postgres" else str(tmp_path / "history.sqlite")

    return location


def _config(base: dict[str, Any], history: str, **extra: Any) -> dict[str, Any]:
    return {**base, "history_db_path": history, **extra}


def test_an_update_right_after_an_add_reads_the_add(server_config: dict[str, Any], milvus: MilvusServer) -> None:
    with Memory.from_config(server_config) as m:
        added = m.add("Likes tennis on Sundays", user_id="alice", infer=False)["results"][0]
        assert m.update(added["id"], "Likes tennis on Saturdays") == {"message": "Memory updated successfully!"}
        assert [h["event"] for h in m.history(added["id"])] == ["ADD", "UPDATE"]
        collection = server_config["vector_store"]["config"]["collection_name"]
    client = MilvusClient(uri=milvus.uri)
    try:  # the collection itself asks for Strong consistency (level 0), whatever a client forgets
        assert client.describe_collection(collection)["consistency_level"] == 0
    finally:
        client.close()


def test_a_server_restart_does_not_stop_search(server_config: dict[str, Any], milvus: MilvusServer) -> None:
    with Memory.from_config(server_config) as m:
        m.add("Has a cat named Miso", user_id="bob", infer=False)
        milvus.start_again()  # its collections come back released
        hits = m.search("cat", user_id="bob")["results"]
        assert [h["memory"] for h in hits] == ["Has a cat named Miso"]
        assert m.get_all(user_id="bob")["results"][0]["memory"] == "Has a cat named Miso"


def test_server_versions_are_read_for_bm25() -> None:
    assert server_version("v2.3.5-lite") == (2, 3)
    assert server_version("2.5.4") == (2, 5)
    assert server_version("v2.6.0-rc1") == (2, 6)
    assert server_version("milvus_lite-3.2.2") is None  # milvus-lite's own server: BM25 included


class _OldServerStore(MilvusStore):
    """A store that believes the server is older than 2.5 (the only such server here, Milvus 2.3.5,
    binds every interface, so it runs only in bench/consistency.py's network namespace)."""

    def _older_than_2_5(self) -> bool:
        return True


def test_a_server_without_bm25_gets_a_vector_only_collection(
    server_config: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    config = MemoryConfig.from_dict(server_config)
    with caplog.at_level(logging.WARNING, logger="memory.store"):
        store = _OldServerStore(config.vector_store, dims=8)
    try:
        assert not store.keyword_search
        assert "no BM25 full-text search" in caplog.text and "vector search only" in caplog.text
        assert "sparse" not in store._existing_fields()
        # there an update is a delete and an insert (Milvus 2.3.5's upsert lost the row)
        record = Record(
            id="00000000-0000-4000-8000-000000000001",
            memory="Likes tea",
            hash="h",
            created_at="2026-12-01",
            user_id="u",
            vector=[0.1] * 8,
        )
        store.insert([record])
        store.upsert(replace(record, memory="Likes green tea", vector=[0.2] * 8))
        assert [r.memory for r in store.get(["00000000-0000-4000-8000-000000000001"])] == ["Likes green tea"]
        assert store.count('user_id == "u"') == 1
    finally:
        store.close()


class _FailingIndexStore(MilvusStore):
    def _index_params(self) -> Any:
        index = super()._index_params()
        index.add_index("hash", index_type="NO_SUCH_INDEX")
        return index


def test_a_failed_creation_leaves_no_collection(server_config: dict[str, Any], milvus: MilvusServer) -> None:
    config = MemoryConfig.from_dict(server_config)
    with pytest.raises(StoreError, match="create_collection"):
        _FailingIndexStore(config.vector_store, dims=8)
    client = MilvusClient(uri=milvus.uri)
    try:
        assert not client.has_collection(config.vector_store.collection_name)
    finally:
        client.close()
    store = MilvusStore(config.vector_store, dims=8)  # and the next start creates it whole
    try:
        assert store.keyword_search and "sparse" in store._existing_fields()
    finally:
        store.close()


# -- several processes ------------------------------------------------------------------------


def _start_workers(config: dict[str, Any], go: Path, jobs: list[list[str]]) -> list[subprocess.Popen[str]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.scaleout.worker", json.dumps(config), str(go), *job],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for job in jobs
    ]
    for worker in workers:  # every one has its Memory open before any starts writing
        assert worker.stdout is not None
        line = worker.stdout.readline().strip()
        assert line == "ready", worker.stderr.read() if worker.stderr else line
    go.touch()
    return workers


def _finish(workers: list[subprocess.Popen[str]]) -> list[Any]:
    results = []
    for worker in workers:
        out, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err[-3000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


@pytest.mark.parametrize("history", HISTORIES)
def test_four_processes_updating_the_same_memories_keep_every_history_chain(
    server_config: dict[str, Any], history_for: Callable[[str], str], history: str, tmp_path: Path
) -> None:
    config = _config(server_config, history_for(history))
    with Memory.from_config(config) as m:
        ids = [m.add(f"shared memory {n}", user_id="carol", infer=False)["results"][0]["id"] for n in range(3)]
        workers = _start_workers(
            config, tmp_path / "go", [["updates", json.dumps(ids), "8", f"p{p}"] for p in range(4)]
        )
        assert _finish(workers) == [{"updates": 24}] * 4
        assert_consistent(m, config["history_db_path"])
        for memory_id in ids:  # 1 ADD and 32 UPDATEs, each from the version before it
            assert len(m.history(memory_id)) == 33


@pytest.mark.parametrize("history", HISTORIES)
def test_three_processes_adding_the_same_facts_at_once_store_them_once(
    server_config: dict[str, Any], history_for: Callable[[str], str], history: str, tmp_path: Path
) -> None:
    config = _config(server_config, history_for(history), extractor="heuristic")
    said = "I live in Lisbon. My dog is called Rex. I love playing chess."
    users = [f"dave-{n}" for n in range(6)]
    workers = _start_workers(config, tmp_path / "go", [["add", json.dumps(users), said] for _ in range(3)])
    results = _finish(workers)
    with Memory.from_config(config) as m:
        for user in users:
            texts = [item["memory"] for item in m.get_all(user_id=user)["results"]]
            assert len(texts) == 3 and len(set(texts)) == 3, texts  # one memory per fact, whoever added it
            assert sum(1 for r in results for item in r[user] if item["event"] == "ADD") == 3
        assert_consistent(m, config["history_db_path"])


def test_a_crash_left_row_is_settled_at_the_next_start_not_ten_minutes_later(
    server_config: dict[str, Any], pg_url: str
) -> None:
    from memory.history import HistoryStore, open_database
    from memory.models import Change, Record

    config = _config(server_config, pg_url)
    with Memory.from_config(config) as m:
        kept = m.add("Drinks green tea", user_id="erin", infer=False)["results"][0]["id"]
    history = HistoryStore(open_database(pg_url))  # a writer that died after recording its change, before Milvus
    try:
        before = Record(kept, "Drinks green tea", "h", "2026-01-01T00:00:00+00:00", user_id="erin")
        history.intend([Change("DELETE", before, None, "2026-01-02T00:00:00+00:00")])
        assert len(history.pending()) == 1
    finally:
        history.close()
    with Memory.from_config(config) as m:
        assert [h["event"] for h in m.history(kept)] == ["ADD"]  # the deletion never reached Milvus: dropped
        assert m.get(kept) is not None
        assert_consistent(m, pg_url)


def test_the_server_client_pings_only_during_calls(server_config: dict[str, Any]) -> None:
    """milvus-lite 3.2.2's server answered pymilvus's idle pings with GOAWAY "too_many_pings" in a
    load test, after which pymilvus could not open a new client; the store's options stop them."""
    from memory.store import GRPC_OPTIONS

    with Memory.from_config(server_config) as m:
        options = m._store._call.client._get_connection()._grpc_options
        assert (
            options["grpc.keepalive_permit_without_calls"] == GRPC_OPTIONS["grpc.keepalive_permit_without_calls"] == 0
        )


def test_many_threads_writing_for_many_users_on_postgres_do_not_starve_each_other(
    server_config: dict[str, Any], pg_url: str
) -> None:
    """Each held advisory lock keeps a connection: with the locks on the history's pool (8), 16
    threads could all hold locks and wait for a connection to write their history."""
    from concurrent.futures import ThreadPoolExecutor

    config = _config(server_config, pg_url)
    with Memory.from_config(config) as m, ThreadPoolExecutor(16) as pool:
        results = list(
            pool.map(lambda n: m.add(f"Collects stamps from country {n}", user_id=f"many-{n}", infer=False), range(32))
        )
        assert all(r["results"][0]["event"] == "ADD" for r in results)
        assert_consistent(m, pg_url)
