"""The API in this process: the REST app and the MCP endpoint over a real Memory (milvus-lite) and a
real app database (SQLite), served through httpx's ASGI transport; the app's own server is tried in
test_running_app.py and, behind nginx, in tests/scaleout/test_api_cluster.py."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.types import Implementation
from starlette.applications import Starlette
from starlette.routing import Mount, Route

from chatapp.api.access import AccessLog
from chatapp.api.mcp_server import MCP_PATH, McpEndpoint, build_mcp
from chatapp.api.rest import API_PREFIX, build_rest_app
from chatapp.api.service import MemoryApi, RateLimit
from chatapp.api.settings import ApiSettings
from chatapp.api.tokens import TokenStore
from chatapp.database import open_app_database
from memory import AsyncMemory, Database, Memory

BASE_URL = "http://127.0.0.1:8000"


@dataclass
class Stack:
    api: MemoryApi
    memory: Memory
    database: Database
    app: Starlette
    settings: ApiSettings

    def token(self, user: str, name: str = "laptop") -> str:
        return self.api.tokens.create(user, name)[1]

    def http(self, token: str | None = None, **headers: str) -> httpx.AsyncClient:
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=BASE_URL, headers=headers)

    @asynccontextmanager
    async def mcp(self, token: str, client_name: str = "mcp") -> AsyncIterator[ClientSession]:
        async with (
            self.http(token) as http,
            streamable_http_client(BASE_URL + MCP_PATH, http_client=http) as (read, write, _),
            ClientSession(read, write, client_info=Implementation(name=client_name, version="1")) as session,
        ):
            await session.initialize()
            yield session


@pytest.fixture
def make_stack(make_memory: Callable[..., Memory], tmp_path: Path) -> Callable[..., Stack]:
    """A fresh API over the heuristic extractor ("I live in Lisbon" -> "Lives in Lisbon"); its MCP
    session manager runs inside `stack.app`'s lifespan (httpx's transport does not run it: tests
    enter `running(stack)`)."""

    def build(settings: ApiSettings | None = None) -> Stack:
        settings = settings or ApiSettings()
        memory = make_memory({"extractor": "heuristic"})
        database = open_app_database(str(tmp_path / "app.db"))
        api = MemoryApi(
            AsyncMemory(memory=memory), TokenStore(database), AccessLog(database), RateLimit(settings.rate_per_minute)
        )
        _, manager = build_mcp(api, settings)
        app = Starlette(
            routes=[
                Route(MCP_PATH, endpoint=McpEndpoint(api, manager, settings.max_body_bytes)),
                Mount(API_PREFIX, app=build_rest_app(api, settings.max_body_bytes)),
            ],
            lifespan=lambda _: manager.run(),
        )
        return Stack(api, memory, database, app, settings)

    return build


@asynccontextmanager
async def running(stack: Stack) -> AsyncIterator[Stack]:
    """The stack's lifespan (its MCP session manager) for the length of the block."""
    async with stack.app.router.lifespan_context(stack.app):
        yield stack
