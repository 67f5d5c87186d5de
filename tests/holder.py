"""Hold a milvus-lite file open in another process, as a second app or script would."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def milvus_file_held(db: Path) -> Iterator[None]:
    code = textwrap.dedent(f"""
        import sys
        from memory import Memory, MemoryConfig
        m = Memory(MemoryConfig.from_dict({{"vector_store": {{"config": {{"url": {str(db)!r}}}}}}}))
        print("ready", flush=True)
        sys.stdin.read()
    """)
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},  # the same models as the test, hence the same dimension
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready", "the holder did not open the file"
        yield
    finally:
        proc.communicate("", timeout=60)
