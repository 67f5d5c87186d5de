"""Crash: SIGKILL during a burst of writes; what was acknowledged is there with its history, no repair needed."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from memory import Memory, MemoryConfig
from tests.processes import ROOT
from tests.reliability.checks import assert_consistent, history_rows


def _open(db: Path) -> Memory:
    return Memory(MemoryConfig.from_dict({"vector_store": {"config": {"url": str(db)}}}))


def _burst_then_kill(db: Path, seed: int, acks_before_kill: int) -> tuple[dict[str, tuple[str, str]], list[str]]:
    """Run the writer until it acknowledged `acks_before_kill` writes, then SIGKILL it.

    Returns the last acknowledged (op, text) of each memory, and the write in flight (if any).
    """
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.crash_writer", str(db), str(seed)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None
    assert writer.stdout.readline().strip() == "READY", writer.stderr.read()[-3000:]  # type: ignore[union-attr]
    acknowledged: dict[str, tuple[str, str]] = {}
    in_flight: list[str] = []
    count = 0
    for line in writer.stdout:
        kind, op, memory_id, text = line.rstrip("\n").split(" ", 3)
        if kind == "TRY":
            in_flight = [op, memory_id, text]
            continue
        acknowledged[memory_id] = (op, text)
        in_flight = []
        count += 1
        if count == acks_before_kill:
            os.kill(writer.pid, signal.SIGKILL)
            break
    rest = writer.stdout.read()  # what it printed before the signal landed
    for line in rest.splitlines():
        kind, op, memory_id, text = line.split(" ", 3)
        if kind == "TRY":
            in_flight = [op, memory_id, text]
        else:
            acknowledged[memory_id] = (op, text)
            in_flight = []
    writer.wait()
    assert writer.returncode == -signal.SIGKILL
    return acknowledged, in_flight


@pytest.mark.slow
def test_sigkill_during_a_burst_of_writes_loses_nothing_acknowledged(tmp_path: Path) -> None:
    db = tmp_path / "milvus.db"
    acknowledged: dict[str, tuple[str, str]] = {}
    for seed, acks in enumerate((25, 60, 40, 90)):
        acked_now, in_flight = _burst_then_kill(db, seed, acks)
        acknowledged.update(acked_now)
        memory = _open(db)  # opens with no manual repair; a half-done write is settled here
        try:
            present = {m["id"]: m["memory"] for m in memory.get_all(user_id="crash", limit=16_384)["results"]}
            for memory_id, (op, text) in acknowledged.items():
                maybe = in_flight[1] == memory_id if in_flight else False
                if op == "DELETE":
                    assert memory_id not in present
                elif maybe and in_flight[0] == "DELETE":
                    assert present.get(memory_id, text) == text
                elif maybe:
                    assert present[memory_id] in (text, in_flight[2])
                else:
                    assert present[memory_id] == text, f"acknowledged {op} of {memory_id} lost"
                if memory_id in present:
                    assert memory.history(memory_id)[-1]["new_memory"] == present[memory_id]
            unknown = {text for memory_id, text in present.items() if memory_id not in acknowledged}
            assert unknown <= ({in_flight[2]} if in_flight and in_flight[0] == "ADD" else set())
            for memory_id, text in present.items():
                acknowledged.setdefault(memory_id, ("ADD", text))  # an in-flight add that made it
                acknowledged[memory_id] = (acknowledged[memory_id][0], text)
            assert_consistent(memory, tmp_path / "milvus.history.sqlite")
        finally:
            memory.close()


def test_the_states_a_crash_can_leave_are_settled_at_start(make_memory: Callable[..., Memory], tmp_path: Path) -> None:
    """Pending history rows as a crash leaves them: before the Milvus write, and after it."""
    m = make_memory()
    done = m.add("Plays chess", user_id="alice", infer=False)["results"][0]["id"]
    m.update(done, "Plays chess on Sundays")  # reached Milvus; the crash came before the row was confirmed
    m.close()
    history = tmp_path / "milvus.history.sqlite"
    with sqlite3.connect(history) as conn:
        conn.execute("UPDATE memory_history SET pending = 1 WHERE event = 'UPDATE'")
        conn.execute(  # an ADD whose Milvus write never happened
            "INSERT INTO memory_history (id, memory_id, user_id, old_memory, new_memory, event, created_at, pending)"
            " VALUES ('h-lost', '11111111-1111-4111-8111-111111111111', 'alice', NULL, 'Never stored', 'ADD',"
            " '2026-11-25T10:00:00+00:00', 1)"
        )
    reopened = make_memory()
    assert [h["event"] for h in reopened.history(done)] == ["ADD", "UPDATE"]
    assert reopened.get(done)["memory"] == "Plays chess on Sundays"  # type: ignore[index]
    assert not any(r["id"] == "h-lost" for r in history_rows(history))
    assert_consistent(reopened, history)
