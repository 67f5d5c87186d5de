"""What the MCP server and the REST API cost over the library, and how they hold under concurrent
clients: the real app (its own process, uvicorn, milvus-lite) on the stub model, 10,000 memories.

1. Latency: the same search queries (limit 10) through `Memory.search` in this process (before the
   app opens the file), then through MCP `search_memory` (the `mcp` SDK's client, streamable HTTP)
   and REST `POST /api/v1/search` against the running app, one call at a time.
2. Load: N concurrent MCP clients of N users, each making CALLS calls, add_memories and
   search_memory in turn: errors, results of another user, and adds missing from the user's
   memories afterwards (read back through REST).

    python -m bench.api --size 10000 --queries 200 --clients 50 --calls 20
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from bench.common import percentile, print_table, write_json
from bench.harness.apprunner import start_app, stop_app
from bench.harness.mcp_client import call, mcp_session
from bench.harness.stub_openai import StubOpenAI
from chatapp.api.tokens import TokenStore
from chatapp.database import open_app_database
from chatapp.settings import AppSettings
from memory import Memory
from memory.models import Record, text_hash

USERS = 100
FILL_BATCH = 5_000


def _app_env(data_dir: Path, stub: StubOpenAI) -> dict[str, str]:
    """The settings start_app gives the app (bench/harness/apprunner.py)."""
    return {
        "APP_DATA_DIR": str(data_dir),
        "MEMORY_EXTRACTOR": "heuristic",
        "MEMORY_LOCAL_ONLY": "true",
        "OPENAI_BASE_URL": stub.base_url,
        "OPENAI_API_KEY": "sk-stub-not-a-real-key",
    }


def _fill(memory: Memory, size: int) -> None:
    """SIZE memories over USERS users, random unit vectors through the store (as bench/turn.py)."""
    rng = np.random.default_rng(7)
    now = "2026-12-01T00:00:00+00:00"
    for offset in range(0, size, FILL_BATCH):
        count = min(FILL_BATCH, size - offset)
        vectors = rng.standard_normal((count, memory.embedder.dims)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        records = []
        for i in range(count):
            n = offset + i
            text = f"memory number {n} about topic {n % 97}"
            records.append(Record(id=str(uuid.uuid4()), memory=text, hash=text_hash(text), created_at=now,
                                  user_id=f"user-{n % USERS}", vector=vectors[i].tolist()))  # fmt: skip
        memory._store.insert(records)  # the public add() would embed every text first


def _queries(count: int) -> list[tuple[str, str]]:
    rng = random.Random(11)
    return [
        (f"user-{rng.randrange(10)}", f"What did I say about topic {rng.randrange(97)}? ({i})") for i in range(count)
    ]


def _library_search(memory: Memory, queries: list[tuple[str, str]]) -> list[float]:
    memory.search("warm up", user_id="user-0", limit=10)
    times = []
    for user, text in queries:
        start = time.perf_counter()
        memory.search(text, user_id=user, limit=10)
        times.append((time.perf_counter() - start) * 1000)
    return times


async def _mcp_search(url: str, tokens: dict[str, str], queries: list[tuple[str, str]]) -> list[float]:
    times: list[float] = []
    users = sorted({u for u, _ in queries})
    async with _sessions(url, {u: tokens[u] for u in users}) as sessions:
        await call(sessions[users[0]], "search_memory", query="warm up", limit=10)
        for user, text in queries:
            start = time.perf_counter()
            found = await call(sessions[user], "search_memory", query=text, limit=10)
            times.append((time.perf_counter() - start) * 1000)
            assert all(r["user_id"] == user for r in found["results"])
    return times


def _sessions(url: str, tokens: dict[str, str]) -> Any:
    from contextlib import AsyncExitStack, asynccontextmanager

    @asynccontextmanager
    async def opened() -> Any:
        async with AsyncExitStack() as stack:
            yield {u: await stack.enter_async_context(mcp_session(url, t, "bench")) for u, t in tokens.items()}

    return opened()


async def _rest_search(base: str, tokens: dict[str, str], queries: list[tuple[str, str]]) -> list[float]:
    times = []
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        await http.post("/api/v1/search", json={"query": "warm up"}, headers=_auth(tokens["user-0"]))
        for user, text in queries:
            start = time.perf_counter()
            answer = await http.post("/api/v1/search", json={"query": text, "limit": 10}, headers=_auth(tokens[user]))
            times.append((time.perf_counter() - start) * 1000)
            answer.raise_for_status()
    return times


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _client(url: str, user: str, token: str, calls: int, seen: dict[str, Any]) -> None:
    """One MCP client of `user`: add and search in turn; what it added, the errors and foreign hits."""
    async with mcp_session(url, token, "bench-load") as session:
        for i in range(calls):
            start = time.perf_counter()
            try:
                if i % 2 == 0:
                    town = f"Town{user.split('-')[1]}y{i}"
                    result = await call(
                        session, "add_memories", text=f"I have been to a city called {town} number {i * 7}."
                    )
                    seen["sent"] += 1
                    seen["unchanged"] += not result["results"]
                    seen["added"].extend((user, r["id"], r["memory"]) for r in result["results"])
                else:
                    town = f"Town{user.split('-')[1]}y{i - 1}"
                    found = await call(session, "search_memory", query=f"a city called {town}", limit=5)
                    seen["foreign"] += sum(r["user_id"] != user for r in found["results"])
                    seen["hits"] += len(found["results"])
            except Exception as exc:
                seen["errors"].append(f"{user} call {i}: {type(exc).__name__}: {str(exc)[:200]}")
            seen["times"].append((time.perf_counter() - start) * 1000)


async def _load(base: str, tokens: dict[str, str], clients: int, calls: int) -> dict[str, Any]:
    seen: dict[str, Any] = {"added": [], "errors": [], "foreign": 0, "hits": 0, "times": [], "sent": 0, "unchanged": 0}
    users = [f"user-{n}" for n in range(clients)]
    start = time.perf_counter()
    await asyncio.gather(*(_client(base + "/memory/mcp", u, tokens[u], calls, seen) for u in users))
    wall = time.perf_counter() - start
    lost = 0
    async with httpx.AsyncClient(base_url=base, timeout=120) as http:
        for user in users:
            held = (await http.get("/api/v1/memories", params={"limit": 2000}, headers=_auth(tokens[user]))).json()
            ids = {i["id"] for i in held["results"]}
            lost += sum(1 for u, memory_id, _ in seen["added"] if u == user and memory_id not in ids)
    return {
        "clients": clients,
        "calls_per_client": calls,
        "calls": clients * calls,
        "errors": len(seen["errors"]),
        "error_samples": seen["errors"][:5],
        "cross_user_results": seen["foreign"],
        "search_hits": seen["hits"],
        "adds_sent": seen["sent"],
        "adds_extracting_nothing": seen["unchanged"],
        "changes_applied": len(seen["added"]),
        "adds_lost": lost,
        "call_p50_ms": percentile(seen["times"], 50),
        "call_p95_ms": percentile(seen["times"], 95),
        "calls_per_s": clients * calls / wall,
        "wall_s": wall,
    }


def run(size: int, queries: int, clients: int, calls: int) -> dict[str, Any]:
    stub = StubOpenAI().start()
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        data_dir = Path(tmp) / "data"
        env = _app_env(data_dir, stub)
        settings = AppSettings.from_env(env)
        data_dir.mkdir(parents=True)
        asked = _queries(queries)
        with Memory(settings.memory_config(env)) as memory:
            _fill(memory, size)
            library = _library_search(memory, asked)
        database = open_app_database(str(settings.database_file))
        tokens = {f"user-{n}": TokenStore(database).create(f"user-{n}", "bench")[1] for n in range(USERS)}
        database.close()
        app = start_app(data_dir, stub)
        try:
            mcp = asyncio.run(_mcp_search(app.url + "/memory/mcp", tokens, asked))
            rest = asyncio.run(_rest_search(app.url, tokens, asked))
            load = asyncio.run(_load(app.url, tokens, clients, calls))
        finally:
            stop_app(app)
            stub.stop()
    latency = {
        "size": size,
        "queries": queries,
        "library_p50_ms": percentile(library, 50),
        "library_p95_ms": percentile(library, 95),
        "mcp_p50_ms": percentile(mcp, 50),
        "mcp_p95_ms": percentile(mcp, 95),
        "rest_p50_ms": percentile(rest, 50),
        "rest_p95_ms": percentile(rest, 95),
    }
    latency["mcp_over_library_p95_ms"] = latency["mcp_p95_ms"] - latency["library_p95_ms"]
    latency["rest_over_library_p95_ms"] = latency["rest_p95_ms"] - latency["library_p95_ms"]
    return {"latency": latency, "load": load}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--out")
    args = parser.parse_args()
    if not 1 <= args.clients <= USERS:
        parser.error(f"--clients is 1 to {USERS}")
    result = run(args.size, args.queries, args.clients, args.calls)
    print_table([result["latency"]], list(result["latency"]))
    print()
    load = {k: v for k, v in result["load"].items() if k != "error_samples"}
    print_table([load], list(load))
    for sample in result["load"]["error_samples"]:
        print("error:", sample)
    print(f"wrote {write_json(result, args.out, 'api')}")


if __name__ == "__main__":
    main()
