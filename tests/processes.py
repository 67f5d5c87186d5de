"""Other Python processes for tests: a script run to completion, or a Milvus file held open."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_python(
    args: list[str], env: dict[str, str], cwd: Path = ROOT, stdin: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`python ARGS` with the project importable; fails the test, with its stderr, unless it exits 0."""
    done = subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env={**env, "PYTHONPATH": str(ROOT)},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


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
