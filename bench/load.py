"""Many users chatting at once through nginx, on 1 or 2 app processes, PostgreSQL and a Milvus server.

Everything runs on 127.0.0.1 as `make test`'s scale-out tests run it (tests/servers.py): PostgreSQL
15, milvus-lite 3.2.2's gRPC server (`make milvus-server`), `python -m chatapp.cluster`, and the
model stub with a fixed delay before its first token. Each simulated user is a socket.io client
(tests/chat_client.py) that logs in, then says T facts one after another ("I own a boat named
…"), each after the previous reply. Reported per (processes, users):
- time to first token, p50 and p95, from sending the message to the reply's first token;
- where it goes, from the stub's arrival times: until the recall's embedding request (socket.io,
  nginx, Chainlit's handling and thread writes), from there to the reply's chat request (the
  embedding, the Milvus search, the prompt), the model's own delay, and the relay after it;
- the "Memory updated" delay: from sending the message to its memory notice;
- errors (no reply, error messages, failed logins) and memories lost: facts stated whose memory
  is missing from `get_all` once every extraction has finished.

    python -m bench.load --users 10,50,200 --processes 1,2 --turns 2 --delay 1.0 [--think 20]

Without --think every user sends at the same instant and the next message as soon as the reply
ends (a burst); with it, each waits 0 to THINK s before each message, as people do.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import percentile, print_table, write_json
from bench.harness.chat_client import ChatClient, Turn
from bench.harness.servers import MilvusServer, app_cluster, milvus_server, postgres
from bench.harness.stub_openai import StubOpenAI
from memory import Memory, MemoryConfig

FACT = "I own a boat named {name}."
MEMORY = "Owns a boat named {name}"
# Distinct words: names differing only in a digit read as the same boat to the heuristic extractor.
NAMES = ("Aurora", "Breeze", "Comet", "Dolphin", "Ember", "Falcon", "Glacier", "Harbor")


def _name(user: int, turn: int) -> str:
    return f"{NAMES[turn % len(NAMES)]}{user}"


async def _user(url: str, user: int, turns: int, start: asyncio.Event, notice_wait: float, think: float) -> list[Turn]:
    """One user's turns, each after the previous reply; a turn's notice_s runs from its message to
    the first memory notice that names its fact (a notice may arrive during a later turn)."""
    client = ChatClient(url, f"load-{user:03d}")
    done: list[Turn] = []
    try:
        await client.login()
        await client.connect()
        await start.wait()
        pause = random.Random(user)
        for t in range(turns):
            if think:  # a person reads and types: 0 to `think` s before each message
                await asyncio.sleep(pause.uniform(0, think))
            done.append(await client.say(FACT.format(name=_name(user, t)), timeout=300))
        deadline = time.monotonic() + notice_wait
        while len(client.notices) < turns and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
    except Exception as exc:  # a failed login or connection is an error of this user's turns
        failed = Turn(text="(connect)")
        failed.errors.append(f"{type(exc).__name__}: {exc}")
        done.append(failed)
    finally:
        with contextlib.suppress(Exception):
            await client.close()
    for t, turn in enumerate(done[:turns]):
        arrived = [at for at, props in client.notices if _name(user, t) in str(props)]
        turn.notice_s = arrived[0] - turn.sent_at if arrived and turn.sent_at is not None else None
    return done


async def _drive(url: str, users: int, turns: int, think: float = 0.0) -> tuple[list[list[Turn]], float]:
    start = asyncio.Event()
    tasks = [asyncio.create_task(_user(url, u, turns, start, 60, think)) for u in range(users)]
    await asyncio.sleep(min(30.0, 2.0 + users * 0.1))  # every client logged in and connected
    began = time.perf_counter()
    start.set()
    results = await asyncio.gather(*tasks)
    return results, time.perf_counter() - began


def _lost(config: dict[str, Any], users: int, turns: int, wait_s: float = 180) -> tuple[int, int]:
    """(lost, stored): facts whose memory is missing once the extractions settle, and memories found."""
    expected = {u: {MEMORY.format(name=_name(u, t)) for t in range(turns)} for u in range(users)}
    with Memory(MemoryConfig.from_dict(config)) as memory:
        deadline = time.monotonic() + wait_s
        while True:
            found = {u: {i["memory"] for i in memory.get_all(user_id=f"load-{u:03d}")["results"]} for u in range(users)}
            missing = sum(len(expected[u] - found[u]) for u in range(users))
            if missing == 0 or time.monotonic() > deadline:
                return missing, sum(len(f) for f in found.values())
            time.sleep(2)


def _cpu_seconds() -> dict[str, float]:
    """CPU time used so far by each part of the topology (from /proc), and by this process."""
    ticks = os.sysconf("SC_CLK_TCK")
    parts = {
        "app processes": "chainlit run",
        "milvus server": "milvus-lite server",
        "postgres": "postgres",
        "nginx": "nginx",
    }
    found: dict[str, float] = dict.fromkeys(parts, 0.0)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        for part, marker in parts.items():
            if marker in cmdline:
                found[part] += (int(fields[11]) + int(fields[12])) / ticks
                break
    own = os.times()
    found["bench (clients, stub)"] = own.user + own.system
    return found


def run_case(
    folder: Path,
    pg_url: str,
    milvus: MilvusServer,
    processes: int,
    users: int,
    turns: int,
    delay: float,
    think: float = 0.0,
) -> dict[str, Any]:
    stub = StubOpenAI().start()
    stub.first_token_delay = delay
    collection = f"load_p{processes}_u{users}"
    try:
        with app_cluster(folder, pg_url, milvus, stub, processes, collection=collection) as cluster:
            cpu_before = _cpu_seconds()
            results, wall = asyncio.run(_drive(cluster.url, users, turns, think))
            cpu = {part: used - cpu_before[part] for part, used in _cpu_seconds().items()}
            lost, stored = _lost(cluster.memory_config, users, turns)
            arrivals = {
                str(r.body["messages"][-1]["content"]): r.at
                for r in stub.chat_requests()
                if r.body.get("stream") and r.body.get("messages")
            }
            recall_embeds: dict[str, float] = {}
            for r in stub.embedding_requests():
                inputs = r.body.get("input")
                for text in [inputs] if isinstance(inputs, str) else inputs or []:
                    recall_embeds.setdefault(str(text), r.at)
    finally:
        stub.stop()
    turns_done = [t for per_user in results for t in per_user]
    errors = [e for t in turns_done for e in t.errors]
    ttft = [t.first_token_s for t in turns_done if t.first_token_s is not None]
    notices = [t.notice_s for t in turns_done if t.notice_s is not None]
    before_model = [arrivals[t.text] - t.sent_at for t in turns_done if t.text in arrivals and t.sent_at is not None]
    to_recall = [recall_embeds[t.text] - t.sent_at for t in turns_done if t.text in recall_embeds and t.sent_at]
    recall_to_model = [
        arrivals[t.text] - recall_embeds[t.text] for t in turns_done if t.text in arrivals and t.text in recall_embeds
    ]
    row = {
        "processes": processes,
        "users": users,
        "turns": len(turns_done),
        "ttft_p50_s": percentile(ttft, 50),
        "ttft_p95_s": percentile(ttft, 95),
        "before_model_p50_s": percentile(before_model, 50),
        "before_model_p95_s": percentile(before_model, 95),
        "to_recall_p50_s": percentile(to_recall, 50),
        "recall_to_model_p50_s": percentile(recall_to_model, 50),
        "model_delay_s": delay,
        "notice_p50_s": percentile(notices, 50),
        "notice_p95_s": percentile(notices, 95),
        "notices": len(notices),
        "errors": len(errors),
        "lost_memories": lost,
        "memories_stored": stored,
        "wall_s": wall,
        "turns_per_s": len(turns_done) / wall if wall else 0.0,
    }
    row["ttft_p95_within_2x_model"] = bool(ttft) and row["ttft_p95_s"] < 2 * delay
    row["cpu_s"] = {part: round(used, 1) for part, used in cpu.items()}
    row["first_errors"] = errors[:5]
    return row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", default="10,50,200", help="comma-separated user counts")
    parser.add_argument("--processes", default="1,2", help="comma-separated app process counts (1 or 2)")
    parser.add_argument("--turns", type=int, default=2, help="messages per user")
    parser.add_argument("--delay", type=float, default=1.0, help="the stub model's delay before its first token (s)")
    parser.add_argument("--think", type=float, default=0.0, help="each user waits 0 to THINK s before each message")
    parser.add_argument("--out", help="JSON file (default bench/results/load.json)")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        folder = Path(tmp)
        folder.chmod(0o755)
        with postgres(folder / "pg") as pg, milvus_server(folder / "milvus") as milvus:
            for processes in [int(p) for p in args.processes.split(",")]:
                for users in [int(u) for u in args.users.split(",")]:
                    case = folder / f"p{processes}-u{users}"
                    case.mkdir()
                    database = pg.create_database(f"load_p{processes}_u{users}")
                    row = run_case(case, database, milvus, processes, users, args.turns, args.delay, args.think)
                    rows.append(row)
                    print_table([row], [c for c in row if c not in ("first_errors", "cpu_s")])
                    print("  CPU seconds during the run:", row["cpu_s"])
                    if row["first_errors"]:
                        print("  first errors:", row["first_errors"])
    print()
    print_table(rows, [c for c in rows[0] if c not in ("first_errors", "cpu_s")])
    settings = {"turns_per_user": args.turns, "model_delay_s": args.delay, "think_s": args.think}
    path = write_json({**settings, "rows": rows}, args.out, "load")
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
