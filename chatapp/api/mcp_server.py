"""The MCP server at /memory/mcp (streamable HTTP, in the app's own process and port): six tools on
the calling token's user's memories.

Stateless, with JSON answers: every request stands alone, so any process behind the proxy can
serve it (MCP clients send no cookie, so nginx's sticky route does not hold them), and a revoked
token fails at the next request, whichever process gets it. Tool results are JSON text without an
output schema: the SDK checks structured results with jsonschema on both sides, about 2 ms a call
here (bench/api.py), and a model reads the text anyway. The token is checked here before the
SDK sees the request; its `initialize` tells which app is calling ("claude-ai": Claude Desktop).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from mcp.server.fastmcp import Context, FastMCP
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.datastructures import Headers
from starlette.types import Receive, Scope, Send

from chatapp.api.errors import error_response
from chatapp.api.limits import read_body, replay
from chatapp.api.service import ApiError, MemoryApi
from chatapp.api.settings import ApiSettings
from chatapp.api.sources import app_source_label
from chatapp.api.tokens import Caller
from chatapp.categories import CATEGORIES, categorize
from chatapp.sidebar import SOURCE_LABEL
from chatapp.turn import relevance
from memory import MemoryLayerError, MemoryNotFoundError

__all__ = ["MCP_PATH", "McpEndpoint", "build_mcp"]

MCP_PATH = "/memory/mcp"
INSTRUCTIONS = """This server is the user's long-term memory, shared with their chat app and their other
AI apps. Search it before answering anything that may depend on who the user is or what they told
you before; add to it when the user states something lasting about themselves. Every change is
shown to the user with this app's name, and they can undo it."""


def _caller(ctx: Context) -> Caller:  # type: ignore[type-arg]
    request = ctx.request_context.request
    caller = request.scope.get("state", {}).get("caller") if request is not None else None
    if not isinstance(caller, Caller):
        raise ApiError(401, "no token: this tool is reached only through /memory/mcp with a token")
    return caller


