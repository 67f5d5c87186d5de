"""An MCP client over streamable HTTP with a bearer token (the `mcp` SDK's own client), as Claude
Desktop, Cursor or VS Code connect to /memory/mcp; used by the tests and bench/api.py."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.types import Implementation, TextContent

__all__ = ["ToolFailed", "call", "mcp_session"]


class ToolFailed(Exception):
    """A tool answered with an error (its text is the server's message)."""


@asynccontextmanager
async def mcp_session(
    url: str, token: str, client_name: str = "mcp", timeout: float = 60
) -> AsyncIterator[ClientSession]:
    """An initialized session with /memory/mcp at `url` (e.g. http://127.0.0.1:8000/memory/mcp);
    `client_name` is what the client calls itself ("claude-ai" is Claude Desktop)."""
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(timeout)) as http,
        streamable_http_client(url, http_client=http) as (read, write, _),
        ClientSession(read, write, client_info=Implementation(name=client_name, version="1.0")) as session,
    ):
        await session.initialize()
        yield session


async def call(session: ClientSession, tool: str, **arguments: Any) -> Any:
    """A tool's structured result; ToolFailed with the server's message when the tool failed."""
    result = await session.call_tool(tool, arguments)
    text = "\n".join(c.text for c in result.content if isinstance(c, TextContent))
    if result.isError:
        raise ToolFailed(text)
    if result.structuredContent is not None:
        return result.structuredContent.get("result", result.structuredContent)
    return json.loads(text)
