"""Session-wide servers on 127.0.0.1 for the scale-out tests: PostgreSQL 15 and a Milvus server."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.harness.servers import MilvusServer, Postgres, RunningCluster, app_cluster, milvus_server, postgres
from bench.harness.stub_openai import StubOpenAI
from tests.browser.conftest import browser

__all__ = ["browser"]


@pytest.fixture(scope="session")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    with postgres(tmp_path_factory.mktemp("postgres")) as server:
        yield server


@pytest.fixture(scope="session")
def milvus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MilvusServer]:
    with milvus_server(tmp_path_factory.mktemp("milvus-server")) as server:
        yield server


_databases = iter(range(1, 10_000))


@pytest.fixture
def pg_url(pg: Postgres) -> str:
    """A fresh database for one test."""
    return pg.create_database(f"t{next(_databases)}")


@pytest.fixture
def collection(request: pytest.FixtureRequest) -> str:
    """A collection name of this test's own on the shared Milvus server."""
    name = request.node.name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return "t_" + "".join(c if c.isalnum() else "_" for c in name)[:50] + "_" + digest


@pytest.fixture
def server_config(milvus: MilvusServer, collection: str, tmp_path: Path) -> dict[str, object]:
    return {
        "vector_store": {"provider": "milvus", "config": {"url": milvus.uri, "collection_name": collection}},
        "history_db_path": str(tmp_path / "history.sqlite"),
    }


@pytest.fixture(scope="package")
def cluster(pg: Postgres, milvus: MilvusServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCluster]:
    """`python -m chatapp.cluster --processes 2` behind nginx, shared by test_cluster.py and
    test_api_cluster.py (each test has users of its own)."""
    stub = StubOpenAI().start()
    try:
        with app_cluster(tmp_path_factory.mktemp("cluster"), pg.create_database("cluster"), milvus, stub, 2) as running:
            yield running
    finally:
        stub.stop()
