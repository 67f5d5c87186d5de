"""Strong consistency on a real Milvus server: what Bounded misses, and what Strong costs.

The only Milvus server that installs here is PyPI's `milvus` 2.3.5 (an embedded standalone). It
listens on every interface, so it runs only inside a loopback-only network namespace (needs root
and `ip`), with this script's measuring half in the same namespace. It has no BM25, so it also
shows the store's vector-only fallback on a server older than 2.5.

    python -m bench.consistency [--rows 1000] [--reads 50] [--out bench/results/consistency.json]

Measured inside the namespace:
- read-after-write: insert one row, query it by id at once; misses out of `--reads`, with the
  collection's default (Bounded) and with Strong;
- the cost: query-by-id and vector-search latency (p50, p95) at `--rows` rows, Bounded vs Strong;
- the library: `Memory` on that server (vector-only collection, a warning), then `update` right
  after each `add`, which failed every time before reads asked for Strong.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.common import percentile, print_table, write_json

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv-milvus-2.3"
NAMESPACE = "memchat-bench"
DIMS = 64


def _inner(uri: str, rows: int, reads: int) -> dict[str, Any]:
    import numpy as np
    from pymilvus import DataType, MilvusClient

    rng = np.random.default_rng(7)
    client = MilvusClient(uri=uri)
    result: dict[str, Any] = {"server_version": client.get_server_version()}
    schema = MilvusClient.create_schema(auto_id=False)
    schema.add_field("id", DataType.VARCHAR, max_length=64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=DIMS)
    index = MilvusClient.prepare_index_params()
    index.add_index("vector", index_type="AUTOINDEX", metric_type="L2")
    if client.has_collection("consistency"):
        client.drop_collection("consistency")
    client.create_collection("consistency", schema=schema, index_params=index)  # pymilvus's default: Bounded

    def vec() -> list[float]:
        return [float(x) for x in rng.random(DIMS)]

    client.insert("consistency", [{"id": str(uuid.uuid4()), "vector": vec()} for _ in range(rows)])
    for level in ("Bounded", "Session", "Strong"):
        misses, query_ms = 0, []
        for _ in range(reads):
            row_id = str(uuid.uuid4())
            client.insert("consistency", [{"id": row_id, "vector": vec()}])
            started = time.perf_counter()
            found = client.query(
                "consistency", filter=f'id == "{row_id}"', output_fields=["id"], consistency_level=level
            )
            query_ms.append((time.perf_counter() - started) * 1000)
            misses += not found
        search_ms = []
        for _ in range(reads):
            started = time.perf_counter()
            client.search("consistency", data=[vec()], limit=5, consistency_level=level)
            search_ms.append((time.perf_counter() - started) * 1000)
        idle_query_ms = []
        for _ in range(reads):  # reads with no write just before them
            started = time.perf_counter()
            client.query("consistency", filter='id == "none"', output_fields=["id"], consistency_level=level)
            idle_query_ms.append((time.perf_counter() - started) * 1000)
        result[level] = {
            "read_after_write_misses": misses,
            "reads": reads,
            "query_after_insert_p50_ms": percentile(query_ms, 50),
            "query_after_insert_p95_ms": percentile(query_ms, 95),
            "query_p50_ms": percentile(idle_query_ms, 50),
            "search_p50_ms": percentile(search_ms, 50),
            "search_p95_ms": percentile(search_ms, 95),
        }
    client.drop_collection("consistency")
    client.close()
    result["library"] = _library(uri, reads)
    return result


def _library(uri: str, reads: int) -> dict[str, Any]:
    """The tutorial's add-then-update, on this server, through the store."""
    from memory import Memory, MemoryConfig

    warnings: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            warnings.append(record.getMessage())

    logging.getLogger("memory.store").addHandler(Keep(logging.WARNING))
    with tempfile.TemporaryDirectory() as tmp:
        config = {
            "vector_store": {"provider": "milvus", "config": {"url": uri, "collection_name": "library_check"}},
            "embedder": {"provider": "local"},
            "llm": {"provider": "local"},
            "history_db_path": str(Path(tmp) / "history.sqlite"),
        }
        failures = []
        with Memory(MemoryConfig.from_dict(config)) as m:
            keyword = m._store.keyword_search
            ids = [m.add(f"Plays chess, note {n}", user_id="bob", infer=False)["results"][0]["id"] for n in range(10)]
            after_adds = m.count(user_id="bob")
            m.update(ids[0], "Plays chess well, note 0")
            after_one_update = m.count(user_id="bob")
            for n in range(reads):
                added = m.add(f"Likes tennis, note {n}", user_id="alice", infer=False)["results"][0]
                try:
                    m.update(added["id"], f"Likes tennis a lot, note {n}")
                except Exception as exc:
                    failures.append(str(exc))
            count = m.count(user_id="alice")
            listed = len(m.get_all(user_id="alice", limit=1000)["results"])
            m.reset()
    return {
        "hybrid_search": keyword,
        "warnings": [w for w in warnings if "BM25" in w],
        "update_right_after_add_failures": len(failures),
        "count": count,
        "ten_adds_then_count": after_adds,
        "count_after_one_update": after_one_update,
        "get_all": listed,
    }


