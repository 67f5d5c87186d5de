"""What the MCP server and the REST API cost over the library, and how they hold under concurrent
clients: the real app (its own process, uvicorn, milvus-lite) on the stub model, 10,000 memories.

1. Latency: each search query (limit 10) through `Memory.search` in this process (on a copy of the
   app's Milvus file), MCP `search_memory` (the `mcp` SDK's client, streamable HTTP) and REST
   `POST /api/v1/search` against the running app, in turn, one call at a time.
2. Load: N concurrent MCP clients of N users, each making CALLS calls, add_memories and
   search_memory in turn: errors, results of another user, and adds missing from the user's
   memories afterwards (read back through REST).

    python -m bench.api --size 10000 --queries 200 --clients 50 --calls 20
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
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


async def _latencies(
    memory: Memory, base: str, tokens: dict[str, str], queries: list[tuple[str, str]]
) -> dict[str, list[float]]:
    """Each query through the library, MCP and REST in turn, so the machine's other work falls on
    the three alike (the library on a copy of the app's Milvus file: a lite file opens in one process)."""
    times: dict[str, list[float]] = {"library": [], "mcp": [], "rest": []}
    users = sorted({u for u, _ in queries})
    async with (
        _sessions(base + "/memory/mcp", {u: tokens[u] for u in users}) as sessions,
        httpx.AsyncClient(base_url=base, timeout=60) as http,
    ):
        for n, (user, text) in enumerate([(users[0], "warm up"), *queries]):
            start = time.perf_counter()
            memory.search(text, user_id=user, limit=10)
            library = (time.perf_counter() - start) * 1000
            start = time.perf_counter()
            found = await call(sessions[user], "search_memory", query=text, limit=10)
            mcp = (time.perf_counter() - start) * 1000
            assert all(r["user_id"] == user for r in found["results"])
            start = time.perf_counter()
            answer = await http.post("/api/v1/search", json={"query": text, "limit": 10}, headers=_auth(tokens[user]))
            rest = (time.perf_counter() - start) * 1000
            answer.raise_for_status()
            if n:  # the first query warms every path
                times["library"].append(library)
                times["mcp"].append(mcp)
                times["rest"].append(rest)
    return times


def _sessions(url: str, tokens: dict[str, str]) -> Any:
    @asynccontextmanager
    async def opened() -> AsyncIterator[dict[str, Any]]:
        async with AsyncExitStack() as stack:
            yield {u: await stack.enter_async_context(mcp_session(url, t, "bench")) for u, t in tokens.items()}

    return opened()


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
        config = settings.memory_config(env)
        with Memory(config) as memory:
            _fill(memory, size)
        copy = Path(tmp) / "library" / "milvus.db"
        copy.parent.mkdir()
        shutil.copyfile(config.vector_store.uri, copy)
        library_config = settings.memory_config({**env, "MEMORY_MILVUS_URI": str(copy)})
        database = open_app_database(str(settings.database_file))
        tokens = {f"user-{n}": TokenStore(database).create(f"user-{n}", "bench")[1] for n in range(USERS)}
        database.close()
        app = start_app(data_dir, stub)
        try:
            with Memory(library_config) as library:
                times = asyncio.run(_latencies(library, app.url, tokens, _queries(queries)))
            load = asyncio.run(_load(app.url, tokens, clients, calls))
        finally:
            stop_app(app)
            stub.stop()
    latency: dict[str, Any] = {"size": size, "queries": queries}
    for path, values in times.items():
        latency[f"{path}_p50_ms"] = percentile(values, 50)
        latency[f"{path}_p95_ms"] = percentile(values, 95)
    for path in ("mcp", "rest"):
        latency[f"{path}_over_library_p50_ms"] = latency[f"{path}_p50_ms"] - latency["library_p50_ms"]
        latency[f"{path}_over_library_p95_ms"] = latency[f"{path}_p95_ms"] - latency["library_p95_ms"]
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
