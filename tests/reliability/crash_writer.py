"""A burst of writes for the crash test: `python -m tests.reliability.crash_writer DB SEED`.

Prints "TRY <op> <id> <text>" before each write and "ACK <op> <id> <text>" once it returned, so
the test knows what was acknowledged when it kills this process with SIGKILL.
"""

from __future__ import annotations

import random
import sys

from memory import Memory, MemoryConfig


def main() -> None:
    db, seed = sys.argv[1], int(sys.argv[2])
    rng = random.Random(seed)
    memory = Memory(MemoryConfig.from_dict({"vector_store": {"config": {"url": db}}}))
    alive = [item["id"] for item in memory.get_all(user_id="crash", limit=16_384)["results"]]
    print("READY", flush=True)
    n = 0
    while True:
        n += 1
        roll = rng.random()
        if alive and roll < 0.3:
            memory_id = rng.choice(alive)
            text = f"round {seed} write {n}: updated"
            print(f"TRY UPDATE {memory_id} {text}", flush=True)
            memory.update(memory_id, text)
            print(f"ACK UPDATE {memory_id} {text}", flush=True)
        elif alive and roll < 0.4:
            memory_id = alive.pop(rng.randrange(len(alive)))
            print(f"TRY DELETE {memory_id} -", flush=True)
            memory.delete(memory_id)
            print(f"ACK DELETE {memory_id} -", flush=True)
        else:
            text = f"round {seed} write {n}: added"
            print(f"TRY ADD ? {text}", flush=True)
            memory_id = memory.add(text, user_id="crash", infer=False)["results"][0]["id"]
            alive.append(memory_id)
            print(f"ACK ADD {memory_id} {text}", flush=True)


if __name__ == "__main__":
    main()
