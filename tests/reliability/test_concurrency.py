"""Concurrency: 50 adds, updates and deletes at once, through two `Memory` objects on one file."""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.harness.stub_openai import StubOpenAI
from memory import Memory
from tests.reliability.checks import assert_consistent


def _extract_the_item(body: dict[str, Any]) -> dict[str, Any]:
    """The stub's extraction: ADD the item the user's message names (so each add is distinct)."""
    prompt = "\n".join(str(m.get("content", "")) for m in body["messages"])
    item = re.search(r"I collect (item \d+)", prompt)
    return {"operations": [{"event": "ADD", "id": None, "text": f"Collects {item.group(1)}" if item else ""}]}


def test_fifty_concurrent_writes_are_all_kept_with_their_history_in_order(
    make_memory: Callable[..., Memory], stub: StubOpenAI, tmp_path: Path
) -> None:
    first, second = make_memory(), make_memory()  # two Memory objects on one milvus-lite file
    seeded = {
        n: first.add(f"seed memory number {n}", user_id=f"user-{n % 5}", infer=False)["results"][0]["id"]
        for n in range(20)
    }
    stub.json_reply = _extract_the_item

    def work(task: tuple[str, int]) -> tuple[str, int, Any]:
        kind, n = task
        m = (first, second)[(n // 10 + n) % 2]  # a seed's updates alternate between the two objects
        if kind == "update":  # seeds 0-9, three times each
            seed = n % 10
            return kind, n, m.update(seeded[seed], f"seed memory number {seed}, version {n}")
        if kind == "delete":  # seeds 10-19
            return kind, n, m.delete(seeded[n])
        if kind == "add-raw":
            return kind, n, m.add(f"raw note number {n}", user_id=f"user-{n % 5}", infer=False)
        return kind, n, m.add(f"I collect item {n}.", user_id=f"user-{n % 5}")  # one LLM extraction each

    tasks = (
        [("update", seed + 10 * j) for seed in range(10) for j in range(3)]  # a seed's three updates at once
        + [("delete", n) for n in range(10, 20)]
        + [("add-raw", n) for n in range(5)]
        + [("add-llm", n) for n in range(5)]
    )
    assert len(tasks) == 50
    with ThreadPoolExecutor(max_workers=16) as pool:
        done = list(pool.map(work, tasks))  # any exception ("database is locked", ...) fails here

    memories = assert_consistent(first, tmp_path / "milvus.history.sqlite")
    texts = {m["memory"] for items in memories.values() for m in items}
    assert {f"raw note number {n}" for n in range(5)} <= texts
    assert {f"Collects item {n}" for n in range(5)} <= texts
    assert all(second.get(seeded[n]) is None for n in range(10, 20))
    for seed in range(10):
        history = first.history(seeded[seed])
        assert [h["event"] for h in history] == ["ADD", "UPDATE", "UPDATE", "UPDATE"], "every update recorded"
        versions = {f"seed memory number {seed}, version {n}" for n in range(30) if n % 10 == seed}
        assert {h["new_memory"] for h in history[1:]} == versions
        assert first.get(seeded[seed])["memory"] == history[-1]["new_memory"]  # type: ignore[index]
    assert sum(1 for kind, _, _ in done if kind.startswith("add")) == 10


def test_reads_during_updates_always_see_the_memory(make_memory: Callable[..., Memory], tmp_path: Path) -> None:
    """milvus-lite 2.5.1 lost the row to about one read in ten during an upsert, and a hybrid search
    during an upsert killed its server; the store makes them take turns."""
    writer, reader = make_memory(), make_memory()
    memory_id = writer.add("version 0 of a memory", user_id="alice", infer=False)["results"][0]["id"]
    misses: list[str] = []

    def read(round_: int) -> None:
        if reader.get(memory_id) is None:
            misses.append(f"get {round_}")
        if not reader.get_all(user_id="alice")["results"]:
            misses.append(f"get_all {round_}")
        if not reader.search("version of a memory", user_id="alice")["results"]:
            misses.append(f"search {round_}")

    with ThreadPoolExecutor(max_workers=4) as pool:
        reads = [pool.submit(read, n) for n in range(150)]
        for n in range(100):
            writer.update(memory_id, f"version {n + 1} of a memory")
        for done in reads:
            done.result()
    assert misses == []
    assert writer.get(memory_id)["memory"] == "version 100 of a memory"  # type: ignore[index]
    assert len(writer.history(memory_id)) == 101
    assert_consistent(writer, tmp_path / "milvus.history.sqlite")