def build_mcp(api: MemoryApi, settings: ApiSettings) -> tuple[FastMCP, StreamableHTTPSessionManager]:  # type: ignore[type-arg]
    mcp: FastMCP = FastMCP(  # type: ignore[type-arg]
        name="Memory chat",
        instructions=INSTRUCTIONS,
        stateless_http=True,
        json_response=True,
        streamable_http_path=MCP_PATH,
        max_request_body_size=settings.max_body_bytes,
        transport_security=TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=settings.host_patterns,
            allowed_origins=settings.origin_patterns,
        ),
    )
    metric = api.memory.config.vector_store.metric_type

    @mcp.tool(
        structured_output=False,
        description="Remember what the user stated about themselves. Call it after the user says something that "
        "should matter in later conversations: a fact about them (name, home, work, family), a preference or dislike, "
        "a plan or date, a decision, or a correction of something remembered. Pass the user's own statement as `text`. "
        "Do not call it for questions, passing remarks, or what you said yourself. With infer=true (the default) the "
        "facts are extracted, and a remembered fact they contradict is updated or deleted; infer=false keeps `text` "
        "as one memory, word for word. Returns the operations applied (ADD, UPDATE with previous_memory, DELETE).",
    )
    async def add_memories(text: str, ctx: Context, infer: bool = True) -> dict[str, Any]:  # type: ignore[type-arg]
        return dict(await api.add(_caller(ctx), "mcp", text, infer=infer))

    @mcp.tool(
        structured_output=False,
        description="Search the user's memories by meaning and keywords. Call it before answering anything that may "
        'depend on the user: their preferences, people, places, plans, projects, or what they told you before ("what '
        'should I cook", "book my usual hotel", "as I said last week"). Use the user\'s words, or the topic, as '
        "`query`. Returns the closest memories first, each with `relevance` (cosine similarity: 1 is the same meaning; "
        "below about 0.3 is unrelated).",
    )
    async def search_memory(query: str, ctx: Context, limit: int = 10) -> dict[str, Any]:  # type: ignore[type-arg]
        found = await api.search(_caller(ctx), "mcp", query, limit)
        return {
            "results": [
                {**hit, "relevance": round(relevance(float(hit["score"]), metric), 3)} for hit in found["results"]
            ]
        }

    @mcp.tool(
        structured_output=False,
        description="List everything remembered about the user, oldest first, each with its category ("
        + ", ".join(CATEGORIES)
        + "). Call it when the user asks what you know about them, or before cleaning up. `category` keeps one "
        "category.",
    )
    async def list_memories(ctx: Context, category: str | None = None) -> dict[str, Any]:  # type: ignore[type-arg]
        found = await api.list_memories(_caller(ctx), "mcp", category, limit=1000)
        return {"results": [{**i, "category": categorize(i["memory"], i["metadata"])} for i in found["results"]]}

    @mcp.tool(
        structured_output=False,
        description='Replace one memory\'s text, when the user corrects or refines it ("I moved to Porto", "it\'s '
        'Tuesdays now"). `memory_id` comes from search_memory or list_memories. The old text stays in its history.',
    )
    async def update_memory(memory_id: str, text: str, ctx: Context) -> dict[str, Any]:  # type: ignore[type-arg]
        return dict(await api.update(_caller(ctx), "mcp", memory_id, text))

    @mcp.tool(
        structured_output=False,
        description="Forget memories: call it when the user asks you to forget something, or a memory is plainly "
        "wrong and the user agrees. `memory_ids` come from search_memory or list_memories. Deleted memories stay in "
        "the user's Recently deleted, where they can restore them.",
    )
    async def delete_memories(memory_ids: list[str], ctx: Context) -> dict[str, Any]:  # type: ignore[type-arg]
        caller = _caller(ctx)
        deleted, missing = [], []
        for memory_id in dict.fromkeys(memory_ids):
            try:
                await api.delete(caller, "mcp", memory_id)
                deleted.append(memory_id)
            except MemoryNotFoundError:
                missing.append(memory_id)
        noun = "memory" if len(deleted) == 1 else "memories"
        message = f"Deleted {len(deleted)} {noun}" + (f"; {len(missing)} not found." if missing else ".")
        return {"deleted": deleted, "not_found": missing, "message": message}

    @mcp.tool(
        structured_output=False,
        description="How one memory changed over time and who changed it (the chat, the user in the panel, or an "
        "app such as this one), oldest first. Call it when the user asks when or how something was learned.",
    )
    async def memory_history(memory_id: str, ctx: Context) -> dict[str, Any]:  # type: ignore[type-arg]
        entries = await api.history(_caller(ctx), "mcp", memory_id)
        return {"history": [{**e, "by": _who(str(e.get("source") or ""))} for e in entries]}

    # The SDK logs two INFO lines for every request of a stateless server ("Processing request of type
    # ...", "Terminating session: None"): keep its warnings only.
    logging.getLogger("mcp.server").setLevel(logging.WARNING)
    mcp.streamable_http_app()  # makes the session manager
    return mcp, mcp.session_manager


def _who(source: str) -> str:
    return app_source_label(source) or SOURCE_LABEL.get(source, source or "unknown")


class McpEndpoint:
    """The ASGI app at /memory/mcp: the token checked (401, 429) before the SDK's session manager
    handles the request; the caller is handed to the tools in the request's state."""

    def __init__(self, api: MemoryApi, manager: StreamableHTTPSessionManager, max_body_bytes: int) -> None:
        self.api = api
        self.manager = manager
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.manager.handle_request(scope, receive, send)
            return
        try:
            body = await read_body(scope, receive, self.max_body_bytes) if scope["method"] == "POST" else b""
            caller = await self.api.authenticate(Headers(scope=scope).get("authorization"), _declared_client(body))
        except (ApiError, MemoryLayerError) as exc:
            await error_response(exc)(scope, receive, send)
            return
        scope = {**scope, "state": {**scope.get("state", {}), "caller": caller}}
        await self.manager.handle_request(scope, replay(body, receive), send)


def _declared_client(body: bytes) -> object:
    """What an `initialize` request says the client is (`clientInfo.name`); None for other requests."""
    if b'"initialize"' not in body:
        return None
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    for message in parsed if isinstance(parsed, list) else [parsed]:
        if isinstance(message, dict) and message.get("method") == "initialize":
            info = (message.get("params") or {}).get("clientInfo") or {}
            return info.get("name") if isinstance(info, dict) else None
    return None
