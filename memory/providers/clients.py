"""The OpenAI SDK's two clients behind one call: its sync client, or, inside an `AsyncMemory` call,
its async client on that call's event loop.

`AsyncMemory` runs the one implementation of each method (Memory's) in a worker thread, so the
store's and the history's blocking calls never hold the event loop. The model requests of that
thread go back to the loop, to `openai.AsyncOpenAI` (one client per loop, so its connection pool
belongs to that loop), and the thread waits for their answer. The SDK's two clients have the same
methods, so a request is written once: `clients.run(lambda c: c.embeddings.create(...))`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import weakref
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

import openai

from ..errors import ModelError

__all__ = ["OpenAIClients", "requests_on"]

T = TypeVar("T")

_CALLER_LOOP: ContextVar[asyncio.AbstractEventLoop | None] = ContextVar("memory_caller_loop", default=None)
# Beyond the SDK's own timeout and retries, how much longer a worker waits for the loop's answer
# (a loop that stopped meanwhile must not leave the thread waiting for ever).
_LOOP_GRACE_S = 30.0


@contextmanager
def requests_on(loop: asyncio.AbstractEventLoop) -> Iterator[None]:
    """Within this block (in a worker thread), model requests go to the async client on `loop`."""
    token = _CALLER_LOOP.set(loop)
    try:
        yield
    finally:
        _CALLER_LOOP.reset(token)


class OpenAIClients:
    """`openai.OpenAI` made on first use, and an `openai.AsyncOpenAI` per event loop, from the same settings."""

    def __init__(self, **settings: Any) -> None:
        self._settings = settings
        self._sync: openai.OpenAI | None = None
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, openai.AsyncOpenAI] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()
        timeout = settings.get("timeout")
        attempts = 1 + int(settings.get("max_retries", 2))
        self._wait_s = (float(timeout) if isinstance(timeout, int | float) else 600.0) * attempts + _LOOP_GRACE_S

    @property
    def sync(self) -> openai.OpenAI:
        with self._lock:
            if self._sync is None:
                self._sync = openai.OpenAI(**self._settings)
            return self._sync

    def _async_client(self, loop: asyncio.AbstractEventLoop) -> openai.AsyncOpenAI:
        with self._lock:
            client = self._async.get(loop)
            if client is None:
                client = self._async[loop] = openai.AsyncOpenAI(**self._settings)
            return client

    def run(self, request: Callable[[Any], Any]) -> Any:
        """`request(client)`: with the sync client, or, in a worker of an `AsyncMemory` call, with the
        async client on the caller's loop (where `request` returns a coroutine); the SDK's errors
        come through unchanged either way."""
        loop = _CALLER_LOOP.get()
        if loop is None:
            return request(self.sync)
        if _running_loop() is loop:
            raise RuntimeError("a blocking memory call ran on the event loop it waits for: await AsyncMemory instead")

        async def on_loop() -> Any:
            answer: Awaitable[Any] = request(self._async_client(loop))
            return await answer

        try:
            return asyncio.run_coroutine_threadsafe(on_loop(), loop).result(timeout=self._wait_s)
        except concurrent.futures.TimeoutError:
            raise ModelError(f"the event loop gave no answer from the model within {self._wait_s:.0f} s") from None

    async def aclose(self) -> None:
        """Close the async client of the running loop (the sync client closes with the process)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            client = self._async.pop(loop, None)
        if client is not None:
            await client.close()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
