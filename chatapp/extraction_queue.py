"""Extraction after each reply, in the background: one at a time per user, in order."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from memory import AddResult, AsyncMemory

__all__ = ["ExtractionQueue"]

logger = logging.getLogger(__name__)

OnDone = Callable[[AddResult | None, BaseException | None], Awaitable[None]]


class ExtractionQueue:
    def __init__(self, memory: AsyncMemory) -> None:
        self._memory = memory
        self._tails: dict[str, asyncio.Task[Any]] = {}

    def submit(self, user_id: str, messages: list[dict[str, str]], on_done: OnDone) -> asyncio.Task[Any]:
        """Queue an `add` for this user behind the ones already queued; never raises."""
        previous = self._tails.get(user_id)

        async def run() -> None:
            if previous is not None:
                await asyncio.wait([previous])
            result: AddResult | None = None
            error: BaseException | None = None
            try:
                result = await self._memory.add(messages, user_id=user_id, source="chat")
            except Exception as exc:
                logger.exception("memory extraction failed for a turn of %r", user_id)
                error = exc
            try:
                await on_done(result, error)
            except Exception:
                logger.exception("the extraction notice could not be shown")

        task = asyncio.create_task(run())
        self._tails[user_id] = task
        task.add_done_callback(lambda t: self._tails.get(user_id) is t and self._tails.pop(user_id, None))
        return task

    async def drain(self) -> None:
        """Wait for every queued extraction (tests, shutdown)."""
        while self._tails:
            await asyncio.wait(list(self._tails.values()))
