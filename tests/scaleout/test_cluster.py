"""Two app processes behind nginx (`python -m chatapp.cluster --processes 2`), on PostgreSQL and a
Milvus server, all on 127.0.0.1: chat, the panel's actions, a thread moving between processes,
another user refused, one user writing from both processes at once, and every step stored."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import psycopg
import pytest

from bench.harness.apprunner import ARTIFACTS
from bench.harness.chat_client import ChatClient
from bench.harness.servers import RunningCluster
from memory import Memory, MemoryConfig
from tests.reliability.checks import assert_consistent

pytestmark = pytest.mark.slow


async def _chat(url: str, user: str, text: str) -> tuple[ChatClient, Any]:
    client = ChatClient(url, user)
    await client.login()
    await client.connect()
    turn = await client.say(text, wait_for_memory=30)
    return client, turn


def test_clients_spread_over_both_processes_chat_and_get_their_memory_notices(cluster: RunningCluster) -> None:
    async def run() -> list[Any]:
        results = await asyncio.gather(
            *(_chat(cluster.url, f"spread-{n}", f"I live in town number {n}.") for n in range(6))
        )
        for client, _ in results:
            await client.close()
        return [turn for _, turn in results]

    turns = asyncio.run(run())
    for turn in turns:
        assert turn.errors == [] and turn.reply, turn
        assert turn.notice and "changes" in turn.notice, turn
    upstreams = {up for up, _ in re.findall(r"up=(\S+) route=(\S+)", cluster.access_log()) if up != "-"}
    assert len(upstreams) == 2, f"every client went to one process: {upstreams}"
    with Memory(MemoryConfig.from_dict(cluster.memory_config)) as m:
        for n in range(6):
            assert [i["memory"] for i in m.get_all(user_id=f"spread-{n}")["results"]] == [f"Lives in town number {n}"]


def test_the_panel_actions_work_through_the_proxy(cluster: RunningCluster) -> None:
    async def run() -> list[tuple[int, Any]]:
        statuses = []
        clients = []
        for n in range(4):  # enough sessions that both processes hold some
            client = ChatClient(cluster.url, f"panel-{n}")
            await client.login()
            await client.connect()
            await asyncio.sleep(0.5)
            clients.append(client)
            statuses.append(await client.action("memory_action", {"op": "add", "text": f"Plays the cello, take {n}"}))
        for client in clients:
            await client.close()
        return statuses

    statuses = asyncio.run(run())
    assert [s for s, _ in statuses] == [200] * 4, statuses
    assert all(body["response"]["ok"] for _, body in statuses), statuses
    with Memory(MemoryConfig.from_dict(cluster.memory_config)) as m:
        for n in range(4):
            assert [i["memory"] for i in m.get_all(user_id=f"panel-{n}")["results"]] == [f"Plays the cello, take {n}"]


def test_a_thread_started_on_one_process_resumes_on_the_other_and_only_for_its_owner(cluster: RunningCluster) -> None:
    first, second = cluster.app_urls

    async def run() -> tuple[Any, dict[str, Any], str]:
        client, turn = await _chat(first, "mover", "My favourite colour is teal.")
        await client.close()
        again = ChatClient(second, "mover")
        await again.login()
        thread = await again.resume(turn.thread_id)
        reply = await again.say("What is my favourite colour?")
        await again.close()
        stranger = ChatClient(second, "stranger")
        await stranger.login()
        refused = ""
        try:
            await stranger.connect(turn.thread_id)
        except Exception as exc:  # socket.io refuses the connection
            refused = str(exc) or type(exc).__name__
        await stranger.close()
        return reply, thread, refused

    reply, thread, refused = asyncio.run(run())
    outputs = [s.get("output") for s in thread["steps"]]
    assert "My favourite colour is teal." in outputs
    assert reply.errors == [] and reply.reply
    assert refused, "another user opened the thread"


def test_one_user_writing_from_both_processes_at_once_keeps_memories_and_history_whole(
    cluster: RunningCluster,
) -> None:
    facts = [f"I own a boat named Wave{n}." for n in range(6)]

    async def run() -> None:
        clients = []
        for url in cluster.app_urls:
            client = ChatClient(url, "both")
            await client.login()
            await client.connect()
            clients.append(client)
        for n in range(0, len(facts), 2):  # the same moment on both processes, twice the same fact too
            await asyncio.gather(*(c.say(facts[n + i], wait_for_memory=30) for i, c in enumerate(clients)))
            await asyncio.gather(*(c.say(facts[n], wait_for_memory=30) for c in clients))
        for client in clients:
            await client.close()

    asyncio.run(run())
    with Memory(MemoryConfig.from_dict(cluster.memory_config)) as m:
        texts = [i["memory"] for i in m.get_all(user_id="both")["results"]]
        assert sorted(texts) == sorted({f"Owns a boat named Wave{n}" for n in range(6)}), texts
        assert_consistent(m, cluster.database)


def test_every_step_of_a_turn_is_stored_in_postgres(cluster: RunningCluster) -> None:
    async def run() -> Any:
        client, _ = await _chat(cluster.url, "stored", "I work as a baker.")
        turn = await client.say("What do I do for work?", wait_for_memory=5)
        await client.close()
        return turn

    turn = asyncio.run(run())
    with psycopg.connect(cluster.database) as db:
        steps = db.execute(
            'SELECT type, name FROM steps WHERE "threadId" = %s ORDER BY "createdAt"', (turn.thread_id,)
        ).fetchall()
        elements = db.execute('SELECT name FROM elements WHERE "threadId" = %s', (turn.thread_id,)).fetchall()
    types = [t for t, _ in steps]
    assert types.count("user_message") == 2 and types.count("assistant_message") == 2, steps
    assert any(name.startswith("Recalled ") for _, name in steps), steps  # the step Chainlit's docs schema drops
    assert ("MemoryNotice",) in elements
    assert "An error occurred" not in cluster.app_logs() and "unexpected error" not in cluster.app_logs()


def test_chromium_through_the_proxy(cluster: RunningCluster, browser: Any) -> None:
    from playwright.sync_api import expect

    from tests.browser.ui import expect_notice, login, open_memories, send

    page = login(browser, cluster, "browser-user")
    send(page, "I have a parrot called Kiwi.")
    expect_notice(page, "Has a parrot called Kiwi")
    open_memories(page)
    expect(page.get_by_test_id("memory-sidebar")).to_contain_text("Has a parrot called Kiwi")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "cluster-desktop.png"))
    page.reload()
    expect(page.locator("#chat-input")).to_be_visible()
    open_memories(page)
    expect(page.get_by_test_id("memory-sidebar")).to_contain_text("Has a parrot called Kiwi")
    page.context.close()
