"""AsyncMemory: the tutorial's methods as coroutines, over the one implementation `Memory` has.

Mem0 keeps a second, async copy of its whole class, and the two drifted (its async `search` lost
`filters=`). Here every coroutine is made from the `Memory` method of the same name, with its
signature and its documentation: the method runs in a worker thread of this object's own, so the
store's and the history's blocking calls never hold the event loop, while its model requests are
sent back to the caller's loop, to the OpenAI SDK's async client (providers/clients.py).

>>> m = AsyncMemory.from_config({"vector_store": {"provider": "milvus", "config": {"url": "./milvus.db"}}})
>>> await m.add("I am working on improving my tennis skills.", user_id="alice")
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Concatenate, ParamSpec, TypeVar

from ._memory import Memory
from .config import MemoryConfig
from .providers import requests_on

__all__ = ["AsyncMemory"]

P = ParamSpec("P")
R = TypeVar("R")

# Worker threads per AsyncMemory: calls beyond this wait their turn. A thread waits for the model
# during an `add`, and milvus-lite's calls of one process take turns anyway.
DEFAULT_WORKERS = 32


def _coroutine(
    method: Callable[Concatenate[Memory, P], R],
) -> Callable[Concatenate[AsyncMemory, P], Coroutine[Any, Any, R]]:
    """`Memory.<name>` as a coroutine method: the same signature, documentation and code."""
    name = method.__name__

    @functools.wraps(method)
    async def call(self: AsyncMemory, /, *args: P.args, **kwargs: P.kwargs) -> R:
        bound: Callable[..., R] = getattr(self.sync, name)
        return await self._in_worker(bound, *args, **kwargs)

    return call


class AsyncMemory:
    """`Memory`, awaitable. Built from a config (as `Memory` is), or over an open `Memory`, which
    then serves both kinds of caller (`.sync` is that object)."""

    def __init__(
        self, config: MemoryConfig | None = None, *, memory: Memory | None = None, workers: int = DEFAULT_WORKERS
    ) -> None:
        if memory is not None and config is not None:
            raise ValueError("give a config or an open Memory, not both")
        self.sync = memory if memory is not None else Memory(config)
        self._owns_memory = memory is None
        self._workers = ThreadPoolExecutor(workers, thread_name_prefix="async-memory")

    @classmethod
    def from_config(cls, config_dict: Mapping[str, Any]) -> AsyncMemory:
        return cls(MemoryConfig.from_dict(config_dict))

    @property
    def config(self) -> MemoryConfig:
        return self.sync.config

    @property
    def extractor_name(self) -> str:
        return self.sync.extractor_name

    async def _in_worker(self, method: Callable[..., R], *args: Any, **kwargs: Any) -> R:
        loop = asyncio.get_running_loop()

        def work() -> R:
            with requests_on(loop):
                return method(*args, **kwargs)

        return await loop.run_in_executor(self._workers, work)

    add = _coroutine(Memory.add)
    get = _coroutine(Memory.get)
    get_all = _coroutine(Memory.get_all)
    search = _coroutine(Memory.search)
    update = _coroutine(Memory.update)
    delete = _coroutine(Memory.delete)
    delete_all = _coroutine(Memory.delete_all)
    history = _coroutine(Memory.history)
    histories = _coroutine(Memory.histories)
    deleted = _coroutine(Memory.deleted)
    restore = _coroutine(Memory.restore)
    count = _coroutine(Memory.count)
    reset = _coroutine(Memory.reset)
    warm_up = _coroutine(Memory.warm_up)

    async def close(self) -> None:
        """Close the async model clients of this loop, then the `Memory` if this object opened it."""
        await self.sync.embedder.aclose()
        await self.sync._chat.aclose()
        if self._owns_memory:
            await self._in_worker(self.sync.close)
        self._workers.shutdown(wait=False)

    async def __aenter__(self) -> AsyncMemory:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
