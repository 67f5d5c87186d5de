"""GOAWAY "too_many_pings" from milvus-lite: pymilvus's gRPC keepalive against the store's.

    python -m bench.lite_keepalive [--minutes 14] [--every 60] [--out PATH]

Two idle clients, each in its own process with its own milvus-lite file, write one row every
`--every` seconds for `--minutes`; one uses pymilvus's channel options (a ping every 10 s, even
without calls), the other `memory.store.GRPC_OPTIONS`. Counts the GOAWAY lines gRPC logs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import print_table, write_json

ROOT = Path(__file__).resolve().parent.parent

CLIENT = """
import sys, tempfile, time
from pymilvus import MilvusClient
from memory.store import GRPC_OPTIONS
options = GRPC_OPTIONS if sys.argv[1] == "store" else {}
client = MilvusClient(uri=tempfile.mkdtemp() + "/keepalive.db", grpc_options=options)
client.create_collection("t", dimension=4)
every = float(sys.argv[3])
for i in range(int(float(sys.argv[2]) * 60 / every)):
    time.sleep(every)
    client.insert("t", [{"id": i, "vector": [0.1, 0.2, 0.3, 0.4]}])
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=14)
    parser.add_argument("--every", type=float, default=60, help="seconds between two writes")
    parser.add_argument("--out")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as folder:
        logs = {name: Path(folder) / f"{name}.err" for name in ("pymilvus", "store")}
        runs = {}
        for name, log_path in logs.items():
            with log_path.open("w") as log_file:
                command = [sys.executable, "-c", CLIENT, name, str(args.minutes), str(args.every)]
                runs[name] = subprocess.Popen(command, stderr=log_file, cwd=folder, env=env)
        rows = []
        for name, process in runs.items():
            process.wait()
            log = logs[name].read_text(errors="replace")
            rows.append(
                {
                    "options": name,
                    "minutes": args.minutes,
                    "every_s": args.every,
                    "goaway_lines": sum("too_many_pings" in line for line in log.splitlines()),
                    "exit": process.returncode,
                }
            )
    print_table(rows, ["options", "minutes", "every_s", "goaway_lines", "exit"])
    print("wrote", write_json({"rows": rows}, args.out, "lite_keepalive"))


if __name__ == "__main__":
    main()
