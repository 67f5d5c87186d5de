"""The MCP server and the REST API behind the shipped nginx config, with two app processes on
PostgreSQL and a Milvus server: the `mcp` SDK's client through nginx (whose Host header has no port:
the SDK answered 421 until its allowed hosts were set), requests spread over both processes, a
revoked token refused at once by every process, and a 503 when Milvus is gone."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.harness.apprunner import ROOT
from bench.harness.mcp_client import ToolFailed, call, mcp_session
from bench.harness.servers import RunningCluster, milvus_server
from bench.harness.stub_openai import StubOpenAI
from chatapp.api.access import AccessLog
from chatapp.api.rest import build_rest_app
from chatapp.api.service import MemoryApi, RateLimit
from chatapp.api.tokens import TokenStore
from chatapp.database import open_app_database
from memory import AsyncMemory, Memory, MemoryConfig

pytestmark = pytest.mark.slow


def apptoken(cluster: RunningCluster, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("APP_", "DATABASE_"))}
    env.update({"DATABASE_URL": cluster.database, "APP_DATA_DIR": str(cluster.run_dir.parent / "data")})
    done = subprocess.run(
        [sys.executable, "-m", "chatapp.apptoken", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_mcp_through_nginx_on_two_processes(cluster: RunningCluster) -> None:
    erin, frank = apptoken(cluster, "api-erin", "laptop"), apptoken(cluster, "api-frank", "laptop")
    url = cluster.url + "/memory/mcp"

    async def scenario() -> dict[str, Any]:
        async with mcp_session(url, erin, client_name="cursor-vscode") as session:
            tools = {t.name for t in (await session.list_tools()).tools}
            added = [
                await call(session, "add_memories", text=f"Has a plant named Leaf{n}", infer=False) for n in range(6)
            ]
            found = await call(session, "search_memory", query="plant named Leaf3", limit=1)
            memory_id = found["results"][0]["id"]
            await call(session, "update_memory", memory_id=memory_id, text="Has a cactus named Leaf3")
            history = await call(session, "memory_history", memory_id=memory_id)
        async with mcp_session(url, frank) as session:
            frank_sees = (await call(session, "search_memory", query="plant Leaf"))["results"]
            with pytest.raises(ToolFailed, match="no memory"):
                await call(session, "update_memory", memory_id=memory_id, text="Frank's now")
        async with mcp_session(url, erin) as session:
            await call(session, "delete_memories", memory_ids=[memory_id])
            left = (await call(session, "list_memories"))["results"]
        return locals()

    seen = asyncio.run(scenario())
    assert len(seen["tools"]) == 6 and all(a["results"][0]["event"] == "ADD" for a in seen["added"])
    assert [h["by"] for h in seen["history"]["history"]] == ["from Cursor (token 'laptop')"] * 2
    assert seen["frank_sees"] == []
    assert sorted(i["memory"] for i in seen["left"]) == sorted(f"Has a plant named Leaf{n}" for n in (0, 1, 2, 4, 5))
    upstreams = set(re.findall(r"POST /memory/mcp 200 up=(\S+)", cluster.access_log()))
    assert len(upstreams) == 2, f"MCP requests went to one process only: {upstreams}"
    with Memory(MemoryConfig.from_dict(cluster.memory_config)) as m:
        assert m.get(seen["memory_id"]) is None and len(m.get_all(user_id="api-erin")["results"]) == 5


def test_a_revoked_token_is_refused_at_once_by_every_process(cluster: RunningCluster) -> None:
    token = apptoken(cluster, "api-gina", "phone")
    headers = {"Authorization": f"Bearer {token}"}
    fronts = [cluster.url, *cluster.app_urls]
    for url in fronts:
        assert httpx.get(url + "/api/v1/memories", headers=headers, timeout=30).status_code == 200, url
    added = httpx.post(cluster.url + "/api/v1/memories", headers=headers, json={"messages": "I like figs"}, timeout=30)
    assert added.status_code == 200 and added.json()["results"][0]["memory"] == "Likes figs"
    apptoken(cluster, "api-gina", "--revoke", "phone")
    for url in fronts:
        refused = httpx.get(url + "/api/v1/memories", headers=headers, timeout=30)
        assert refused.status_code == 401 and "revoked" in refused.json()["error"], url
        mcp = httpx.post(
            url + "/memory/mcp",
            headers={**headers, "accept": "application/json, text/event-stream"},
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            timeout=30,
        )
        assert mcp.status_code == 401, url


def test_the_api_answers_503_when_milvus_is_gone(tmp_path: Path, stub: StubOpenAI) -> None:
    with milvus_server(tmp_path / "milvus") as server:
        config = {
            "vector_store": {"provider": "milvus", "config": {"url": server.uri, "collection_name": "gone"}},
            "history_db_path": str(tmp_path / "history.sqlite"),
            "extractor": "heuristic",
        }
        memory = Memory(MemoryConfig.from_dict(config))
        database = open_app_database(str(tmp_path / "app.db"))
        api = MemoryApi(AsyncMemory(memory=memory), TokenStore(database), AccessLog(database), RateLimit(600))
        token = api.tokens.create("hana", "laptop")[1]
        app = build_rest_app(api, 1_000_000)

        async def search() -> httpx.Response:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:  # not mounted
                return await http.get("/search", params={"query": "figs"}, headers={"Authorization": f"Bearer {token}"})

        try:
            assert asyncio.run(search()).status_code == 200
            server.stop()
            answer = asyncio.run(search())
        finally:
            memory.close()
    assert answer.status_code == 503, answer.text
    assert answer.json()["type"] == "StoreError" and "Milvus" in answer.json()["error"]