def _run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, check=check, timeout=300)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--reads", type=int, default=50)
    parser.add_argument("--out")
    parser.add_argument("--inner", help=argparse.SUPPRESS)  # the URI, when running inside the namespace
    args = parser.parse_args(argv)
    if args.inner:
        print(json.dumps(_inner(args.inner, args.rows, args.reads)))
        return
    if os.geteuid() != 0 or not shutil.which("ip"):
        sys.exit(
            "this benchmark needs root and `ip`: Milvus 2.3.5 binds every interface, so it runs in a network namespace"
        )
    if not (VENV / "bin" / "milvus-server").exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(VENV / "bin" / "pip"), "install", "--quiet", "milvus==2.3.5"], check=True)
    _run("ip", "netns", "delete", NAMESPACE, check=False)
    _run("ip", "netns", "add", NAMESPACE)
    inside = ["ip", "netns", "exec", NAMESPACE]
    data = Path(tempfile.mkdtemp(prefix="milvus-2.3-"))
    server = None
    try:
        _run(*inside, "ip", "link", "set", "lo", "up")
        server = subprocess.Popen(
            [*inside, str(VENV / "bin" / "milvus-server"), "--data", str(data)],
            stdout=(data / "server.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started = time.monotonic()
        while _run(*inside, "curl", "-s", "-m", "1", "http://127.0.0.1:9091/healthz", check=False).stdout != "OK":
            if time.monotonic() - started > 180 or server.poll() is not None:
                raise RuntimeError(f"Milvus 2.3.5 did not start: {(data / 'server.log').read_text()[-2000:]}")
            time.sleep(1)
        print(f"Milvus 2.3.5 healthy after {time.monotonic() - started:.1f} s (in netns {NAMESPACE})", flush=True)
        command = [*inside, sys.executable, "-m", "bench.consistency", "--inner", "http://127.0.0.1:19530"]
        command += ["--rows", str(args.rows), "--reads", str(args.reads)]
        done = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=1800, env={**os.environ, "PYTHONPATH": str(ROOT)}
        )
        if done.returncode != 0:
            raise RuntimeError(done.stderr[-3000:])
        result = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        if server is not None:  # the wrapper leaves its milvus child running on SIGTERM: stop the group
            with_group = os.getpgid(server.pid) if server.poll() is None else None
            if with_group:
                os.killpg(with_group, signal.SIGINT)
                time.sleep(3)
                with_group_alive = _run("pgrep", "-g", str(with_group), check=False).stdout.strip()
                if with_group_alive:
                    os.killpg(with_group, signal.SIGKILL)
            server.wait(timeout=30)
        _run("ip", "netns", "delete", NAMESPACE, check=False)
        shutil.rmtree(data, ignore_errors=True)
    rows = [{"consistency": level, **result[level]} for level in ("Bounded", "Session", "Strong")]
    print_table(rows, list(rows[0]))
    print("library on", result["server_version"], json.dumps(result["library"]))
    path = write_json({"rows_in_collection": args.rows, **result}, args.out, "consistency")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
