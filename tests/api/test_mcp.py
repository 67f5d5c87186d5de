"""The MCP server through the `mcp` SDK's own client over streamable HTTP: the tools and what they
tell a client, each token's user only, the app's name in the history, tokens and hosts checked."""

from __future__ import annotations

import asyncio
import json
import time
import traceback
from collections.abc import Callable

import pytest

from bench.harness.mcp_client import ToolFailed, call
from chatapp.api.mcp_server import MCP_PATH
from tests.api.conftest import Stack, running

TOOLS = {"add_memories", "search_memory", "list_memories", "update_memory", "delete_memories", "memory_history"}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "claude-ai", "version": "1"},
    },
}
JSON_RPC = {"content-type": "application/json", "accept": "application/json, text/event-stream"}


def test_the_tools_say_when_to_call_them(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack()

    async def scenario() -> None:
        async with running(stack), stack.mcp(stack.token("alice")) as session:
            listed = (await session.list_tools()).tools
            info = {t.name: t for t in listed}
            assert set(info) == TOOLS
            assert "before answering" in info["search_memory"].description  # type: ignore[operator]
            assert "after the user says something" in info["add_memories"].description  # type: ignore[operator]
            assert set(info["add_memories"].inputSchema["properties"]) == {"text", "infer"}
            assert info["search_memory"].inputSchema["required"] == ["query"]
            assert "Food & drink" in info["list_memories"].description  # type: ignore[operator]

    asyncio.run(scenario())


def test_add_search_update_delete_and_history_as_claude_desktop(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack()
    token = stack.token("alice", "laptop")

    async def scenario() -> None:
        async with running(stack), stack.mcp(token, client_name="claude-ai") as session:
            added = await call(session, "add_memories", text="I live in Lisbon. I love tennis.")
            assert sorted((r["event"], r["memory"]) for r in added["results"]) == [
                ("ADD", "Lives in Lisbon"),
                ("ADD", "Loves tennis"),
            ]
            found = await call(session, "search_memory", query="tennis", limit=1)
            [hit] = found["results"]
            assert hit["memory"] == "Loves tennis" and 0.5 < hit["relevance"] <= 1 and "score" in hit
            listed = await call(session, "list_memories", category="Places & travel")
            assert [(i["memory"], i["category"]) for i in listed["results"]] == [("Lives in Lisbon", "Places & travel")]
            updated = await call(session, "update_memory", memory_id=hit["id"], text="Loves tennis and padel")
            assert updated == {"message": "Memory updated successfully!"}
            history = (await call(session, "memory_history", memory_id=hit["id"]))["history"]
            assert [(h["event"], h["by"]) for h in history] == [
                ("ADD", "from Claude Desktop (token 'laptop')"),
                ("UPDATE", "from Claude Desktop (token 'laptop')"),
            ]
            gone = await call(
                session, "delete_memories", memory_ids=[hit["id"], "00000000-0000-4000-8000-000000000000"]
            )
            assert gone["deleted"] == [hit["id"]] and len(gone["not_found"]) == 1
            with pytest.raises(ToolFailed, match="is not a memory id"):
                await call(session, "update_memory", memory_id="nope", text="x")

    asyncio.run(scenario())
    assert [i["memory"] for i in stack.memory.get_all(user_id="alice")["results"]] == ["Lives in Lisbon"]
    assert stack.api.tokens.list("alice")[0]["last_client"] == "Claude Desktop"
    reads = stack.api.access.last_reads("alice")
    assert {r["by"] for r in reads.values()} == {"Claude Desktop (token 'laptop')"}


def test_a_second_users_token_sees_nothing_of_the_first(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack()
    alice_id = stack.memory.add("Has a secret garden", user_id="alice", infer=False)["results"][0]["id"]

    async def scenario() -> None:
        async with running(stack), stack.mcp(stack.token("bob")) as session:
            assert (await call(session, "search_memory", query="secret garden"))["results"] == []
            assert (await call(session, "list_memories"))["results"] == []
            for tool, arguments in (
                ("update_memory", {"memory_id": alice_id, "text": "Bob's garden"}),
                ("memory_history", {"memory_id": alice_id}),
            ):
                with pytest.raises(ToolFailed, match="no memory"):
                    await call(session, tool, **arguments)
            assert (await call(session, "delete_memories", memory_ids=[alice_id]))["not_found"] == [alice_id]

    asyncio.run(scenario())
    assert stack.memory.get(alice_id)["memory"] == "Has a secret garden"  # type: ignore[index]
    assert [h["event"] for h in stack.memory.history(alice_id)] == ["ADD"]


def test_tokens_and_hosts_are_checked_before_the_sdk_sees_a_request(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack()
    listing, token = stack.api.tokens.create("alice", "laptop")
    body = json.dumps(INITIALIZE)

    async def scenario() -> None:
        async with running(stack):
            async with stack.http() as anonymous:
                answer = await anonymous.post(MCP_PATH, content=body, headers=JSON_RPC)
                assert answer.status_code == 401 and "Bearer mcm_" in answer.json()["error"]
                assert answer.headers["www-authenticate"].startswith("Bearer")
            async with stack.http(token) as http:
                ok = await http.post(MCP_PATH, content=body, headers=JSON_RPC)
                assert ok.status_code == 200 and ok.json()["result"]["serverInfo"]["name"] == "Memory chat"
                behind_nginx = await http.post(MCP_PATH, content=body, headers={**JSON_RPC, "host": "127.0.0.1"})
                assert behind_nginx.status_code == 200, "nginx passes the host without its port"
                foreign = await http.post(MCP_PATH, content=body, headers={**JSON_RPC, "host": "evil.example"})
                assert foreign.status_code == 421, "DNS rebinding protection stays on"
                stack.api.tokens.revoke("alice", listing["id"])
                revoked = await http.post(MCP_PATH, content=body, headers=JSON_RPC)
                assert revoked.status_code == 401 and "revoked" in revoked.json()["error"]

    asyncio.run(scenario())
    assert stack.api.tokens.list("alice") == []


def test_a_revoked_token_fails_in_the_sdks_client(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack()
    listing, token = stack.api.tokens.create("alice", "laptop")
    failures: list[BaseException] = []

    async def scenario() -> None:
        async with running(stack):
            try:
                async with stack.mcp(token) as session:
                    assert (await call(session, "list_memories"))["results"] == []
                    stack.api.tokens.revoke("alice", listing["id"])
                    await asyncio.wait_for(call(session, "list_memories"), 20)
            except BaseException as exc:  # the SDK raises its transport's HTTP error in an exception group
                failures.append(exc)

    started = time.perf_counter()
    asyncio.run(scenario())
    [failure] = failures
    assert "401 Unauthorized" in "".join(traceback.format_exception(failure))
    assert time.perf_counter() - started < 10, "it fails at once, not after a timeout"
