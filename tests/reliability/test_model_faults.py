"""Faults at the model's HTTP boundary (the stub) and of Milvus itself, during `add` with the LLM extractor.

Each case ends with memory unchanged or correctly changed, and memory and history agreeing.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bench.harness.apprunner import free_port
from bench.harness.stub_openai import Fault, StubOpenAI
from memory import ExtractionError, Memory, ModelError
from tests.reliability.checks import assert_consistent

SEED = "Likes tennis"


def ops(*items: tuple[str, str | None, str | None]) -> dict[str, Any]:
    return {"operations": [{"event": e, "id": i, "text": t} for e, i, t in items]}


def _texts(m: Memory) -> list[str]:
    return sorted(i["memory"] for i in m.get_all(user_id="alice")["results"])


# (name, what the stub does, the error expected or None, alice's memories afterwards)
CASES: list[tuple[str, Callable[[StubOpenAI], None], type[Exception] | None, list[str]]] = [
    ("500 three times", lambda s: s.script(Fault(500), Fault(500), Fault(500)), ModelError, [SEED]),
    (
        "429 with retry-after, then an answer",
        lambda s: s.script(Fault(429, headers={"retry-after": "1"}), ops(("ADD", None, "Plays squash"))),
        None,
        ["Likes tennis", "Plays squash"],
    ),
    ("malformed JSON twice", lambda s: s.script("{not json", "still not json"), ExtractionError, [SEED]),
    (
        "malformed once, then valid",
        lambda s: s.script("{not json", ops(("ADD", None, "Plays squash"))),
        None,
        ["Likes tennis", "Plays squash"],
    ),
    (
        "unknown ids",
        lambda s: s.script(ops(("DELETE", "99", None), ("UPDATE", "7", "Plays squash"))),
        None,
        ["Likes tennis", "Plays squash"],
    ),
    ("empty texts", lambda s: s.script(ops(("ADD", None, ""), ("ADD", None, "  "), ("UPDATE", "0", ""))), None, [SEED]),
    (
        "a thousand operations",
        lambda s: s.script(ops(*[("ADD", None, f"fact number {n}") for n in range(1000)])),
        None,
        sorted([SEED, *[f"fact number {n}" for n in range(50)]]),
    ),
    (
        "a fact of 70,000 characters",
        lambda s: s.script(ops(("ADD", None, "x" * 70_000), ("ADD", None, "Plays squash"))),
        None,
        ["Likes tennis", "Plays squash"],
    ),
    (
        "an update and a delete of the same memory",
        lambda s: s.script(ops(("UPDATE", "0", "Likes squash"), ("DELETE", "0", None))),
        None,
        ["Likes squash"],
    ),
    (
        "the embedding of the new facts fails",
        lambda s: (
            s.script(ops(("ADD", None, "Plays squash"))),
            setattr(s, "embedding_fault_when", lambda texts: Fault(500) if "Plays squash" in texts else None),
        ),
        ModelError,
        [SEED],
    ),
]


@pytest.mark.parametrize(("name", "arrange", "error", "after"), CASES, ids=[c[0] for c in CASES])
def test_model_faults_leave_memory_unchanged_or_correctly_changed(
    make_memory: Callable[..., Memory],
    stub: StubOpenAI,
    tmp_path: Path,
    name: str,
    arrange: Callable[[StubOpenAI], None],
    error: type[Exception] | None,
    after: list[str],
) -> None:
    m = make_memory()
    m.add(SEED, user_id="alice", infer=False)
    arrange(stub)
    if error is None:
        m.add("I play squash now", user_id="alice")
    else:
        with pytest.raises(error):
            m.add("I play squash now", user_id="alice")
    assert _texts(m) == after
    assert_consistent(m, tmp_path / "milvus.history.sqlite")


def test_a_model_that_does_not_answer_in_time_is_a_model_error(
    make_memory: Callable[..., Memory], stub: StubOpenAI, tmp_path: Path
) -> None:
    m = make_memory({"llm": {"provider": "openai", "config": {"timeout": 0.5, "max_retries": 0}}})
    m.add(SEED, user_id="alice", infer=False)
    stub.script(Fault(200, body="{}", delay=3.0))
    started = time.monotonic()
    with pytest.raises(ModelError, match=r"chat request to .* failed: Request timed out"):
        m.add("I play squash now", user_id="alice")
    assert time.monotonic() - started < 3.0
    assert _texts(m) == [SEED]
    assert_consistent(m, tmp_path / "milvus.history.sqlite")


def test_a_model_server_that_is_not_there_is_a_model_error(make_memory: Callable[..., Memory], tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}/v1"
    m = make_memory({"llm": {"provider": "openai", "config": {"base_url": closed, "max_retries": 0}}})
    m.add(SEED, user_id="alice", infer=False)
    with pytest.raises(ModelError, match=r"chat request to http://127\.0\.0\.1:\d+/v1 failed: Connection error"):
        m.add("I play squash now", user_id="alice")
    assert _texts(m) == [SEED]
    assert_consistent(m, tmp_path / "milvus.history.sqlite")


def _milvus_lite_server(db: Path) -> int:
    """The pid of the milvus-lite server process serving `db` (a child of this process)."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if command and command[0].endswith(b"milvus") and str(db).encode() in command:
            return int(pid)
    raise AssertionError(f"no milvus-lite server for {db}")


@pytest.mark.own_milvus
def test_the_milvus_lite_server_dying_is_survived(
    make_memory: Callable[..., Memory], stub: StubOpenAI, tmp_path: Path
) -> None:
    """The server is a child process; if it dies, the store starts a new one on the same file."""
    m = make_memory()
    m.add(SEED, user_id="alice", infer=False)
    os.kill(_milvus_lite_server(tmp_path / "milvus.db"), signal.SIGKILL)
    assert _texts(m) == [SEED]

    def kill_then_answer(body: dict[str, Any]) -> dict[str, Any]:  # dies while the model is thinking
        os.kill(_milvus_lite_server(tmp_path / "milvus.db"), signal.SIGKILL)
        return ops(("ADD", None, "Plays squash"), ("UPDATE", "0", "Likes tennis a lot"))

    stub.json_reply = kill_then_answer
    result = m.add("I play squash now", user_id="alice")
    assert [r["event"] for r in result["results"]] == ["ADD", "UPDATE"]
    assert _texts(m) == ["Likes tennis a lot", "Plays squash"]
    assert_consistent(m, tmp_path / "milvus.history.sqlite")
