"""The API of the real app (Chainlit's server, uvicorn, the app's own process and port), with real
clients: the `mcp` SDK over streamable HTTP at /memory/mcp and httpx at /api/v1; tokens made with
`python -m chatapp.apptoken`. Behind nginx, with two processes: tests/scaleout/test_api_cluster.py."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bench.harness.apprunner import ROOT, RunningApp, start_app, stop_app
from bench.harness.mcp_client import ToolFailed, call, mcp_session
from bench.harness.stub_openai import StubOpenAI

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    stub = StubOpenAI().start()
    running = start_app(tmp_path_factory.mktemp("api-app") / "data", stub)
    yield running
    stop_app(running)
    stub.stop()


def apptoken(app: RunningApp, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("APP_", "DATABASE_"))}
    env["APP_DATA_DIR"] = str(app.data_dir)
    return subprocess.run(
        [sys.executable, "-m", "chatapp.apptoken", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def make_token(app: RunningApp, user: str, name: str) -> str:
    done = apptoken(app, user, name)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_mcp_tools_on_the_running_app(app: RunningApp) -> None:
    alice, bob = make_token(app, "alice", "laptop"), make_token(app, "bob", "laptop")
    url = app.url + "/memory/mcp"

    async def scenario() -> dict[str, Any]:
        async with mcp_session(url, alice, client_name="claude-code") as session:
            tools = {t.name for t in (await session.list_tools()).tools}
            added = await call(session, "add_memories", text="I work at a bakery in Porto.")
            found = await call(session, "search_memory", query="bakery", limit=1)
            memory_id = found["results"][0]["id"]
            await call(session, "update_memory", memory_id=memory_id, text="Works at a bakery in Lisbon")
            history = await call(session, "memory_history", memory_id=memory_id)
        async with mcp_session(url, bob) as session:
            seen_by_bob = {
                "search": await call(session, "search_memory", query="bakery"),
                "list": await call(session, "list_memories"),
            }
            with pytest.raises(ToolFailed, match="no memory"):
                await call(session, "memory_history", memory_id=memory_id)
            bob_delete = await call(session, "delete_memories", memory_ids=[memory_id])
        async with mcp_session(url, alice) as session:
            deleted = await call(session, "delete_memories", memory_ids=[memory_id])
            left = await call(session, "list_memories")
        return locals()

    seen = asyncio.run(scenario())
    assert seen["tools"] == {
        "add_memories", "search_memory", "list_memories", "update_memory", "delete_memories", "memory_history"
    }  # fmt: skip
    assert [r["event"] for r in seen["added"]["results"]] == ["ADD"]
    assert [h["by"] for h in seen["history"]["history"]] == ["from Claude Code (token 'laptop')"] * 2
    assert seen["seen_by_bob"] == {"search": {"results": []}, "list": {"results": []}}
    assert seen["bob_delete"]["not_found"] == [seen["memory_id"]], "bob cannot delete alice's memory"
    assert seen["deleted"]["deleted"] == [seen["memory_id"]]
    assert seen["left"]["results"] == []


def test_rest_on_the_running_app_and_a_revoked_token(app: RunningApp) -> None:
    token = make_token(app, "carol", "scripts")
    with httpx.Client(base_url=app.url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
        added = http.post("/api/v1/memories", json={"messages": "Prefers aisle seats", "infer": False})
        assert added.status_code == 200 and added.json()["results"][0]["memory"] == "Prefers aisle seats"
        assert http.get("/api/v1/search", params={"query": "aisle"}).json()["results"][0]["memory"] == (
            "Prefers aisle seats"
        )
        unknown = http.get("/api/v1/nothing-here")
        assert unknown.status_code == 404 and unknown.headers["content-type"].startswith("application/json")
        docs = httpx.get(app.url + "/api/v1", follow_redirects=True)
        assert docs.status_code == 200 and "openapi.json" in docs.text
        listed = apptoken(app, "carol", "--list")
        assert listed.returncode == 0 and listed.stdout.startswith("scripts\t…") and "last used 20" in listed.stdout
        assert apptoken(app, "carol", "--revoke", "scripts").returncode == 0
        refused = http.get("/api/v1/memories")
        assert refused.status_code == 401 and "revoked" in refused.json()["error"]
    assert apptoken(app, "carol", "--revoke", "scripts").returncode == 1
    assert "already have a token" in apptoken(app, "dave", "x").stderr + apptoken(app, "dave", "x").stderr


def test_chainlits_own_routes_are_untouched(app: RunningApp) -> None:
    page = httpx.get(app.url + "/", timeout=30)
    assert page.status_code == 200 and "<html" in page.text.lower()
    chainlit_mcp = httpx.post(app.url + "/mcp", json={}, timeout=30)  # Chainlit's MCP client route, not ours
    assert chainlit_mcp.status_code != 404 and "Bearer mcm_" not in chainlit_mcp.text
