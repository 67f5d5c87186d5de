"""One writer process of the cross-process tests: opens a Memory, waits for the start signal, writes.

python -m tests.scaleout.worker CONFIG_JSON GO_FILE updates IDS_JSON ROUNDS TAG
python -m tests.scaleout.worker CONFIG_JSON GO_FILE add USERS_JSON TEXT
Prints "ready" once the Memory is open, then one JSON line with what it did.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from memory import Memory, MemoryConfig


def main(argv: list[str]) -> None:
    config, go, mode, *rest = argv
    memory = Memory(MemoryConfig.from_dict(json.loads(config)))
    print("ready", flush=True)
    while not Path(go).exists():
        time.sleep(0.005)
    if mode == "updates":
        ids, rounds, tag = json.loads(rest[0]), int(rest[1]), rest[2]
        for n in range(rounds):
            for memory_id in ids:
                memory.update(memory_id, f"{memory_id[:8]} version {tag}-{n}")
        print(json.dumps({"updates": rounds * len(ids)}), flush=True)
    elif mode == "add":
        users, text = json.loads(rest[0]), rest[1]
        print(json.dumps({user: memory.add(text, user_id=user)["results"] for user in users}), flush=True)
    memory.close()


if __name__ == "__main__":
    main(sys.argv[1:])
