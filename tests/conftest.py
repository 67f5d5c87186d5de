"""Shared fixtures: the model stub on 127.0.0.1, a clean environment, real milvus-lite."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from memory import Memory, MemoryConfig
from tests.stub_openai import StubOpenAI

_ENV_PREFIXES = ("OPENAI_", "MEMORY_", "MILVUS_", "CHAINLIT_", "OAUTH_", "APP_")


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


@pytest.fixture
def make_memory(tmp_path: Path) -> Iterator[Callable[..., Memory]]:
    """Build a Memory on a milvus-lite file in tmp_path; closed after the test."""
    made: list[Memory] = []

    def factory(config: dict[str, Any] | None = None, **memory_kwargs: Any) -> Memory:
        config = dict(config or {})
        store = dict(config.pop("vector_store", {}).get("config", {}))
        store.setdefault("url", str(tmp_path / "milvus.db"))
        store.setdefault("collection_name", "test_memories")
        config["vector_store"] = {"provider": "milvus", "config": store}
        memory = Memory(MemoryConfig.from_dict(config), **memory_kwargs)
        made.append(memory)
        return memory

    yield factory
    for memory in made:
        memory.close()
