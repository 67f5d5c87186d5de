"""What the REST API and the MCP server do, once: find the caller from a token, then act on that
user's memories only, through AsyncMemory, with every change recorded as made by the caller's app
("from Claude Desktop (token 'laptop')") and every read in the access log."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from chatapp.api.access import AccessLog
from chatapp.api.sources import REST_CLIENT, app_source, client_label
from chatapp.api.tokens import TOKEN_PREFIX, Caller, TokenStore
from chatapp.categories import categorize
from chatapp.transfer import export_document, texts_to_import
from memory import (
    AddResult,
    AsyncMemory,
    GetAllResults,
    HistoryEntry,
    MemoryItem,
    MemoryNotFoundError,
    MessageResult,
    SearchResults,
)

__all__ = ["ApiError", "MemoryApi", "RateLimit", "Via"]

Via = Literal["mcp", "rest"]
EXPORT_LIMIT = 16_384
IMPORT_BATCH = 100


class ApiError(Exception):
    """A refusal with its HTTP status: 401 (no or bad token), 429 (too fast), 413 (too large)."""

    def __init__(self, status: int, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


@dataclass
class RateLimit:
    """At most `per_minute` requests per token in any 60 s, in this process (each process of a
    cluster counts its own)."""

    per_minute: int
    _seen: defaultdict[str, deque[float]] | None = None

    def check(self, key: str) -> None:
        if self._seen is None:
            self._seen = defaultdict(deque)
        now = time.monotonic()
        seen = self._seen[key]
        while seen and seen[0] <= now - 60:
            seen.popleft()
        if len(seen) >= self.per_minute:
            retry_after = max(1, int(seen[0] + 60 - now) + 1)
            raise ApiError(
                429, f"more than {self.per_minute} requests a minute with this token: wait {retry_after} s", retry_after
            )
        seen.append(now)


class MemoryApi:
    def __init__(self, memory: AsyncMemory, tokens: TokenStore, access: AccessLog, rate: RateLimit) -> None:
        self.memory = memory
        self.tokens = tokens
        self.access = access
        self.rate = rate

    # -- who is calling -------------------------------------------------------------------

    async def authenticate(self, authorization: str | None, mcp_client: object = None) -> Caller:
        """The caller whose token is in an `Authorization: Bearer ...` header. `mcp_client` is what an
        MCP client called itself in its `initialize` request, kept as the token's app."""
        scheme, _, secret = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise ApiError(
                401,
                f"send a token as 'Authorization: Bearer {TOKEN_PREFIX}...'; make one in the app's Memories panel, "
                "under Connect an app",
            )
        caller = await asyncio.to_thread(self.tokens.verify, secret.strip())
        if caller is None:
            raise ApiError(401, "this token is unknown or was revoked: make a new one in the Memories panel")
        self.rate.check(caller.token_id)
        client = client_label(mcp_client) if mcp_client is not None else None
        if self.tokens.use_is_news(caller, client):
            await asyncio.to_thread(self.tokens.note_use, caller, client)
        if client is not None and client != caller.last_client:
            return Caller(caller.user_id, caller.token_id, caller.token_name, caller.last_used_at, client)
        return caller

    @staticmethod
    def source(caller: Caller, via: Via) -> str:
        """What the history records as the author of a change made by this caller."""
        client = REST_CLIENT if via == "rest" else (caller.last_client or client_label(None))
        return app_source(client, caller.token_name)

    async def _read(self, caller: Caller, via: Via, ids: Sequence[str]) -> None:
        await asyncio.to_thread(self.access.record, caller.user_id, ids, self.source(caller, via))

    # -- the memories ---------------------------------------------------------------------

    async def add(
        self, caller: Caller, via: Via, messages: str | list[dict[str, Any]], *, infer: bool = True,
        metadata: dict[str, Any] | None = None,
    ) -> AddResult:  # fmt: skip
        return await self.memory.add(
            messages, user_id=caller.user_id, metadata=metadata, infer=infer, source=self.source(caller, via)
        )

    async def search(self, caller: Caller, via: Via, query: str, limit: int = 10) -> SearchResults:
        found = await self.memory.search(query, user_id=caller.user_id, limit=limit)
        await self._read(caller, via, [r["id"] for r in found["results"]])
        return found

    async def list_memories(
        self, caller: Caller, via: Via, category: str | None = None, limit: int = 100
    ) -> GetAllResults:
        """The user's memories, oldest first; with `category`, those of that category (as the panel
        assigns them: "Food & drink", "Work", ...; case does not matter)."""
        if category is None:
            found = await self.memory.get_all(user_id=caller.user_id, limit=limit)
        else:
            everything = await self.memory.get_all(user_id=caller.user_id, limit=EXPORT_LIMIT)
            wanted = category.strip().casefold()
            kept = [i for i in everything["results"] if categorize(i["memory"], i["metadata"]).casefold() == wanted]
            found = {"results": kept[:limit]}
        await self._read(caller, via, [r["id"] for r in found["results"]])
        return found

    async def get(self, caller: Caller, via: Via, memory_id: str) -> MemoryItem:
        item = await self.memory.get(memory_id, user_id=caller.user_id)
        if item is None:
            raise MemoryNotFoundError(f"no memory {memory_id} for this token's user")
        await self._read(caller, via, [item["id"]])
        return item

    async def update(
        self, caller: Caller, via: Via, memory_id: str, text: str, metadata: dict[str, Any] | None = None
    ) -> MessageResult:
        return await self.memory.update(
            memory_id, text, user_id=caller.user_id, metadata=metadata, source=self.source(caller, via)
        )

    async def delete(self, caller: Caller, via: Via, memory_id: str) -> MessageResult:
        return await self.memory.delete(memory_id, user_id=caller.user_id, source=self.source(caller, via))

    async def history(self, caller: Caller, via: Via, memory_id: str) -> list[HistoryEntry]:
        """The memory's changes, oldest first, each with its `source` (who made it)."""
        entries = await self.memory.history(memory_id, user_id=caller.user_id, with_source=True)
        await self._read(caller, via, [memory_id])
        return entries

    async def export(self, caller: Caller, via: Via) -> dict[str, Any]:
        items = (await self.memory.get_all(user_id=caller.user_id, limit=EXPORT_LIMIT))["results"]
        histories = await self.memory.histories([i["id"] for i in items], user_id=caller.user_id)
        await self._read(caller, via, [i["id"] for i in items])
        return export_document(caller.user_id, items, histories)

    async def import_(self, caller: Caller, via: Via, document: object) -> dict[str, Any]:
        """Each text of an export file (or a JSON list of texts) that the user does not hold yet is
        added as it is (no extraction). TransferError for a file that cannot be read."""
        wanted, entries = texts_to_import(document)
        held = {i["memory"] for i in (await self.memory.get_all(user_id=caller.user_id, limit=EXPORT_LIMIT))["results"]}
        new = [t for t in wanted if t not in held]
        added: list[str] = []
        for start in range(0, len(new), IMPORT_BATCH):
            batch = [{"role": "user", "content": t} for t in new[start : start + IMPORT_BATCH]]
            result = await self.memory.add(batch, user_id=caller.user_id, infer=False, source=self.source(caller, via))
            added.extend(r["id"] for r in result["results"])
        skipped = entries - len(new)
        message = f"Imported {len(new)} memories" + (f"; {skipped} already held or empty." if skipped else ".")
        return {"imported": len(new), "skipped": skipped, "ids": added, "message": message}
