"""Shared fixtures: the model stub on 127.0.0.1, a clean environment, real milvus-lite."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.harness.stub_openai import StubOpenAI
from memory import Memory, MemoryConfig
from memory.providers import build_embedder
from memory.store.lite import hold_file, release_file

_ENV_PREFIXES = ("OPENAI_", "MEMORY_", "MILVUS_", "CHAINLIT_", "OAUTH_", "APP_")
# Fixtures that start PostgreSQL, a Milvus server or nginx (tests/scaleout/conftest.py).
_SERVER_FIXTURES = {"pg", "pg_url", "milvus", "server_config", "cluster"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses a server fixture is marked `servers` (make test-fast leaves them out)."""
    for item in items:
        if _SERVER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.servers)


def _is_local(address: Any) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX: milvus-lite's own socket
        return True
    host = address[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(scope="session", autouse=True)
def _no_traffic_off_this_machine() -> Iterator[None]:
    """Refuse any connection that is not to loopback or a unix socket."""
    original = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        if not _is_local(address):
            raise ConnectionRefusedError(f"tests may not connect to {address!r}")
        return original(self, address)

    socket.socket.connect = guarded  # type: ignore[method-assign]
    yield
    socket.socket.connect = original  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def stub() -> Iterator[StubOpenAI]:
    server = StubOpenAI().start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def model_env(monkeypatch: pytest.MonkeyPatch, stub: StubOpenAI, tmp_path: Path) -> dict[str, str]:
    """Every test talks to the stub, never to a real endpoint; no key of the developer leaks in."""
    for key in list(os.environ):
        if key.startswith(_ENV_PREFIXES):
            monkeypatch.delenv(key)
    monkeypatch.setenv("OPENAI_BASE_URL", stub.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-stub-not-a-real-key")
    monkeypatch.setenv("MEMORY_LOCAL_ONLY", "true")
    stub.reset()
    return {"OPENAI_BASE_URL": stub.base_url, "OPENAI_API_KEY": "sk-stub-not-a-real-key", "MEMORY_LOCAL_ONLY": "true"}


@pytest.fixture(scope="session")
def shared_milvus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One milvus-lite file for the session's library tests: starting a lite server costs about
    0.5 s and creating a collection about 1 s, against a few milliseconds to empty one. Held open
    for the session, so its server outlives each test's `Memory`."""
    path = tmp_path_factory.mktemp("milvus") / "shared.db"
    hold_file(str(path))
    yield path
    release_file(str(path))


@pytest.fixture
def make_memory(tmp_path: Path, shared_milvus: Path, request: pytest.FixtureRequest) -> Iterator[Callable[..., Memory]]:
    """Build a Memory; closed after the test. Its memories are in a collection of the session's
    milvus-lite file, emptied for this test (one collection per vector width and metric), and its
    history in tmp_path/milvus.history.sqlite. A test marked `own_milvus`, or one that names a
    url, gets a milvus-lite file of its own in tmp_path (tests of the file itself: reopening,
    another process, a dying server, a collection that never held a row)."""
    made: list[Memory] = []
    emptied: set[str] = set()
    own_file = request.node.get_closest_marker("own_milvus") is not None

    def factory(config: dict[str, Any] | None = None, **memory_kwargs: Any) -> Memory:
        config = dict(config or {})
        store = dict(config.pop("vector_store", {}).get("config", {}))
        shared = not own_file and "url" not in store
        store.setdefault("url", str(shared_milvus if shared else tmp_path / "milvus.db"))
        if shared:
            config.setdefault("history_db_path", str(tmp_path / "milvus.history.sqlite"))
            probe = MemoryConfig.from_dict({**config, "vector_store": {"provider": "milvus", "config": store}})
            dims = build_embedder(probe.embedder).dims
            store.setdefault("collection_name", f"t_{dims}_{probe.vector_store.metric_type.lower()}")
        store.setdefault("collection_name", "test_memories")
        config["vector_store"] = {"provider": "milvus", "config": store}
        memory = Memory(MemoryConfig.from_dict(config), **memory_kwargs)
        made.append(memory)
        collection = store["collection_name"]
        if shared and collection not in emptied:
            memory._store._call("delete", collection, filter='id != ""')  # what earlier tests left
            emptied.add(collection)
        return memory

    yield factory
    for memory in made:
        memory.close()
